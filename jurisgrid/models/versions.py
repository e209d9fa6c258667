"""The data version as this process last heard it: LISTEN on ``jg_data_version``.

``data_version`` is bumped, and ``pg_notify('jg_data_version', version)`` sent, by statement
triggers on every table a "who is responsible" answer reads (migrations 0001 and 0006). One
daemon thread per engine listens on its own connection; the in-memory lookup asks
:meth:`VersionWatcher.current` instead of querying the database on every request.

When the watcher does not know — not connected yet, connection lost, or this process has just
committed a write through the engine and the notification has not come back yet — ``current()``
answers None and callers read ``data_version`` from the database: an answer is never older than
a commit made before the request by this process, and lags a commit made by another process by
the time a notification takes to arrive (well under a millisecond on one machine).
"""

from __future__ import annotations

import logging
import select
import threading
import weakref
from typing import Any

import psycopg2
from sqlalchemy import Engine, event

from jurisgrid.db import companion

CHANNEL = "jg_data_version"
log = logging.getLogger(__name__)


class VersionWatcher:
    def __init__(self, engine: Engine) -> None:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        self._connect_args = (args, kwargs)
        self._version: int | None = None
        self._dirty = 0          # commits by this process not yet confirmed by a notification
        self._lock = threading.Lock()
        self._stop = threading.Event()
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

    def stop(self) -> None:
        self._stop.set()
        engine = self._engine_ref()
        if engine is not None and event.contains(engine, "commit", self._on_local_commit):
            event.remove(engine, "commit", self._on_local_commit)
        self._thread.join(timeout=5)

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
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def _listen(self) -> None:
        args, kwargs = self._connect_args
        conn = psycopg2.connect(*args, **kwargs)
        try:
            conn.autocommit = True
            cur = conn.cursor()
            cur.execute(f"LISTEN {CHANNEL}")
            cur.execute("SELECT version FROM data_version")   # after LISTEN: nothing missed
            row = cur.fetchone()
            with self._lock:
                self._version = int(row[0]) if row else None
            while not self._stop.is_set():
                if select.select([conn], [], [], 1.0)[0]:
                    conn.poll()
                    latest = max((int(n.payload) for n in conn.notifies if n.payload.isdigit()),
                                 default=None)
                    conn.notifies.clear()
                    if latest is not None:
                        with self._lock:
                            if self._version is None or latest > self._version:
                                self._version = latest
        finally:
            conn.close()


def watcher(engine: Engine) -> VersionWatcher:
    """The engine's watcher, started on first use and stopped by ``db.dispose``."""
    return companion(engine, "version-watcher", lambda: VersionWatcher(engine), VersionWatcher.stop)
