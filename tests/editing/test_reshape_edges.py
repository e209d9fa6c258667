"""Splits and redraws at the county's edge: no vertex of an edit is left on an outline edge (a
T-junction: exact in the plane, but the geodesic edge of the grid then no longer follows the
county's), and the revision check sees it when one is written anyway.

The defect these pin down: a split whose cut ended at a grid point exactly on an edge of the
county outline (the middle of a 45° edge) kept that point as a vertex of both pieces; a later
redraw that gave one grid both halves of the edge was refused with ``OUTSIDE_COUNTY 0.018 m²``
(the geodesic bulge of the 140 m edge), although nothing had moved outside.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import pytest
import shapely
from sqlalchemy import Engine, text

from jurisgrid.config import EditSettings
from jurisgrid.editing.revisions import close_revision, open_revision
from jurisgrid.editing.runner import EditOutcome, run_edit
from jurisgrid.errors import InvalidGeometry
from jurisgrid.geo import reshape
from jurisgrid.geo.validate import GRID_SIZE
from tests.editing.conftest import ADMIN
from tests.editing.helpers import fingerprint, grid_shape, m2, oracle_violations, state

TOL_M2 = 0.01


def _on_outline(geom: shapely.Geometry, outline_of: shapely.Geometry) -> list[tuple[float, float]]:
    """Vertices of ``geom`` on the outline of ``outline_of`` that are not its vertices."""
    own = {(x, y) for x, y in shapely.get_coordinates(outline_of)}
    edge = outline_of.boundary
    return [(x, y) for x, y in shapely.get_coordinates(geom)
            if (x, y) not in own and edge.distance(shapely.Point(x, y)) < reshape.CLEARANCE]


# -- pure geometry ------------------------------------------------------------------------------

SQUARE = shapely.Polygon([(107.0, 30.0), (107.001, 30.0), (107.001, 30.001), (107.0, 30.001)])


@pytest.mark.parametrize("point", [(107.0005, 30.001), (107.001, 30.0005), (107.0005, 30.0),
                                   (107.0, 30.0005)], ids=["top", "right", "bottom", "left"])
def test_pull_inside_moves_grid_points_off_axis_parallel_edges(point: tuple[float, float]) -> None:
    # a wedge from the centre reaching past one side, crossing it at grid points of that side
    x, y = point
    c = (107.0005, 30.0005)
    along = (0.0001, 0.0) if y != c[1] else (0.0, 0.0001)
    cross = [(x - along[0], y - along[1]), (x + along[0], y + along[1])]
    wedge = shapely.Polygon([c, *((c[0] + 2 * (px - c[0]), c[1] + 2 * (py - c[1])) for px, py in cross)])
    got = reshape.pull_inside(wedge, SQUARE)
    assert got.is_valid and SQUARE.contains(got)
    assert _on_outline(got, SQUARE) == []
    # the crossing points moved by about a grid step, no more
    assert shapely.hausdorff_distance(got, shapely.intersection(wedge, SQUARE)) < 2 * GRID_SIZE


def test_split_keeps_cut_vertices_off_the_grid_outline() -> None:
    # a diamond (45° edges); the cut ends at the exact middle of an edge, a grid point
    d = shapely.Polygon([(107.0, 30.0), (107.001, 30.001), (107.0, 30.002), (106.999, 30.001)])
    mid = (106.9995, 30.0005)
    line = shapely.LineString([(106.9994, 30.0004), mid, (107.0008, 30.0018)])
    assert d.boundary.distance(shapely.Point(mid)) < 1e-12  # on the edge, up to rounding
    pieces = reshape.split(d, line)
    assert len(pieces) == 2 and all(p.is_valid for p in pieces)
    assert all(_on_outline(p, d) == [] for p in pieces)
    # still an exact tiling of the grid
    assert shapely.symmetric_difference(shapely.union_all(pieces), d).area < 1e-20
    assert shapely.intersection(pieces[0], pieces[1]).area < 1e-20
    assert all(round(v / GRID_SIZE) * GRID_SIZE == pytest.approx(v, abs=1e-12)
               for p in pieces for v in shapely.get_coordinates(p).ravel())


# -- on the database ----------------------------------------------------------------------------


def _county(engine: Engine) -> shapely.Geometry:
    with engine.connect() as conn:
        return shapely.from_wkb(bytes(conn.execute(text(
            "SELECT ST_AsBinary(ST_Union(geom)) FROM county")).scalar_one()))


def _bulge_m2(engine: Engine, p1: tuple[float, float], x: tuple[float, float],
              p2: tuple[float, float]) -> float:
    """Area on the sphere between the edge p1–p2 and the path p1–x–p2 (x on the edge)."""
    with engine.connect() as conn:
        return float(conn.execute(text(
            "SELECT abs(ST_Area(ST_MakePolygon(ST_MakeLine(ARRAY[ST_Point(:a, :b), ST_Point(:c, :d), "
            "ST_Point(:e, :f), ST_Point(:a, :b)]))::geography))"),
            {"a": p1[0], "b": p1[1], "c": x[0], "d": x[1], "e": p2[0], "f": p2[1]}).scalar_one())


def _county_edge_case(engine: Engine) -> tuple[str, tuple[float, float], tuple[float, float],
                                                 tuple[float, float], dict]:
    """A grid with an edge p1–p2 on the county outline, a grid point x exactly on that edge,
    and a cut line from x across the grid into two pieces — the shortest edge whose geodesic
    bulge is still well over the 0.01 m² tolerance (short edges: the redraw below rounds its
    input to the 1e-7° grid, and slivers along km-long edges trip the geodesic checks on
    their own)."""
    county = _county(engine)
    with engine.connect() as conn:
        grids = {c: shapely.from_wkb(bytes(w)) for c, w in conn.execute(text(
            "SELECT g.code, ST_AsBinary(g.geom) FROM grid g, (SELECT ST_Union(geom) AS geom FROM county) c "
            "WHERE ST_Intersects(ST_Boundary(g.geom), ST_Boundary(c.geom))"))}
    cands = []
    for ring in [p.exterior for p in shapely.get_parts(county)]:
        pts = list(ring.coords)
        for p1, p2 in itertools.pairwise(pts):
            i1, j1, i2, j2 = (round(v / GRID_SIZE) for v in (*p1, *p2))
            n = math.gcd(abs(i2 - i1), abs(j2 - j1))
            if n < 2:
                continue
            k = n // 2
            x = (round((i1 + (i2 - i1) // n * k) * GRID_SIZE, 7),
                 round((j1 + (j2 - j1) // n * k) * GRID_SIZE, 7))
            seg = shapely.LineString([p1, p2])
            if seg.distance(shapely.Point(x)) != 0.0:
                continue
            code = next((c for c, g in grids.items() if g.boundary.covers(seg)), None)
            if code is not None:
                cands.append((seg.length, code, p1, x, p2))
    for _len, code, p1, x, p2 in sorted(cands):
        g = grids[code]
        c = g.representative_point()
        line = shapely.LineString([(x[0] + (x[0] - c.x) * 0.01, x[1] + (x[1] - c.y) * 0.01), x,
                                   (c.x + (c.x - x[0]) * 3, c.y + (c.y - x[1]) * 3)])
        try:
            if len(reshape.split(g, line)) != 2:
                continue
        except reshape.GeometryProblem:
            continue
        if _bulge_m2(engine, p1, x, p2) > 2 * TOL_M2:
            return code, p1, x, p2, _geojson(line)
    raise AssertionError("the test county has no edge to cut at")


def _geojson(g: shapely.Geometry) -> dict:
    return dict(json.loads(shapely.to_geojson(g)))


def _edit(engine: Engine, op: str, args: dict) -> EditOutcome:
    return run_edit(engine, op, args, principal=ADMIN, settings=EditSettings(), reason="test")


def _outside_m2(engine: Engine, code: str) -> float:
    """How the revision check measures it: planar difference, area on the sphere."""
    with engine.connect() as conn:
        return float(conn.execute(text(
            "SELECT ST_Area(ST_Difference(g.geom, (SELECT ST_Union(geom) FROM county))::geography) "
            "FROM grid g WHERE g.code = :c"), {"c": code}).scalar_one())


def _sphere_m2(engine: Engine, codes: list[str]) -> float:
    with engine.connect() as conn:
        return float(conn.execute(text("SELECT sum(ST_Area(geom::geography)) FROM grid WHERE code = ANY(:c)"),
                                  {"c": codes}).scalar_one())


def test_split_at_county_edge_then_redraw_across_the_cut(edit_engine: Engine) -> None:
    code, p1, x, p2, line = _county_edge_case(edit_engine)
    county = _county(edit_engine)
    before = state(edit_engine)
    area = _sphere_m2(edit_engine, [code])
    split = _edit(edit_engine, "splitGrid", {"grid": code, "line": line})
    (other,) = [c for c in split.impact.grids if c != code]
    assert oracle_violations(edit_engine) == []
    # on the sphere too, the pieces cover what the grid covered (no edge of the county broken)
    assert _sphere_m2(edit_engine, [code, other]) == pytest.approx(area, abs=1e-3)
    cut = [_on_outline(grid_shape(edit_engine, c), county) for c in (code, other)]
    # the old grid gives the new one a strip along the whole county edge (as in the report: a
    # redraw with giveTo); the new grid then holds both halves of the edge the cut ended on
    a = grid_shape(edit_engine, code)
    strip = shapely.intersection(a, shapely.LineString([p1, p2]).buffer(math.sqrt(a.area) * 0.1))
    new = shapely.set_precision(shapely.difference(a, strip), GRID_SIZE)
    redraw = _edit(edit_engine, "redrawGrid", {"grid": code, "giveTo": other, "geometry": _geojson(new)})
    assert set(redraw.impact.grids) == {code, other}
    assert oracle_violations(edit_engine) == []
    assert _sphere_m2(edit_engine, [code, other]) == pytest.approx(area, abs=1e-3)
    got = grid_shape(edit_engine, other)
    assert got.covers(shapely.Point(x)) and m2(shapely.difference(strip, got)) < 5.0
    for c in (code, other):
        assert _outside_m2(edit_engine, c) < TOL_M2
        assert _on_outline(grid_shape(edit_engine, c), county) == [], c
    assert cut == [[], []]  # no vertex of the cut was left on the county edge
    for done in (redraw, split):
        assert done.revision is not None
        _edit(edit_engine, "revert", {"revision": done.revision.id})
    assert state(edit_engine) == before
    assert oracle_violations(edit_engine) == []


def _write_and_close(engine: Engine, writes: list[tuple[str, dict]]) -> None:
    """One revision that writes ``writes`` directly (no reshape code), checked by
    close_revision; rolled back whatever happens."""
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            rid = open_revision(conn, actor="test", reason="test", kind="redrawGrid")
            for sql, params in writes:
                conn.exec_driver_sql(sql, params)
            close_revision(conn, rid)
        finally:
            trans.rollback()


UPDATE = "UPDATE grid SET geom = ST_Multi(ST_GeomFromText(%(w)s, 4326)) WHERE code = %(c)s"


def test_check_refuses_a_vertex_left_on_the_county_edge(edit_engine: Engine) -> None:
    """What the old split wrote: both pieces keep the cut's end x on the county edge. Planar
    overlay sees nothing outside; the revision check refuses it all the same."""
    code, _p1, x, _p2, line = _county_edge_case(edit_engine)
    g = grid_shape(edit_engine, code)
    a, b = reshape.split(g, shapely.geometry.shape(line))
    c = shapely.Point(x)
    # put x back where the cut ended: exactly on the edge, a vertex of both pieces
    moved = {tuple(v) for p in (a, b) for v in shapely.get_coordinates(p)
             if shapely.Point(v).distance(c) < 2 * GRID_SIZE and tuple(v) not in
             {tuple(w) for w in shapely.get_coordinates(g)}}
    assert moved

    def back(coords: Any) -> list[tuple[float, ...]]:
        return [x if tuple(v) in moved else tuple(v) for v in coords]

    a, b = (shapely.MultiPolygon([shapely.Polygon(back(p.exterior.coords),
                                                  [back(r.coords) for r in p.interiors])
                                  for p in shapely.get_parts(q)]) for q in (a, b))
    a = shapely.difference(g, b)  # an exact tiling of the grid again
    county = _county(edit_engine)
    assert m2(shapely.difference(a, county)) < 1e-6 and m2(shapely.difference(b, county)) < 1e-6
    assert _on_outline(b, county) == [x]
    fp = fingerprint(edit_engine)
    with pytest.raises(InvalidGeometry) as err:
        _write_and_close(edit_engine, [
            (UPDATE, {"w": a.wkt, "c": code}),
            ("INSERT INTO grid (code, name, community_id, zone_id, geom) SELECT %(n)s, name, community_id, "
             "zone_id, ST_Multi(ST_GeomFromText(%(w)s, 4326)) FROM grid WHERE code = %(c)s",
             {"n": code[:12] + "999", "w": b.wkt, "c": code})])
    assert any(p["problem"] == "AREA_NOT_KEPT" for p in err.value.details), err.value.details
    assert fingerprint(edit_engine) == fp


def test_check_refuses_land_pushed_outside_the_county(edit_engine: Engine) -> None:
    """A grid on the county edge written 2 m beyond it (past the reshape code's own check)."""
    code, p1, _x, p2, _line = _county_edge_case(edit_engine)
    g = grid_shape(edit_engine, code)
    beyond = shapely.difference(shapely.LineString([p1, p2]).buffer(2 / 111_320), _county(edit_engine))
    grown = shapely.set_precision(shapely.union(g, beyond), GRID_SIZE)
    assert m2(shapely.difference(grown, _county(edit_engine))) > 100
    fp = fingerprint(edit_engine)
    with pytest.raises(InvalidGeometry) as err:
        _write_and_close(edit_engine, [(UPDATE, {"w": grown.wkt, "c": code})])
    problems = {p["problem"] for p in err.value.details}
    assert {"OUTSIDE_COUNTY", "OUTSIDE_COMMUNITY", "AREA_NOT_KEPT"} <= problems, problems
    assert fingerprint(edit_engine) == fp
