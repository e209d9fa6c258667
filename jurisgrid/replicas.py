"""Read replicas: which database answers a request (issue 17; docs/design.md, Scale).

PostgreSQL streams the primary's WAL to hot standbys (``jurisgrid db replica add`` makes local
ones; ``JURISGRID_REPLICA_URLS`` names them). Each server process keeps a :class:`ReadRouter`
beside its primary engine:

- **Rotation.** A checker thread asks every replica, every ``replica_check_interval_s``, whether
  it answers, is still in recovery (a promoted standby is no replica of ours) and how far its
  replay is behind the primary. A replica that is down, or further behind than
  ``replica_max_lag_s``, leaves the rotation; it comes back when a check finds it healthy.
  Reads round-robin over the rotation, and go to the primary when it is empty.
- **Fallback.** A read that finds its replica unreachable marks it down at once and is answered
  again by the primary (gql/routing.py for GraphQL, routes/replica_lane.py for REST), so a
  replica that stops costs no failed request.
- **Read-your-writes.** A mutation's answer carries the primary's WAL insert position after its
  commit (:func:`commit_lsn`: header ``X-Jurisgrid-LSN`` and ``extensions.lsn``). A request that
  sends it back (``X-Jurisgrid-After-LSN``) is answered by a replica only once that replica has
  replayed it (``pg_last_wal_replay_lsn()``), else by the primary.
- **Lookup index.** A standby cannot ``LISTEN``, so each replica engine gets a
  :class:`PollingWatcher` (its ``data_version`` read every ``replica_version_poll_s``) in place of
  the primary's LISTEN watcher: the in-memory lookup index of each process follows the data
  version of the database it reads from (models/responsible.py keeps one snapshot per engine).

Lag is measured in time, not bytes: the checker remembers when the primary reached each WAL
position it saw, and a replica's lag is the age of the oldest such position it has not replayed
(zero when it has replayed everything the primary had written at the last check). An idle
primary thus never makes a caught-up replica look stale.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import psycopg2
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from jurisgrid.config import DatabaseSettings
from jurisgrid.db import companion, dispose, make_engine, read_connection
from jurisgrid.localdb import parse_lsn
from jurisgrid.models.versions import VersionWatcher, watcher

log = logging.getLogger("jurisgrid.replicas")

AFTER_LSN_HEADER = "x-jurisgrid-after-lsn"   # sent back by a client that must see its write
LSN_HEADER = "X-Jurisgrid-LSN"               # a mutation's commit position
SERVED_BY_HEADER = "X-Jurisgrid-Served-By"   # primary | replica-<n>
SCOPE_KEY = "jurisgrid.read_engine"          # the engine chosen for a REST read (ASGI scope)
CONNECT_TIMEOUT_S = 2                        # an unreachable replica must not hold a request long

_ROUTER_KEY = "read-router"
_VERSION_SQL = "SELECT version FROM data_version"


def format_lsn(pos: int) -> str:
    return f"{pos >> 32:X}/{pos & 0xFFFFFFFF:X}"


def lsn_header(headers: Mapping[str, str]) -> int | None:
    """The ``X-Jurisgrid-After-LSN`` a client sent, as a byte position; None when absent or not an
    LSN (then the request is an ordinary read: a bad header must not fail it)."""
    raw = headers.get(AFTER_LSN_HEADER)
    if not raw:
        return None
    try:
        return parse_lsn(raw)
    except ValueError:
        return None


def scope_lsn(scope: Mapping[str, Any]) -> int | None:
    """:func:`lsn_header` from an ASGI scope's raw headers."""
    for name, value in scope.get("headers", ()):
        if name == b"x-jurisgrid-after-lsn":
            return lsn_header({AFTER_LSN_HEADER: value.decode("latin-1")})
    return None


class PollingWatcher(VersionWatcher):
    """:class:`~jurisgrid.models.versions.VersionWatcher` for a hot standby, which refuses
    ``LISTEN`` ("cannot execute LISTEN during recovery"): ``data_version`` is read every
    ``interval_s`` on a connection of its own. Reconnection and back-off are the base class's."""

    def __init__(self, engine: Engine, interval_s: float) -> None:
        self.interval_s = interval_s
        super().__init__(engine)

    def _listen(self) -> None:
        conn = self._connect()
        try:
            cur = conn.cursor()
            while not self._stop.is_set():
                cur.execute(_VERSION_SQL)
                row = cur.fetchone()
                if row is not None:
                    self.raise_to(int(row[0]))
                self._stop.wait(self.interval_s)
        finally:
            conn.close()


