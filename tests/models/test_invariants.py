"""The invariants (docs/design.md) on the seeded demo county: checked in PostGIS and, independently,
in Shapely over the exported geometry."""

from __future__ import annotations

import json

import shapely
from sqlalchemy import text

from jurisgrid.models.invariants import check_invariants
from tests.oracle import export_grids

M_PER_DEG = 111_320.0


def _area_m2(geom: shapely.Geometry, lat: float = 30.85) -> float:
    """Planar area with an equirectangular scale at the county's latitude (good to ~0.1%)."""
    import math

    return geom.area * M_PER_DEG * M_PER_DEG * math.cos(math.radians(lat))


def test_invariants_hold_in_postgis(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        assert check_invariants(conn) == []


def test_grids_tile_the_county_in_shapely(engine) -> None:  # type: ignore[no-untyped-def]
    grids = export_grids(engine)
    with engine.connect() as conn:
        outline = shapely.geometry.shape(json.loads(
            conn.execute(text("SELECT ST_AsGeoJSON(geom, 15) FROM county")).scalar_one()))
    assert shapely.coverage_is_valid(shapely.GeometryCollection(grids.geoms))
    union = shapely.union_all(grids.geoms, grid_size=1e-9)
    assert _area_m2(outline.difference(union)) <= 0.01
    assert _area_m2(union.difference(outline)) <= 0.01
    overlap = sum(_area_m2(g) for g in grids.geoms) - _area_m2(union)
    assert abs(overlap) <= 0.01 * len(grids.geoms)  # float noise of summing many areas


def test_outlines_are_unions(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT z.code, ST_AsGeoJSON(z.geom, 15), array_agg(ST_AsGeoJSON(g.geom, 15))
            FROM zone z JOIN grid g ON g.zone_id = z.id GROUP BY z.code, z.geom""")).all()
    assert rows
    for code, zgeom, parts in rows:
        zone = shapely.geometry.shape(json.loads(zgeom))
        union = shapely.union_all([shapely.geometry.shape(json.loads(p)) for p in parts])
        assert _area_m2(zone.symmetric_difference(union)) <= 0.01, code


def test_every_point_knows_its_grid(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        missing = conn.execute(text(
            "SELECT (SELECT count(*) FROM address_point WHERE grid_id IS NULL)"
            " + (SELECT count(*) FROM incident WHERE grid_id IS NULL)")).scalar_one()
        assert missing == 0
        # the grid stored is the grid that contains the point
        wrong = conn.execute(text(
            "SELECT count(*) FROM address_point a JOIN grid g ON g.id = a.grid_id"
            " WHERE NOT ST_Intersects(g.geom, a.geom)")).scalar_one()
        assert wrong == 0


def test_insert_sets_grid_and_move_updates_it(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            g1, g2, p1, p2 = conn.execute(text("""
                SELECT a.id, b.id, ST_PointOnSurface(a.geom), ST_PointOnSurface(b.geom)
                FROM grid a, grid b WHERE a.id < b.id ORDER BY a.id, b.id LIMIT 1""")).one()
            new_id = conn.execute(text("""
                INSERT INTO address_point (code, address, households, population, houses, units, geom)
                VALUES ('TEST-1', 'test', 1, 3, 1, 0, :p) RETURNING id"""), {"p": p1}).scalar_one()
            assert conn.execute(text("SELECT grid_id FROM address_point WHERE id = :i"),
                                {"i": new_id}).scalar_one() == g1
            conn.execute(text("UPDATE address_point SET geom = :p WHERE id = :i"),
                         {"p": p2, "i": new_id})
            assert conn.execute(text("SELECT grid_id FROM address_point WHERE id = :i"),
                                {"i": new_id}).scalar_one() == g2
        finally:
            tx.rollback()


def test_data_version_moves_on_grid_change(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            v0 = conn.execute(text("SELECT version FROM data_version")).scalar_one()
            conn.execute(text("UPDATE grid SET name = name WHERE id = (SELECT min(id) FROM grid)"))
            assert conn.execute(text("SELECT version FROM data_version")).scalar_one() == v0 + 1
        finally:
            tx.rollback()
