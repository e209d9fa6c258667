"""The connections tiles are read on: a sibling pool of the app's engine, in autocommit mode,
whose sessions plan prepared statements generically (``plan_cache_mode=force_generic_plan``).

A tile statement takes 20–70 ms to plan and a few ms to run. Left to itself, PostgreSQL plans
each prepared statement afresh for its first five runs on every connection, and for some keeps
doing so; with eight layers × three crs × every pooled connection of every worker that was a
large share of the tile bench's database time. The setting is per session, so it lives in a
pool of its own rather than changing the shared read pool's sessions.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from jurisgrid.db import sibling_engine


def tile_engine(engine: Engine) -> Engine:
    return sibling_engine(engine, "tiles", options="-c plan_cache_mode=force_generic_plan")


def tile_connection(engine: Engine) -> Connection:
    """A pooled autocommit connection for tile reads (see the module docstring)."""
    return tile_engine(engine).connect()
