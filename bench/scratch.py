"""A throwaway database with a small demo county, for benches that write or need their own."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from jurisgrid.db import dispose, make_engine
from jurisgrid.localdb import LocalCluster


@contextmanager
def scratch_database(prefix: str, fill: Callable[[Engine], Any]) -> Iterator[Engine]:
    """A new database on the project-local cluster, migrated and filled by ``fill(engine)``;
    dropped afterwards."""
    from jurisgrid.models.migrate import upgrade

    cluster = LocalCluster(Path(".jurisgrid").resolve())
    cluster.start()
    server = cluster.url("postgres")
    name = f"{prefix}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(server).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        fill(engine)
        yield engine
    finally:
        dispose(engine)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def scratch_demo(prefix: str, *, scale: float = 0.02, seed: int = 7) -> Iterator[Engine]:
    """A new database on the project-local cluster, migrated and seeded; dropped afterwards."""
    from jurisgrid.seed.generate import generate
    from jurisgrid.seed.load import load

    with scratch_database(prefix, lambda engine: load(engine, generate(scale=scale, seed=seed))) as engine:
        yield engine
