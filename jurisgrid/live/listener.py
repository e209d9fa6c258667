"""``LISTEN jurisdiction_changed``: one connection per process, fanned out to subscribers.

Committed edits send ``NOTIFY jurisdiction_changed, '<json>'`` (editing/revisions.py
``close_revision``) with ``{"revision": id, "codes": {"grid": [...], "zone": [...],
"station": [...]}, "bbox": [minx, miny, maxx, maxy]}``. PostgreSQL delivers a notification only
after its transaction commits, and not at all after a rollback.

A daemon thread owns a dedicated psycopg2 connection (outside the engine's pool, autocommit)
and waits in ``select()`` on it and on a wake-up pipe; each notification is parsed once and
handed to every subscriber's event loop with ``call_soon_threadsafe``. A thread rather than
``loop.add_reader`` because subscribers may live on different event loops (test clients,
several servers in one process). The thread starts with the first subscriber, reconnects after
a lost connection (events sent while disconnected are lost: clients re-read on a revision gap),
and stops on :func:`stop_all` (the app's lifespan) or :meth:`ChangeListener.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import select
import threading
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from jurisgrid.db import unavailable
from jurisgrid.errors import JurisgridError

log = logging.getLogger("jurisgrid.live")

CHANNEL = "jurisdiction_changed"
QUEUE_SIZE = 1_000          # events a slow subscriber may fall behind before it is dropped
RECONNECT_S = 1.0


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
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self.notifications = 0   # received since start, for tests and diagnostics

    # --- subscriber side (event loop) --------------------------------------------------
    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    @contextlib.asynccontextmanager
    async def subscribe(self, *, ready_timeout_s: float = 10.0
                        ) -> AsyncIterator[AsyncIterator[JurisdictionChange]]:
        """Register for changes; once entered, LISTEN is active, so a commit from now on is seen.
        Raises :class:`LiveUnavailable` when the database cannot be listened to in time."""
        sub = Subscriber(loop=asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(sub)
            self._ensure_thread()
        try:
            if not await asyncio.to_thread(self._listening.wait, ready_timeout_s):
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

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="jurisgrid-listen", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop listening and end every subscription (their iterators finish)."""
        self._stopping.set()
        with self._lock:
            subs = list(self._subscribers)
        for sub in subs:
            with contextlib.suppress(RuntimeError):
                sub.loop.call_soon_threadsafe(sub.push, _STOPPED)
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self._listening.clear()

    # --- listener side (thread) --------------------------------------------------------
    def _connect(self) -> Any:
        import psycopg2

        cargs, cparams = self._engine.dialect.create_connect_args(self._engine.url)
        conn = psycopg2.connect(*cargs, **cparams)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"LISTEN {CHANNEL}")
        return conn

    def _run(self) -> None:
        while not self._stopping.is_set():
            conn = None
            try:
                conn = self._connect()
                self._listening.set()
                self._pump(conn)
            except Exception as exc:
                if self._stopping.is_set():
                    break
                if unavailable(exc) is not None:  # expected while the database restarts: one line
                    if self._listening.is_set():
                        log.warning("LISTEN %s lost (%s); reconnecting every %.0f s", CHANNEL,
                                    type(exc).__name__, RECONNECT_S)
                else:
                    log.exception("LISTEN %s lost; reconnecting in %.0f s", CHANNEL, RECONNECT_S)
                self._listening.clear()
                select.select([self._wake_r], [], [], RECONNECT_S)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
        self._listening.clear()

    def _pump(self, conn: Any) -> None:
        while not self._stopping.is_set():
            ready, _, _ = select.select([conn, self._wake_r], [], [], 60.0)
            if self._wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 64)
            if not ready:                        # idle: make sure the connection still lives
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
            conn.poll()
            while conn.notifies:
                self._dispatch(conn.notifies.pop(0).payload)

    def _dispatch(self, payload: str) -> None:
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
