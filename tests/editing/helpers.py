"""Shared helpers of the editing tests: an independent Shapely check of the invariants over the
exported data, a fingerprint of the database ("nothing was written"), and edit fixtures."""

from __future__ import annotations

import json
import math
from typing import Any

import shapely
from sqlalchemy import Engine, text

from tests.oracle import Grids, oracle

TOL_M2 = 0.05
M = 111_320.0


def m2(g: shapely.Geometry, lat: float = 30.8) -> float:
    """Area in m² from degrees² (equirectangular at the county's latitude) — independent of PostGIS."""
    return float(shapely.area(g)) * M * M * math.cos(math.radians(lat))


def _shapes(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(text(sql)).all()
    return [(*r[:-1], shapely.geometry.shape(json.loads(r[-1])) if r[-1] else None) for r in rows]


def oracle_violations(engine: Engine, *, points: bool = True) -> list[str]:
    """Invariants 1–3 recomputed in plain Shapely from GeoJSON exports."""
    out: list[str] = []
    grids = _shapes(engine, "SELECT code, zone_id, community_id, ST_AsGeoJSON(geom, 15) FROM grid "
                            "ORDER BY code")
    county = shapely.union_all([r[-1] for r in _shapes(engine, "SELECT id, ST_AsGeoJSON(geom, 15) "
                                                               "FROM county")])
    geoms = [g[-1] for g in grids]
    if not all(g.is_valid for g in geoms):
        out.append("invalid grid geometry")
    union = shapely.union_all(geoms)
    gap = m2(shapely.difference(county, union))
    outside = m2(shapely.difference(union, county))
    overlap = sum(m2(g) for g in geoms) - m2(union)
    for name, v in (("gap", gap), ("outside", outside), ("overlap", overlap)):
        if v > TOL_M2:
            out.append(f"coverage: {name} {v:.3f} m²")
    communities = {r[0]: r[-1] for r in _shapes(engine, "SELECT id, ST_AsGeoJSON(geom, 15) FROM community")}
    for code, _z, c, g in grids:
        if m2(shapely.difference(g, communities[c])) > TOL_M2:
            out.append(f"grid {code} outside its community")
    zones = _shapes(engine, "SELECT id, code, station_id, ST_AsGeoJSON(geom, 15) FROM zone")
    by_zone: dict[int, list[Any]] = {}
    for _code, z, _c, g in grids:
        by_zone.setdefault(z, []).append(g)
    for zid, code, _s, zg in zones:
        expect = shapely.union_all(by_zone.get(zid, []))
        got = zg if zg is not None else shapely.Polygon()
        if m2(shapely.symmetric_difference(expect, got)) > TOL_M2:
            out.append(f"zone {code} outline is not the union of its grids")
    stations = _shapes(engine, "SELECT id, code, ST_AsGeoJSON(geom, 15) FROM station")
    by_station: dict[int, list[Any]] = {}
    for zid, _code, s, _zg in zones:
        by_station.setdefault(s, []).extend(by_zone.get(zid, []))
    for sid, code, sg in stations:
        expect = shapely.union_all(by_station.get(sid, []))
        got = sg if sg is not None else shapely.Polygon()
        if m2(shapely.symmetric_difference(expect, got)) > TOL_M2:
            out.append(f"station {code} outline is not the union of its grids")
    if points:
        import numpy as np

        with engine.connect() as conn:
            pts = conn.execute(text("SELECT p.code, ST_X(p.geom), ST_Y(p.geom), g.code FROM address_point p "
                                    "LEFT JOIN grid g ON g.id = p.grid_id ORDER BY p.code")).all()
        codes, _ = oracle(Grids([g[0] for g in grids], geoms),
                          np.array([p[1] for p in pts]), np.array([p[2] for p in pts]))
        stale = [p[0] for p, c in zip(pts, codes, strict=True) if p[3] != c]
        if stale:
            out.append(f"{len(stale)} address points in the wrong grid, e.g. {stale[:3]}")
    return out


FINGERPRINT_SQL = """
SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
  SELECT 'g' || code || zone_id || community_id || encode(ST_AsEWKB(geom), 'hex') AS x FROM grid
  UNION ALL SELECT 'z' || code || station_id || coalesce(encode(ST_AsEWKB(geom), 'hex'), '') FROM zone
  UNION ALL SELECT 's' || code || coalesce(encode(ST_AsEWKB(geom), 'hex'), '') || name FROM station
  UNION ALL SELECT 'c' || code || name FROM community
  UNION ALL SELECT 'a' || code || coalesce(grid_id::text, '-') FROM address_point
  UNION ALL SELECT 'i' || code || coalesce(grid_id::text, '-') FROM incident
  UNION ALL SELECT 'r' || id FROM revision
  UNION ALL SELECT 'e' || id FROM scheduled_edit
  UNION ALL SELECT 'p' || id || coalesce(zone_id, 0) || coalesce(grid_id, 0)
                   || coalesce(valid_to::text, '') FROM assignment
) s
"""


def fingerprint(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text(FINGERPRINT_SQL)).scalar_one())


