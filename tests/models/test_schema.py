"""The migrated database and the SQLAlchemy metadata agree; the committed SDL is current."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from jurisgrid.models.migrate import current_revision, head_revision
from jurisgrid.models.tables import metadata


def test_migrated_to_head(engine) -> None:  # type: ignore[no-untyped-def]
    assert current_revision(engine) == head_revision()


def test_metadata_matches_database(engine) -> None:  # type: ignore[no-untyped-def]
    insp = inspect(engine)
    with engine.connect() as conn:  # the partitions of a partitioned table (migration 0017)
        partitions = set(conn.exec_driver_sql("SELECT relname FROM pg_class WHERE relispartition").scalars())
    db_tables = set(insp.get_table_names()) - {"alembic_version", "spatial_ref_sys"} - partitions
    assert db_tables == set(metadata.tables)
    for name, table in metadata.tables.items():
        db_cols = {c["name"]: c for c in insp.get_columns(name)}
        assert set(db_cols) == {c.name for c in table.columns}, name
        for col in table.columns:
            assert db_cols[col.name]["nullable"] == col.nullable, f"{name}.{col.name}"


def test_committed_sdl_is_current() -> None:
    from jurisgrid.gql.schema import SDL_PATH, export_sdl

    assert Path(SDL_PATH).exists(), "run: jurisgrid schema export"
    assert Path(SDL_PATH).read_text() == export_sdl(), (
        "schema.graphql drifted from the code: run `jurisgrid schema export` and commit it")
