"""The in-memory single-point answer equals the PostGIS one, and follows committed changes."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from jurisgrid.db import read_connection
from jurisgrid.models.responsible import GridIndexCache, responsible_for
from tests.oracle import export_grids, probe_points


@pytest.fixture(scope="module")
def sample(engine) -> np.ndarray:  # type: ignore[no-untyped-def]
    pts = probe_points(export_grids(engine), n_random=300, seed=5)
    rng = np.random.default_rng(11)
    return pts[rng.choice(len(pts), 600, replace=False)]


def test_memory_answer_equals_sql_answer(engine, sample) -> None:  # type: ignore[no-untyped-def]
    cache = GridIndexCache()
    outside = on_boundary = 0
    with read_connection(engine) as conn:
        for lon, lat in sample.tolist():
            mem = cache.point(engine, lon=lon, lat=lat)
            sql = responsible_for(conn, lon=lon, lat=lat)
            where = (lon, lat)
            assert mem.units == sql.units, where
            assert mem.on_boundary == sql.on_boundary, where
            assert [(o["id"], o["role"]) for o in mem.officers] == \
                [(o["id"], o["role"]) for o in sql.officers], where
            assert mem.nearest_id == sql.nearest_id, where
            if sql.boundary_m is None:
                assert mem.boundary_m is None
            else:  # PostGIS geography takes edges as geodesics, memory as straight lon/lat
                # lines (the model the boundary rule uses): a few cm apart on a km-long edge
                assert mem.boundary_m == pytest.approx(sql.boundary_m, rel=1e-3, abs=1e-3), where
            if sql.nearest_m is None:
                assert mem.nearest_m is None
            else:  # tens of km away the flat local frame drifts: 0.03 % at 20 km
                assert mem.nearest_m == pytest.approx(sql.nearest_m, rel=1e-3), where
            outside += sql.units["grid"] is None
            on_boundary += sql.on_boundary
    assert outside > 5 and on_boundary > 50      # the sample exercises every branch


def test_memory_answer_follows_committed_changes(engine, sample) -> None:  # type: ignore[no-untyped-def]
    """A committed change to any table an answer names shows in the next answer."""
    cache = GridIndexCache()
    lon, lat = next(p for p in sample.tolist()
                    if cache.point(engine, lon=p[0], lat=p[1]).units["grid"] is not None
                    and cache.point(engine, lon=p[0], lat=p[1]).officers)
    before = cache.point(engine, lon=lon, lat=lat)
    person_id = before.officers[0]["id"]
    community_id = before.units["community"]["id"]
    sector_id = before.units["sector"]["id"]
    changes = [
        ("person", person_id, "name"), ("community", community_id, "name"),
        ("sector", sector_id, "name"),
    ]
    try:
        for table, row_id, col in changes:
            with engine.begin() as w:
                w.execute(text(f"UPDATE {table} SET {col} = {col} || '·改' WHERE id = :i"), {"i": row_id})
        after = cache.point(engine, lon=lon, lat=lat)
        assert after.officers[0]["name"] == before.officers[0]["name"] + "·改"
        assert after.units["community"]["name"] == before.units["community"]["name"] + "·改"
        assert after.units["sector"]["name"] == before.units["sector"]["name"] + "·改"
    finally:
        for table, row_id, col in changes:
            with engine.begin() as w:
                w.execute(text(f"UPDATE {table} SET {col} = left({col}, -2) WHERE id = :i"),
                          {"i": row_id})
    assert cache.point(engine, lon=lon, lat=lat).units == before.units


def test_watcher_hears_commits_from_elsewhere(engine) -> None:  # type: ignore[no-untyped-def]
    """A commit on a connection this process's engine does not see (another server process)
    reaches the watcher by NOTIFY; until then it does not vouch for a stale version."""
    import time

    from jurisgrid.models.versions import watcher

    w = watcher(engine)
    GridIndexCache().snapshot(engine)   # reads the version: vouches for it from now on
    before = w.current()
    assert before is not None
    deadline = time.monotonic() + 10
    raw = psycopg2_connect(engine)
    try:
        with raw.cursor() as cur:
            cur.execute("UPDATE sector SET name = name WHERE id = (SELECT min(id) FROM sector)")
        raw.commit()
        with raw.cursor() as cur:
            cur.execute("SELECT version FROM data_version")
            committed = cur.fetchone()[0]
    finally:
        raw.close()
    while (w.current() or 0) < committed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert w.current() == committed > before


def psycopg2_connect(engine):  # type: ignore[no-untyped-def]
    import psycopg2

    args, kwargs = engine.dialect.create_connect_args(engine.url)
    return psycopg2.connect(*args, **kwargs)


def test_cell_index_is_prebuilt_after_a_change_once_bulk_needed_it(engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A process whose bulk requests needed the nearest cell index (many points outside the
    grids) builds the next snapshot's in the background after a change; one that never needed
    it does not spend the CPU."""
    import time

    from jurisgrid.geo import lookup

    monkeypatch.setattr(lookup, "CELL_BUILD_POINTS", 10)
    bulk, quiet = GridIndexCache(), GridIndexCache()
    first = bulk.snapshot(engine)
    first_quiet = quiet.snapshot(engine)
    assert not first.index.has_nearest_cells
    lon, lat = np.full(40, 100.0), np.linspace(20.0, 21.0, 40)  # far outside any county here
    answer = bulk.resolve(engine, lon, lat)
    assert answer.resolved == 0 and all(c is not None for c in answer.nearest_grid_codes)
    assert first.index.has_nearest_cells
    with engine.begin() as w:  # any committed change to the answer's tables: a new snapshot
        w.execute(text("UPDATE sector SET name = name WHERE id = (SELECT min(id) FROM sector)"))
    second, second_quiet = bulk.snapshot(engine), quiet.snapshot(engine)
    assert second is not first and second_quiet is not first_quiet
    deadline = time.monotonic() + 60
    while not second.index.has_nearest_cells and time.monotonic() < deadline:
        time.sleep(0.05)
    assert second.index.has_nearest_cells          # built without a request asking for it
    assert not second_quiet.index.has_nearest_cells
    again = bulk.resolve(engine, lon, lat)
    assert again.nearest_grid_codes == answer.nearest_grid_codes
