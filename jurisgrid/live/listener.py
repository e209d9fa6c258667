"""``LISTEN jurisdiction_changed``: one connection per process, fanned out to subscribers.

Committed edits send ``NOTIFY jurisdiction_changed, '<json>'`` (editing/revisions.py
``close_revision``) with ``{"revision": id, "codes": {"grid": [...], "zone": [...],
"station": [...]}, "bbox": [minx, miny, maxx, maxy]}``. PostgreSQL delivers a notification only
after its transaction commits, and not at all after a rollback.

The process has one LISTEN connection, the data-version watcher's (models/versions.py): with
the first subscriber the listener asks it to listen to this channel too. On the watcher's
thread each notification is parsed once and handed to every subscriber's event loop with
``call_soon_threadsafe`` (subscribers may live on different event loops: test clients, several
servers in one process). The watcher reconnects after a lost connection and listens again
(events sent while disconnected are lost: clients re-read on a revision gap).
:func:`stop_all` (the app's lifespan) or :meth:`ChangeListener.stop` end the subscriptions; the
connection itself closes with the engine (``db.dispose``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from jurisgrid.errors import JurisgridError
from jurisgrid.models.versions import VersionWatcher, watcher

log = logging.getLogger("jurisgrid.live")

CHANNEL = "jurisdiction_changed"
QUEUE_SIZE = 1_000          # events a slow subscriber may fall behind before it is dropped


@dataclass(frozen=True)
class JurisdictionChange:
    revision: int | None
    codes: dict[str, tuple[str, ...]]           # unit kind ("grid", "zone", …) -> codes
    bbox: tuple[float, float, float, float] | None

    def touches_bbox(self, bbox: tuple[float, float, float, float]) -> bool:
        """True when the change's box meets ``bbox`` (or the change has no box: unknown area)."""
        if self.bbox is None:
            return True
        return not (self.bbox[2] < bbox[0] or self.bbox[0] > bbox[2]
                    or self.bbox[3] < bbox[1] or self.bbox[1] > bbox[3])


def parse_payload(payload: str) -> JurisdictionChange:
    """The contract's JSON; missing parts are tolerated (a huge change may omit its codes)."""
    data = json.loads(payload)
    if not isinstance(data, dict):
        raise ValueError("payload is not a JSON object")
    rev = data.get("revision")
    codes_in = data.get("codes") or {}
    if not isinstance(codes_in, dict):
        raise ValueError("codes is not an object")
    codes = {str(k): tuple(str(c) for c in v) for k, v in codes_in.items() if isinstance(v, list)}
    box = data.get("bbox")
    bbox = None
    if isinstance(box, list) and len(box) == 4 and all(isinstance(v, int | float) for v in box):
        bbox = (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
    return JurisdictionChange(revision=int(rev) if isinstance(rev, int) else None, codes=codes, bbox=bbox)


_CLOSED = object()    # the subscriber fell too far behind
_STOPPED = object()   # the listener stopped (server shutdown): subscriptions end


@dataclass(eq=False)
class Subscriber:
    loop: asyncio.AbstractEventLoop
    # one slot more than QUEUE_SIZE: room for the end marker when the subscriber falls behind
    queue: asyncio.Queue[Any] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE + 1))
    ended: bool = False

    def push(self, item: Any) -> None:  # runs on the subscriber's loop
        if self.ended:
            return
        if item is _STOPPED or self.queue.qsize() >= QUEUE_SIZE:
            self.ended = True
            self.queue.put_nowait(_STOPPED if item is _STOPPED else _CLOSED)
            return
        self.queue.put_nowait(item)


class SubscriberTooSlow(JurisgridError):
    code = "TOO_SLOW"
    http_status = 429


class LiveUnavailable(JurisgridError):
    code = "UNAVAILABLE"
    http_status = 503


class ChangeListener:
    """The per-process listener of one database (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._watcher: VersionWatcher | None = None   # set while attached (between first use and stop)
        self.notifications = 0   # received since start, for tests and diagnostics

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    @property
    def listening(self) -> bool:
        w = self._watcher
        return w is not None and w.is_listening(CHANNEL)

    @contextlib.asynccontextmanager
    async def subscribe(self, *, ready_timeout_s: float = 10.0
                        ) -> AsyncIterator[AsyncIterator[JurisdictionChange]]:
        """Register for changes; once entered, LISTEN is active, so a commit from now on is seen.
        Raises :class:`LiveUnavailable` when the database cannot be listened to in time."""
        sub = Subscriber(loop=asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(sub)
            w = self._attach()
        try:
            if not await asyncio.to_thread(w.wait_listening, CHANNEL, ready_timeout_s):
                raise LiveUnavailable(f"cannot LISTEN {CHANNEL} on the database; try again later")
            yield self._iterate(sub)
        finally:
            with self._lock:
                self._subscribers.discard(sub)

    async def _iterate(self, sub: Subscriber) -> AsyncIterator[JurisdictionChange]:
        while True:
            item = await sub.queue.get()
            if item is _STOPPED:
                return
            if item is _CLOSED:
                raise SubscriberTooSlow(f"more than {QUEUE_SIZE} changes behind: subscribe again")
            yield item

    def _attach(self) -> VersionWatcher:   # under self._lock
        if self._watcher is None:
            self._watcher = watcher(self._engine)
            self._watcher.listen(CHANNEL, self._dispatch)
        return self._watcher

    def stop(self, timeout_s: float = 5.0) -> None:
        """End every subscription (their iterators finish) and stop hearing the channel; a
        later subscription attaches again. (``timeout_s``: kept for callers; nothing to join.)"""
        with self._lock:
            subs = list(self._subscribers)
            w, self._watcher = self._watcher, None
        if w is not None:
            w.unlisten(CHANNEL, self._dispatch)
        for sub in subs:
            with contextlib.suppress(RuntimeError):
                sub.loop.call_soon_threadsafe(sub.push, _STOPPED)

    def _dispatch(self, payload: str) -> None:   # on the watcher's thread
        self.notifications += 1
        try:
            change = parse_payload(payload)
        except (ValueError, TypeError) as exc:
            log.warning("ignoring a malformed %s payload (%s): %.200s", CHANNEL, exc, payload)
            return
        with self._lock:
            subs = list(self._subscribers)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub.push, change)
            except RuntimeError:                 # its event loop is closed
                with self._lock:
                    self._subscribers.discard(sub)


_listeners: weakref.WeakKeyDictionary[Engine, ChangeListener] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def listener_for(engine: Engine) -> ChangeListener:
    """The process's listener for this database (created on first use, started lazily)."""
    with _registry_lock:
        lst = _listeners.get(engine)
        if lst is None:
            lst = _listeners[engine] = ChangeListener(engine)
        return lst


def stop_all() -> None:
    """Stop every listener of this process (the app's lifespan calls it on shutdown)."""
    with _registry_lock:
        listeners = list(_listeners.values())
    for lst in listeners:
        lst.stop()
