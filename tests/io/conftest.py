"""IO tests write: they get their own throwaway database with the small demo county."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tests.dbs import seeded_database


@pytest.fixture(scope="package")
def io_engine(database_url: str, demo) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    server = make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
    with seeded_database(server, "jurisgrid_io", demo, pool_size=4) as eng:
        yield eng


def snapshot(engine: Engine, table: str) -> str:
    """A digest of a table's rows (all columns, geometry as WKB): equal digests, equal tables."""
    with engine.connect() as conn:
        return str(conn.execute(text(
            f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.code), '')) FROM {table} t"
        )).scalar_one())
