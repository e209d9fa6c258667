"""Bad input to the mutations: each case gets the right typed error, and the database is
unchanged (fingerprint of every editable table and the revision log, before and after)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.editing.helpers import fingerprint, grid_shape

REDRAW = """mutation($grid: String!, $g: GeoJSON!, $exp: Int) {
  redrawGrid(grid: $grid, geometry: $g, expectedRevision: $exp) {
    __typename ... on EditError { code message details } } }"""
REASSIGN = """mutation($grids: [String!]!, $zone: String!, $exp: Int) {
  reassignGrids(grids: $grids, toZone: $zone, expectedRevision: $exp) {
    __typename ... on EditError { code message details }
    ... on ConflictError { currentRevision } ... on EditSuccess { revision { id } } } }"""


@pytest.fixture
def some_grid(edit_engine) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """A grid, a zone of another station, and that grid's station."""
    with edit_engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT g.code, (SELECT z2.code FROM zone z2 WHERE z2.station_id <> z.station_id ORDER "
            "BY z2.code LIMIT 1), "
            "s.code FROM grid g JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id "
            "ORDER BY g.code DESC LIMIT 1")).one())  # type: ignore[return-value]


def _ring(engine, code: str) -> list[list[float]]:  # type: ignore[no-untyped-def]
    g = grid_shape(engine, code)
    poly = g.geoms[0] if g.geom_type == "MultiPolygon" else g
    return [list(c) for c in poly.exterior.coords]


def _redraw_case(engine, code: str, case: str) -> dict:  # type: ignore[no-untyped-def]
    ring = _ring(engine, code)
    x0, y0 = ring[0]
    if case == "self_intersecting":
        d = 0.001
        bowtie = [[x0, y0], [x0 + d, y0 + d], [x0 + d, y0], [x0, y0 + d], [x0, y0]]
        return {"type": "Polygon", "coordinates": [bowtie]}
    if case == "unclosed":
        return {"type": "Polygon", "coordinates": [ring[:-1]]}
    if case == "wrong_type":
        return {"type": "LineString", "coordinates": ring}
    if case == "swapped":
        return {"type": "Polygon", "coordinates": [[[y, x] for x, y in ring]]}
    if case == "outside_county":
        return {"type": "Polygon", "coordinates": [[[x + 1.0, y] for x, y in ring]]}
    if case == "too_many_vertices":
        # over the 100,000-vertex cap, under the 8 MB request-body limit (a million would be
        # refused before GraphQL with PAYLOAD_TOO_LARGE: tests/gql/test_limits.py)
        n = 150_000
        pts = [[x0 + 0.001 * (k / n), y0] for k in range(n)] + [[x0 + 0.001, y0 + 0.001], [x0, y0]]
        return {"type": "Polygon", "coordinates": [pts]}
    raise AssertionError(case)


@pytest.mark.parametrize("case, code", [
    ("self_intersecting", "INVALID_GEOMETRY"),
    ("unclosed", "INVALID_GEOMETRY"),
    ("wrong_type", "INVALID_GEOMETRY"),
    ("swapped", "INVALID_GEOMETRY"),
    ("outside_county", "INVALID_GEOMETRY"),
    ("too_many_vertices", "INVALID_GEOMETRY"),
])
def test_bad_geometry_is_a_validation_error_and_writes_nothing(  # type: ignore[no-untyped-def]
        edit_engine, egql, some_grid, case, code) -> None:
    expected_problem = {"self_intersecting": "INVALID_GEOMETRY", "unclosed": "UNCLOSED_RING",
                        "wrong_type": "WRONG_TYPE", "swapped": "COORDINATE_RANGE",
                        "outside_county": "OUTSIDE_COUNTY", "too_many_vertices": "TOO_MANY_VERTICES"}[case]
    before = fingerprint(edit_engine)
    r = egql(REDRAW, {"grid": some_grid[0], "g": _redraw_case(edit_engine, some_grid[0], case)})["redrawGrid"]
    assert r["__typename"] == "ValidationError", r
    assert r["code"] == code and r["details"][0]["problem"] == expected_problem, r
    if case == "swapped":
        assert "[lat, lon]" in r["message"]
    if case == "self_intersecting":
        assert "Self-intersection" in r["message"]
    assert fingerprint(edit_engine) == before


