"""Throwaway test databases on the test PostGIS server: created with a random name, dropped
(WITH FORCE) afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from jurisgrid.db import dispose, make_engine


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """Create an empty database ``{prefix}_{random}`` on the server at ``server_url`` (a URL whose
    user may create databases); yield its URL; drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def seeded_database(server_url: str, prefix: str, demo: Any, *, pool_size: int) -> Iterator[Engine]:
    """A scratch database, migrated and loaded with ``demo``; yields an engine on it."""
    from jurisgrid.models.migrate import upgrade
    from jurisgrid.seed.load import load

    with scratch_database(server_url, prefix) as url:
        eng = make_engine(url, pool_size=pool_size)
        try:
            upgrade(eng)
            load(eng, demo)
            yield eng
        finally:
            dispose(eng)