def state(engine: Engine) -> dict[str, Any]:
    """The editable state, exactly (geometry as EWKB hex) — for revert tests."""
    with engine.connect() as conn:
        return {
            "grid": conn.execute(text("SELECT code, name, zone_id, community_id, "
                                      "encode(ST_AsEWKB(geom), 'hex') "
                                      "FROM grid ORDER BY code")).all(),
            "zone": conn.execute(text("SELECT code, name, station_id, encode(ST_AsEWKB(geom), 'hex') "
                                      "FROM zone ORDER BY code")).all(),
            "station": conn.execute(text("SELECT code, name, encode(ST_AsEWKB(geom), 'hex') "
                                         "FROM station ORDER BY code")).all(),
            "points": conn.execute(text("SELECT code, grid_id FROM address_point ORDER BY code")).all(),
            "incidents": conn.execute(text("SELECT code, grid_id FROM incident ORDER BY code")).all(),
        }


def neighbour_pair(engine: Engine, *, offset: int = 0) -> tuple[str, str]:
    """Two grids of one community that share an edge. The small test county has one grid per
    community, so the ``offset``-th grid (largest first) is split in two by an edit first."""
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT a.code, b.code FROM grid a JOIN grid b ON a.community_id = b.community_id "
            "AND a.code < b.code AND ST_Length(ST_Intersection(ST_Boundary(a.geom), "
            "ST_Boundary(b.geom))) > 1e-4 "
            "ORDER BY a.code, b.code OFFSET :o LIMIT 1"), {"o": offset}).one_or_none()
        if row is not None:
            return (row[0], row[1])
        code = conn.execute(text("SELECT code FROM grid ORDER BY ST_Area(geom) DESC, code OFFSET :o LIMIT 1"),
                            {"o": offset}).scalar_one()
    from jurisgrid.config import EditSettings
    from jurisgrid.editing.runner import run_edit
    from tests.editing.conftest import ADMIN

    out = run_edit(engine, "splitGrid", {"grid": code, "line": cut_line(engine, code)}, principal=ADMIN,
                   settings=EditSettings(), reason="test fixture: make two neighbours")
    other = [c for c in out.impact.grids if c != code]
    return (code, other[0])


def grid_shape(engine: Engine, code: str) -> shapely.Geometry:
    with engine.connect() as conn:
        return shapely.geometry.shape(json.loads(conn.execute(
            text("SELECT ST_AsGeoJSON(geom, 15) FROM grid WHERE code = :c"), {"c": code}).scalar_one()))


def community_shape_of(engine: Engine, grid_code: str) -> shapely.Geometry:
    with engine.connect() as conn:
        return shapely.geometry.shape(json.loads(conn.execute(text(
            "SELECT ST_AsGeoJSON(c.geom, 15) FROM grid g JOIN community c ON c.id = g.community_id "
            "WHERE g.code = :c"), {"c": grid_code}).scalar_one()))


def grow_into(engine: Engine, code: str, other: str, frac: float = 0.3) -> dict[str, Any]:
    """A new shape for ``code`` that takes a strip of ``other`` (same community)."""
    a, b = grid_shape(engine, code), grid_shape(engine, other)
    d = math.sqrt(b.area) * frac
    take = shapely.intersection(b, shapely.buffer(a, d))
    new = shapely.union(a, take)
    new = shapely.set_precision(new, 1e-7)
    return json.loads(shapely.to_geojson(new))


def shrink_towards(engine: Engine, code: str, other: str, frac: float = 0.3) -> dict[str, Any]:
    """A new shape for ``code`` that gives up a strip along its edge with ``other``."""
    a, b = grid_shape(engine, code), grid_shape(engine, other)
    d = math.sqrt(a.area) * frac
    give = shapely.intersection(a, shapely.buffer(b, d))
    new = shapely.set_precision(shapely.difference(a, give), 1e-7)
    if new.geom_type == "MultiPolygon":
        new = max(new.geoms, key=lambda p: p.area)
    return json.loads(shapely.to_geojson(new))


def cut_line(engine: Engine, code: str) -> dict[str, Any]:
    """A horizontal line through the grid's representative point, crossing it edge to edge."""
    g = grid_shape(engine, code)
    x0, _y0, x1, _y1 = g.bounds
    y = g.representative_point().y
    return {"type": "LineString", "coordinates": [[x0 - 0.01, y], [x1 + 0.01, y]]}