@dataclass(eq=False)
class Server:
    """One database a read can go to, as the router last saw it."""

    name: str                  # "primary" or "replica-<n>" (n: its place in replica_urls)
    engine: Engine
    healthy: bool = False
    replay_lsn: int = 0        # replicas: the WAL position replayed at the last look
    lag_s: float = 0.0
    reason: str = "not checked yet"
    checked_at: float = 0.0
    _conn: Any = field(default=None, repr=False)   # the checker's own connection

    @property
    def is_replica(self) -> bool:
        return self.name != "primary"


def replica_engine(url: str, s: DatabaseSettings) -> Engine:
    """An engine on a replica, made like the primary's, with a connect timeout (an unreachable
    host must fail fast) and a polling data-version watcher (see :class:`PollingWatcher`)."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg2")
    if "connect_timeout" not in u.query:
        u = u.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_S)})
    engine = make_engine(u.render_as_string(hide_password=False), pool_size=s.pool_size,
                         statement_timeout_ms=s.statement_timeout_ms)
    # the same companion key models/versions.watcher() uses: registered first, so the lookup
    # index of this engine follows the replica's own data version
    companion(engine, "version-watcher", lambda: PollingWatcher(engine, s.replica_version_poll_s),
              VersionWatcher.stop)
    return engine


class ReadRouter:
    """The primary and its replicas for one process; see the module docstring."""

    def __init__(self, primary: Engine, settings: DatabaseSettings, *, start: bool = True) -> None:
        self.settings = settings
        self.primary = Server("primary", primary, healthy=True, reason="")
        self.replicas = [Server(f"replica-{i}", replica_engine(u, settings))
                         for i, u in enumerate(settings.replicas, start=1)]
        self._rotation: tuple[Server, ...] = ()
        self._turn = itertools.count()
        self._lock = threading.Lock()
        # (monotonic time, primary WAL position) at each check: the lag clock
        self._history: deque[tuple[float, int]] = deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jg-replica-checker", daemon=True)
        if start:
            self._thread.start()

    # -- choosing ---------------------------------------------------------------------------
    @property
    def rotation(self) -> tuple[Server, ...]:
        return self._rotation

    def pick(self) -> Server:
        """The next replica in rotation, or the primary when none is."""
        rot = self._rotation
        if not rot:
            return self.primary
        return rot[next(self._turn) % len(rot)]

    def pick_after(self, lsn: int) -> Server:
        """A replica that has replayed ``lsn`` (asked when the last check does not say so), else
        the primary. Blocking: call it from a worker thread (:meth:`choose`)."""
        rot = self._rotation
        start = next(self._turn)
        order = [rot[(start + k) % len(rot)] for k in range(len(rot))]
        for s in order:
            if s.replay_lsn >= lsn:
                return s
        for s in order:
            try:
                with read_connection(s.engine) as conn:
                    replay, version = conn.exec_driver_sql(
                        f"SELECT pg_last_wal_replay_lsn()::text, ({_VERSION_SQL})").one()
            except Exception as exc:  # any failure: not this replica
                self.mark_down(s, f"unreachable ({type(exc).__name__})")
                continue
            pos = parse_lsn(replay) if replay else 0
            s.replay_lsn = max(s.replay_lsn, pos)
            if pos >= lsn:
                # the index snapshot of this engine must not be older than what was checked
                w = watcher(s.engine)
                if isinstance(w, PollingWatcher):
                    w.raise_to(int(version))
                return s
        return self.primary

    async def choose(self, after_lsn: int | None) -> Server:
        """Where a read goes: any replica in rotation, or — when the client must see a write
        (``after_lsn``) — one that has replayed it; the primary otherwise."""
        if not self._rotation:
            return self.primary
        if after_lsn is None:
            return self.pick()
        for s in self._rotation:
            if s.replay_lsn >= after_lsn:
                return s
        return await anyio.to_thread.run_sync(self.pick_after, after_lsn)

    def mark_down(self, server: Server, reason: str) -> None:
        """Take ``server`` out of rotation now (a failed read); the checker brings it back."""
        if not server.is_replica:
            return
        with self._lock:
            if server.healthy:
                log.warning("%s taken out of rotation: %s", server.name, reason)
            server.healthy, server.reason = False, reason
            self._rotation = tuple(s for s in self._rotation if s is not server)

    # -- checking ---------------------------------------------------------------------------
    def check(self) -> None:
        """One round: the primary's WAL position, then each replica's state and lag."""
        now = time.monotonic()
        primary_pos = self._ask(self.primary, "SELECT pg_current_wal_insert_lsn()::text")
        if primary_pos is not None and primary_pos[0]:
            self._history.append((now, parse_lsn(primary_pos[0])))
            keep = max(60.0, 4 * self.settings.replica_max_lag_s)
            while self._history and self._history[0][0] < now - keep:
                self._history.popleft()
        for s in self.replicas:
            row = self._ask(s, "SELECT pg_is_in_recovery(), "
                               "coalesce(pg_last_wal_replay_lsn(), '0/0')::text")
            s.checked_at = now
            if row is None:
                healthy, reason = False, "not answering"
            elif not row[0]:
                healthy, reason = False, "not in recovery: not a replica (promoted?)"
            else:
                s.replay_lsn = max(s.replay_lsn, parse_lsn(row[1]))
                s.lag_s = self._lag(s.replay_lsn, now)
                healthy = s.lag_s <= self.settings.replica_max_lag_s
                reason = "" if healthy else f"{s.lag_s:.1f} s behind the primary"
            with self._lock:
                if healthy != s.healthy:
                    (log.info if healthy else log.warning)(
                        "%s %s rotation%s", s.name, "back in" if healthy else "taken out of",
                        f": {reason}" if reason else "")
                s.healthy, s.reason = healthy, reason
        with self._lock:
            self._rotation = tuple(s for s in self.replicas if s.healthy)

    def _lag(self, replayed: int, now: float) -> float:
        """Seconds since the primary reached the oldest position the replica has not replayed."""
        for t, pos in self._history:
            if pos > replayed:
                return now - t
        return 0.0

    def _ask(self, s: Server, sql: str) -> tuple[Any, ...] | None:
        """One row from ``s`` on the checker's own connection (made again after a failure)."""
        try:
            if s._conn is None or s._conn.closed:
                args, kwargs = s.engine.dialect.create_connect_args(s.engine.url)
                kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
                s._conn = psycopg2.connect(*args, **kwargs)
                s._conn.autocommit = True
            with s._conn.cursor() as cur:
                cur.execute(sql)
                row: tuple[Any, ...] | None = cur.fetchone()
                return row
        except psycopg2.Error as exc:
            log.debug("replica check of %s: %s", s.name, exc)
            self._close(s)
            return None

    @staticmethod
    def _close(s: Server) -> None:
        if s._conn is not None:
            with contextlib.suppress(psycopg2.Error):
                s._conn.close()
            s._conn = None

    def _run(self) -> None:
        while True:
            try:
                self.check()
            except Exception:  # never let the checker die: a dead checker never restores
                log.exception("replica check failed")
            if self._stop.wait(self.settings.replica_check_interval_s):
                return

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for s in (self.primary, *self.replicas):
            self._close(s)
        for s in self.replicas:
            dispose(s.engine)

    def status(self) -> list[dict[str, Any]]:
        """Each replica as last checked (for logs, benches and tests)."""
        return [{"name": s.name, "healthy": s.healthy, "replay_lsn": format_lsn(s.replay_lsn),
                 "lag_s": round(s.lag_s, 3), "reason": s.reason} for s in self.replicas]


def router_of(app: Any) -> ReadRouter | None:
    """The app's read router (made on first use, beside its primary engine, and closed with it
    by ``db.dispose``); None without replicas — then everything goes to the one database."""
    settings = app.state.settings.db
    if not settings.replica_urls:
        return None
    primary = app.state.engine
    return companion(primary, _ROUTER_KEY, lambda: ReadRouter(primary, settings), ReadRouter.close)


def reader(request: Any) -> Engine:
    """The engine a REST read runs on: the one routes/replica_lane.py chose for this request,
    else the app's (primary) engine."""
    engine: Engine | None = request.scope.get(SCOPE_KEY)
    return engine if engine is not None else request.app.state.engine


def commit_lsn(primary: Engine) -> str:
    """The primary's WAL insert position now — after a commit, at or past its commit record.
    (The insert position, not ``pg_current_wal_lsn()``: with ``synchronous_commit = off`` the
    commit record may not be written out yet, and the write position can lie before it.)"""
    with read_connection(primary) as conn:
        return str(conn.exec_driver_sql("SELECT pg_current_wal_insert_lsn()::text").scalar_one())
