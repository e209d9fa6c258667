"""Engines and connections: the one place that turns settings into a database URL."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event

from jurisgrid.config import DatabaseSettings, get_settings
from jurisgrid.localdb import LocalCluster

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
    return create_engine(
        url,
        # no overflow: connections opened past the pool are closed on return, and under load
        # that churn (hundreds of new sessions a second) costs PostgreSQL more than the queries;
        # requests beyond the pool wait for a connection instead
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=30,
        pool_pre_ping=False,
        connect_args={"options": f"-c statement_timeout={statement_timeout_ms}"},
        **kw,
    )


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


def read_connection(engine: Engine) -> Connection:
    """A pooled connection in autocommit mode, for reads on the request path.

    Every statement sees committed data as of its start; returning the connection to the pool
    then costs no ROLLBACK round trip (a quarter of a small request's time under load).
    Writes use ``engine.begin()`` and explicit transactions instead.
    """
    return read_engine(engine).connect()