def test_repair_true_repairs_and_reports(edit_engine, egql, some_grid) -> None:
    """The grid's own outline with a zero-width spike (invalid: self-intersection); repaired it
    is the grid again, so the dry run succeeds and reports the repair."""
    q = """mutation($grid: String!, $g: GeoJSON!, $repair: Boolean!) {
      redrawGrid(grid: $grid, geometry: $g, repair: $repair, dryRun: true) {
      __typename ... on EditSuccess { repairs revision { id } }
      ... on EditError { code message details } } }"""
    ring = _ring(edit_engine, some_grid[0])
    c = grid_shape(edit_engine, some_grid[0]).representative_point()
    spike = [round((ring[1][0] + c.x) / 2, 7), round((ring[1][1] + c.y) / 2, 7)]
    g = {"type": "Polygon", "coordinates": [[*ring[:2], spike, ring[1], *ring[2:]]]}
    before = fingerprint(edit_engine)
    r = egql(q, {"grid": some_grid[0], "g": g, "repair": False})["redrawGrid"]
    assert r["__typename"] == "ValidationError" and "repair: true" in r["message"], r
    r = egql(q, {"grid": some_grid[0], "g": g, "repair": True})["redrawGrid"]
    assert r["__typename"] == "EditSuccess", r
    assert r["repairs"] and "repaired" in r["repairs"][0] and r["revision"] is None
    assert fingerprint(edit_engine) == before


def test_unknown_codes_are_not_found(edit_engine, egql, some_grid) -> None:  # type: ignore[no-untyped-def]
    before = fingerprint(edit_engine)
    r = egql(REASSIGN, {"grids": [some_grid[0], "999999999999999"], "zone": some_grid[1]})["reassignGrids"]
    assert r["__typename"] == "NotFound" and r["details"] == [{"kind": "grid", "code": "999999999999999"}]
    r = egql(REASSIGN, {"grids": [some_grid[0]], "zone": "NO-SUCH-ZONE"})["reassignGrids"]
    assert r["__typename"] == "NotFound" and "NO-SUCH-ZONE" in r["message"]
    assert fingerprint(edit_engine) == before


def test_stale_revision_is_a_conflict(edit_engine, egql, some_grid) -> None:  # type: ignore[no-untyped-def]
    """A client that saw revision N edits a grid another edit changed after N: ConflictError."""
    grid, other_zone, _ = some_grid
    with edit_engine.connect() as conn:
        home = conn.execute(text("SELECT z.code FROM grid g JOIN zone z ON z.id = g.zone_id "
                                 "WHERE g.code = :g"), {"g": grid}).scalar_one()
    seen = egql("{ currentRevision }")["currentRevision"]
    moved = egql(REASSIGN, {"grids": [grid], "zone": other_zone, "exp": seen})["reassignGrids"]
    assert moved["__typename"] == "EditSuccess", moved
    before = fingerprint(edit_engine)
    r = egql(REASSIGN, {"grids": [grid], "zone": home, "exp": seen})["reassignGrids"]
    assert r["__typename"] == "ConflictError", r
    assert r["currentRevision"] == moved["revision"]["id"], r
    assert {"kind": "grid", "code": grid, "revision": moved["revision"]["id"]} in r["details"], r
    assert fingerprint(edit_engine) == before
    back = egql(REASSIGN, {"grids": [grid], "zone": home, "exp": moved["revision"]["id"]})
    assert back["reassignGrids"]["__typename"] == "EditSuccess", back


def test_viewer_is_forbidden(edit_engine, egql, some_grid) -> None:  # type: ignore[no-untyped-def]
    before = fingerprint(edit_engine)
    r = egql(REASSIGN, {"grids": [some_grid[0]], "zone": some_grid[1]}, who="viewer")["reassignGrids"]
    assert r["__typename"] == "ForbiddenError" and r["details"][0]["required"] == "editor", r
    assert fingerprint(edit_engine) == before


def test_editor_of_another_station_is_forbidden(edit_engine, egql, tokens) -> None:
    with edit_engine.connect() as conn:
        grid, zone = conn.execute(text(
            "SELECT g.code, (SELECT z2.code FROM zone z2 JOIN station s2 ON s2.id = z2.station_id "
            "WHERE s2.code NOT IN (:s, s.code) ORDER BY z2.code LIMIT 1) "
            "FROM grid g JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id "
            "WHERE s.code <> :s ORDER BY g.code LIMIT 1"), {"s": tokens["scoped_station"]}).one()
    before = fingerprint(edit_engine)
    r = egql(REASSIGN, {"grids": [grid], "zone": zone}, who="scoped")["reassignGrids"]
    assert r["__typename"] == "ForbiddenError" and r["details"][0]["grid"] == grid, r
    assert fingerprint(edit_engine) == before
