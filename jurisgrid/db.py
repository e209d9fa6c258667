"""Engines and connections: the one place that turns settings into a database URL."""

from __future__ import annotations

import logging
import select
import threading
import weakref
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc

from jurisgrid.config import DatabaseSettings, get_settings
from jurisgrid.errors import ServiceUnavailable
from jurisgrid.localdb import LocalCluster, ensure_project_home

log = logging.getLogger("jurisgrid.db")


# URL schemes that name no driver, as libpq, Heroku-style platforms and most documentation write
# them: SQLAlchemy 2.1 would pick psycopg (version 3), which jurisgrid does not install, and
# SQLAlchemy does not know "postgres" at all. Raw connections (tiles, LISTEN) use psycopg2 too.
_DRIVERLESS_SCHEMES = ("postgresql", "postgres")
DRIVER_SCHEME = "postgresql+psycopg2"


def normalize_url(url: str) -> str:
    """``url`` with a driverless ``postgresql://`` or ``postgres://`` scheme mapped to psycopg2;
    any other URL (an explicit driver included) unchanged, character for character."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in _DRIVERLESS_SCHEMES:
        return f"{DRIVER_SCHEME}://{rest}"
    return url


def database_url(settings: DatabaseSettings | None = None, *, start: bool = True) -> str:
    """``JURISGRID_DATABASE_URL`` if set (see :func:`normalize_url`), else the project-local
    cluster (started on demand)."""
    s = settings or get_settings().db
    if s.database_url:
        return normalize_url(s.database_url)
    cluster = LocalCluster(s.home.resolve())
    if start:
        # never initialise a cluster by accident in whatever folder a command runs in
        ensure_project_home(cluster, explicit="home" in s.model_fields_set)
        cluster.start()
        cluster.ensure_database(s.db_name)
    return cluster.url(s.db_name)


def make_engine(url: str, *, pool_size: int = 8, statement_timeout_ms: int = 30_000) -> Engine:
    url = normalize_url(url)
    engine = _create(url, pool_size=pool_size, statement_timeout_ms=statement_timeout_ms)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.set_session(autocommit=False)

    _settings[engine] = (url, pool_size, statement_timeout_ms)
    return engine


def _create(url: str, *, pool_size: int, statement_timeout_ms: int, **kw: Any) -> Engine:
    engine = create_engine(
        url,
        # no overflow: connections opened past the pool are closed on return, and under load
        # that churn (hundreds of new sessions a second) costs PostgreSQL more than the queries;
        # requests beyond the pool wait for a connection instead
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=30,
        # pre-ping costs a round trip per checkout (a third of a single-point lookup); the
        # checkout hook below finds dropped connections with one poll() instead
        pool_pre_ping=False,
        connect_args={"options": f"-c statement_timeout={statement_timeout_ms}"},
        **kw,
    )
    event.listen(engine, "checkout", _drop_stale)
    return engine


def socket_dropped(dbapi_conn: Any) -> bool:
    """True when an idle psycopg2 connection is known to be dead, without a round trip.

    An idle connection has nothing to read. When the server ends the session —
    ``pg_terminate_backend``, a restart, a shutdown — it sends a FATAL message and closes the
    socket, so the socket turns readable (data or end of file): one ``poll()`` with no wait
    tells. (A network partition is not seen; :func:`read` retries once for that.)
    """
    try:
        if dbapi_conn.closed:
            return True
        p = select.poll()
        p.register(dbapi_conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(p.poll(0))
    except Exception:  # a closed or broken connection object
        return True


def _drop_stale(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """Pool ``checkout`` hook: a dropped connection is replaced before anyone uses it (the
    pool catches DisconnectionError and connects anew), the cheap equivalent of pre-ping."""
    if socket_dropped(dbapi_conn):
        raise sa_exc.DisconnectionError("the server closed this pooled connection")


class NeedsPrimary(Exception):
    """A read sent to a replica found it must write first (the zone tiles' sizing figures for
    the current data are not stored, or not replayed there yet): the replica lane answers the
    request again on the primary (routes/replica_lane.py). Never raised on the primary."""


def unavailable(exc: BaseException) -> ServiceUnavailable | None:
    """``exc`` as a :class:`ServiceUnavailable` when it says the database cannot be reached
    (down, restarting, a dropped session, too many connections, no pooled connection free);
    None for anything else — a statement timeout or a bad statement is not an outage."""
    import psycopg2
    import psycopg2.extensions

    if isinstance(exc, ServiceUnavailable):
        return exc
    if isinstance(exc, sa_exc.TimeoutError):  # the pool's: every connection busy for 30 s
        return ServiceUnavailable("every database connection is busy; try again shortly")
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return ServiceUnavailable(DOWN_MESSAGE)
    raw = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    if isinstance(raw, psycopg2.extensions.QueryCanceledError):
        return None
    if isinstance(raw, psycopg2.OperationalError | psycopg2.InterfaceError):
        code = getattr(raw, "pgcode", None)
        # no SQLSTATE: the connection itself failed; 08 connection exception, 57P0x operator
        # intervention (shutdown, crash, starting up), 53 insufficient resources
        if code is None or code.startswith(("08", "57P", "53")):
            return ServiceUnavailable(DOWN_MESSAGE)
    return None


class _OutageLog:
    """One warning per interval while the database is unreachable, not one per request: an
    outage under load would otherwise write thousands of identical lines."""

    def __init__(self, interval_s: float = 5.0) -> None:
        self.interval_s = interval_s
        self._next = 0.0
        self._suppressed = 0
        self._lock = threading.Lock()

    def __call__(self, where: str, exc: BaseException) -> None:
        import time

        with self._lock:
            now = time.monotonic()
            if now < self._next:
                self._suppressed += 1
                return
            more, self._suppressed, self._next = self._suppressed, 0, now + self.interval_s
        log.warning("database unavailable (%s at %s)%s", type(exc).__name__, where,
                    f"; {more} more such answers since the last report" if more else "")


log_unavailable = _OutageLog()


def _first_line(exc: sa_exc.DBAPIError) -> str:
    return (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]


DOWN_MESSAGE = "the database is not answering (it may be restarting); try again shortly"


# engine -> how it was made (its siblings are made the same way)
_settings: weakref.WeakKeyDictionary[Engine, tuple[str, int, int]] = weakref.WeakKeyDictionary()
# engine -> the process-local objects bound to it, by key, each with how to close it
_companions: weakref.WeakKeyDictionary[Engine, dict[str, tuple[Any, Callable[[], None]]]] = (
    weakref.WeakKeyDictionary())
_companions_lock = threading.RLock()

T = TypeVar("T")


def companion(engine: Engine, key: str, make: Callable[[], T],
              close: Callable[[T], None] | None = None) -> T:
    """A process-local object bound to ``engine`` — a sibling pool, a watcher, a cache — made
    once (thread-safe) and closed by :func:`dispose`."""
    found = _companions.get(engine, {}).get(key)
    if found is None:
        with _companions_lock:
            found = _companions.setdefault(engine, {}).get(key)
            if found is None:
                obj = make()
                found = (obj, (lambda: close(obj)) if close is not None else (lambda: None))
                _companions[engine][key] = found
    return found[0]


def sibling_engine(engine: Engine, key: str) -> Engine:
    """A pool of autocommit connections beside ``engine``, made the same way (URL, pool size,
    statement timeout).

    Switching a pooled connection to autocommit and back costs two round trips per checkout
    with psycopg2 (half a millisecond, a third of a single-point lookup); a pool that never
    switches costs none. Pools open connections on demand, so siblings hold no more sessions
    than are in use.
    """
    def make() -> Engine:
        url, pool_size, timeout = _settings.get(
            engine, (engine.url.render_as_string(hide_password=False), 8, 30_000))
        # autocommit connections hold no transaction: nothing to roll back on return
        return _create(url, pool_size=pool_size, statement_timeout_ms=timeout,
                       isolation_level="AUTOCOMMIT", pool_reset_on_return=None)

    return companion(engine, f"engine:{key}", make, Engine.dispose)


def connect_args(engine: Engine) -> tuple[dict[str, Any], int, int]:
    """``psycopg2.connect`` keyword arguments for ``engine``'s database, and its pool size and
    statement timeout (ms) — for connections made outside SQLAlchemy (tiles/pool.py)."""
    _url, pool_size, timeout = _settings.get(engine, ("", 8, 30_000))
    cargs, kwargs = engine.dialect.create_connect_args(engine.url)
    if cargs:
        raise ValueError(f"unexpected positional connect arguments for {engine.url!r}")
    return dict(kwargs), pool_size, timeout


def read_engine(engine: Engine) -> Engine:
    """The sibling pool for reads on the request path (see :func:`sibling_engine`)."""
    return sibling_engine(engine, "read")


def dispose(engine: Engine) -> None:
    """Close what is bound to an engine (its siblings, watchers), then its own pool."""
    with _companions_lock:
        bound = _companions.pop(engine, {})
    for _obj, close in bound.values():
        close()
    engine.dispose()


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    s = get_settings().db
    return make_engine(url or database_url(s), pool_size=s.pool_size,
                       statement_timeout_ms=s.statement_timeout_ms)


def read(engine: Engine, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(conn, *args, **kwargs)`` on a :func:`read_connection` — for idempotent reads only.

    A connection found dropped while in use (its session was terminated, the server restarted
    since the checkout) is discarded and ``fn`` runs once more on a fresh one; SQLAlchemy
    invalidates the rest of the pool at the same time. A database that still cannot be reached
    raises :class:`ServiceUnavailable` (HTTP 503, GraphQL ``SERVICE_UNAVAILABLE``).
    """
    for attempt in (1, 2):
        try:
            with read_connection(engine) as conn:
                return fn(conn, *args, **kwargs)
        except Exception as exc:
            if attempt == 1 and isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
                log.warning("a pooled connection was dropped (%s); retrying the read once",
                            _first_line(exc))
                continue
            down = unavailable(exc)
            if down is None:
                raise
            raise down from exc
    raise AssertionError("unreachable")  # pragma: no cover


def read_connection(engine: Engine) -> Connection:
    """A pooled connection in autocommit mode, for reads on the request path.

    Every statement sees committed data as of its start; returning the connection to the pool
    then costs no ROLLBACK round trip (a quarter of a small request's time under load).
    Writes use ``engine.begin()`` and explicit transactions instead.
    """
    return read_engine(engine).connect()
