"""The connections tiles are read on: a sibling pool of the app's engine, in autocommit mode,
whose sessions plan prepared statements generically (``plan_cache_mode=force_generic_plan``).

A tile statement takes 20–70 ms to plan and a few ms to run. Left to itself, PostgreSQL plans
each prepared statement afresh for its first five runs on every connection, and for some keeps
doing so; with eight layers × three crs × every pooled connection of every worker that was a
large share of the tile bench's database time. The setting is per session, so it lives in a
pool of its own rather than changing the shared read pool's sessions.
"""

from __future__ import annotations

import threading
import weakref

from sqlalchemy import Connection, Engine, create_engine

from jurisgrid.config import get_settings
from jurisgrid.db import on_dispose

_tile_engines: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def tile_engine(engine: Engine) -> Engine:
    sibling = _tile_engines.get(engine)
    if sibling is None:
        with _lock:
            sibling = _tile_engines.get(engine)
            if sibling is None:
                s = get_settings().db
                sibling = create_engine(
                    engine.url, pool_size=s.pool_size, max_overflow=0, pool_timeout=30,
                    isolation_level="AUTOCOMMIT", pool_reset_on_return=None,
                    connect_args={"options": f"-c statement_timeout={s.statement_timeout_ms} "
                                             "-c plan_cache_mode=force_generic_plan"})
                _tile_engines[engine] = sibling
                on_dispose(engine, sibling.dispose)
    return sibling


def tile_connection(engine: Engine) -> Connection:
    """A pooled autocommit connection for tile reads (see the module docstring)."""
    return tile_engine(engine).connect()
