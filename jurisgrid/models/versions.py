"""The process's one LISTEN connection: the data version as this process last heard it
(``jg_data_version``), and the notifications other parts of the process asked for.

``data_version`` is bumped, and ``pg_notify('jg_data_version', version)`` sent, by statement
triggers on every table a "who is responsible" answer reads (migrations 0001 and 0006). One
daemon thread per engine listens on its own connection; the in-memory lookup asks
:meth:`VersionWatcher.current` instead of querying the database on every request.

When the watcher does not know — not connected yet, connection lost, or this process has just
committed a write through the engine and the notification has not come back yet — ``current()``
answers None and callers read ``data_version`` from the database: an answer is never older than
a commit made before the request by this process, and lags a commit made by another process by
the time a notification takes to arrive (well under a millisecond on one machine).

**One connection for every channel.** Live updates (live/listener.py: ``jurisdiction_changed``,
fanned out to GraphQL subscriptions) used to hold a second connection with a second thread and
its own reconnect loop. They now ask this watcher to :meth:`~VersionWatcher.listen` to their
channel too: one session per process in ``pg_stat_activity`` (``application_name``
:data:`APPLICATION_NAME`), one reconnect loop, and every channel is listened to again after a
reconnect (notifications sent while disconnected are lost; subscribers re-read on a revision
gap).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import select
import threading
import weakref
from collections.abc import Callable
from typing import Any

import psycopg2
from sqlalchemy import Engine, event

from jurisgrid.db import companion

CHANNEL = "jg_data_version"
APPLICATION_NAME = "jurisgrid-listen"   # how the session shows in pg_stat_activity
IDLE_CHECK_S = 30.0                     # an idle connection is checked with SELECT 1 this often
log = logging.getLogger(__name__)

Handler = Callable[[str], None]   # called on the watcher's thread with a notification's payload
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class VersionWatcher:
    def __init__(self, engine: Engine) -> None:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        # named, so the one LISTEN session of a process is easy to find (an operator's own
        # application_name is kept, with the suffix)
        own = kwargs.get("application_name")
        name = f"{own}:listen" if own else APPLICATION_NAME
        self._connect_args = (args, {**kwargs, "application_name": name})
        self._version: int | None = None
        self._dirty = 0          # commits by this process not yet confirmed by a notification
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._handlers: dict[str, list[Handler]] = {}   # channel -> handlers (not CHANNEL)
        self._listened: set[str] = set()                # channels LISTENed on this connection
        self._listening = threading.Condition(self._lock)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._thread = threading.Thread(target=self._run, name="jg-version-watcher", daemon=True)
        event.listen(engine, "commit", self._on_local_commit)
        self._engine_ref = weakref.ref(engine)
        self._thread.start()

    def current(self) -> int | None:
        """The latest version if known for sure, else None (then ask the database)."""
        with self._lock:
            return self._version if not self._dirty else None

    def confirm(self, version: int) -> None:
        """A version read from the database after this process's commits."""
        with self._lock:
            if self._version is None or version >= self._version:
                self._version = version
            self._dirty = 0

    # --- other channels on the same connection ----------------------------------------
    def listen(self, channel: str, handler: Handler) -> None:
        """Call ``handler(payload)`` (on the watcher's thread) for every notification on
        ``channel`` from now on; the LISTEN is issued at once if connected, and again after
        every reconnect. :meth:`is_listening` tells when it is active."""
        if not _IDENTIFIER.fullmatch(channel) or channel == CHANNEL:
            raise ValueError(f"not a channel one may listen to: {channel!r}")
        with self._lock:
            self._handlers.setdefault(channel, []).append(handler)
        os.write(self._wake_w, b"l")

    def unlisten(self, channel: str, handler: Handler) -> None:
        """Stop calling ``handler`` (the channel stays listened to: cheap, and others may use it)."""
        with self._lock:
            handlers = self._handlers.get(channel, [])
            if handler in handlers:
                handlers.remove(handler)

    def is_listening(self, channel: str) -> bool:
        with self._lock:
            return channel in self._listened

    def wait_listening(self, channel: str, timeout_s: float) -> bool:
        """Block until ``channel`` is listened to (True) or ``timeout_s`` passed (False)."""
        with self._listening:
            return self._listening.wait_for(lambda: channel in self._listened, timeout_s)

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"s")
        engine = self._engine_ref()
        if engine is not None and event.contains(engine, "commit", self._on_local_commit):
            event.remove(engine, "commit", self._on_local_commit)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            for fd in (self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)

    # --- the thread -----------------------------------------------------------------------
    def _on_local_commit(self, _conn: Any) -> None:
        with self._lock:
            self._dirty += 1

    def _run(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                self._listen()
                backoff = 0.2
            except psycopg2.Error as exc:
                log.debug("version watcher: %s; retrying in %.1f s", exc, backoff)
            with self._lock:
                self._version = None
                self._listened.clear()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def _connect(self) -> Any:
        """The watcher's own autocommit connection (outside the engine's pool)."""
        args, kwargs = self._connect_args
        conn = psycopg2.connect(*args, **kwargs)
        conn.autocommit = True
        return conn

    def raise_to(self, version: int) -> None:
        """A version heard or read: never move backwards."""
        with self._lock:
            if self._version is None or version > self._version:
                self._version = version

    def _listen(self) -> None:
        conn = self._connect()
        try:
            cur = conn.cursor()
            cur.execute(f"LISTEN {CHANNEL}")
            cur.execute("SELECT version FROM data_version")   # after LISTEN: nothing missed
            row = cur.fetchone()
            with self._lock:
                self._version = int(row[0]) if row else None
            self._listen_to_new_channels(cur)
            while not self._stop.is_set():
                ready = select.select([conn, self._wake_r], [], [], IDLE_CHECK_S)[0]
                if self._wake_r in ready:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 64)
                    self._listen_to_new_channels(cur)
                if not ready:                     # idle: make sure the connection still lives
                    cur.execute("SELECT 1")
                conn.poll()
                if conn.notifies:
                    notes = list(conn.notifies)
                    conn.notifies.clear()
                    self._deliver(notes)
        finally:
            conn.close()

    def _listen_to_new_channels(self, cur: Any) -> None:
        with self._lock:
            wanted = [c for c in self._handlers if c not in self._listened]
        for channel in wanted:   # identifiers checked in listen()
            cur.execute(f"LISTEN {channel}")
        if wanted:
            with self._listening:
                self._listened.update(wanted)
                self._listening.notify_all()

    def _deliver(self, notes: list[Any]) -> None:
        latest = max((int(n.payload) for n in notes
                      if n.channel == CHANNEL and n.payload.isdigit()), default=None)
        if latest is not None:
            self.raise_to(latest)
        for note in notes:
            if note.channel == CHANNEL:
                continue
            with self._lock:
                handlers = list(self._handlers.get(note.channel, ()))
            for handler in handlers:
                try:
                    handler(note.payload)
                except Exception:   # one handler's bug must not stop the process's LISTEN
                    log.exception("handler of %s failed", note.channel)


def watcher(engine: Engine) -> VersionWatcher:
    """The engine's watcher, started on first use and stopped by ``db.dispose``."""
    return companion(engine, "version-watcher", lambda: VersionWatcher(engine), VersionWatcher.stop)
