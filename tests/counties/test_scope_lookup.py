"""A county-scoped token on the lookups beyond ``responsibleFor`` (issue 11): the bulk
``responsibleForMany``, ``GET /api/responsible`` and a point's ``nearest`` / ``neighbours`` —
points of its county answered as for anyone, points of another county marked outside its scope
with no code of that county; checked against a Shapely oracle over the demo's grids."""

from __future__ import annotations

from typing import Any

import pytest
import shapely
from shapely.geometry import Point

MANY = """query($p: Coordinates!) { responsibleForMany(points: $p) { count resolved gridCodes
  zoneCodes stationCodes communityCodes onBoundary nearestGridCodes nearestDistanceM
  outsideScope } }"""


def _grid_at(demos: list[Any], x: float, y: float) -> str | None:
    """The oracle: the grid whose polygon holds the point (points are chosen well inside)."""
    p = Point(x, y)
    hits = [g.code for d in demos for g in d.grids if g.geom.contains(p)]
    assert len(hits) <= 1
    return hits[0] if hits else None


@pytest.fixture(scope="module")
def points(pref_demos: list[Any]) -> dict[str, tuple[float, float]]:
    """Points of each county (station seats: inside a grid), and one outside every grid whose
    nearest grid is in 达川区 (511703), a few metres beyond its outer edge."""
    a, b = pref_demos
    union_a = shapely.union_all([g.geom for g in a.grids])
    union_b = shapely.union_all([g.geom for g in b.grids])
    out = None
    for x, y in list(union_b.exterior.coords)[::7]:
        if union_a.distance(Point(x, y)) < 0.05:  # not near the shared border
            continue
        c = union_b.centroid
        dx, dy = x - c.x, y - c.y
        n = (dx * dx + dy * dy) ** 0.5
        q = Point(x + dx / n * 0.0003, y + dy / n * 0.0003)  # ~30 m outward
        if not union_b.covers(q) and not union_a.covers(q) and union_b.distance(q) > 0.0001:
            out = (q.x, q.y)
            break
    assert out is not None
    return {"a": (a.stations[0].seat.x, a.stations[0].seat.y),
            "b": (b.stations[0].seat.x, b.stations[0].seat.y), "b_out": out}


def test_bulk_lookup_answers_only_the_tokens_county(pref_gql, pref_demos: list[Any], token,
                                                    points: dict[str, tuple[float, float]]) -> None:
    pts = [list(points[k]) for k in ("a", "b", "b_out")]
    expect_a, expect_b = (_grid_at(pref_demos, *points[k]) for k in ("a", "b"))
    assert expect_a is not None and expect_a.startswith("511702")
    assert expect_b is not None and expect_b.startswith("511703")
    assert _grid_at(pref_demos, *points["b_out"]) is None

    wide = pref_gql(MANY, {"p": pts}, token("viewer").secret)["data"]["responsibleForMany"]
    assert wide["gridCodes"] == [expect_a, expect_b, None]
    assert wide["resolved"] == 2 and wide["outsideScope"] == [False, False, False]
    assert wide["nearestGridCodes"][2] is not None and wide["nearestGridCodes"][2].startswith("511703")

    mine = pref_gql(MANY, {"p": pts}, token("viewer", county="511702").secret)
    got = mine["data"]["responsibleForMany"]
    assert got["count"] == 3 and got["resolved"] == 1
    assert got["gridCodes"] == [expect_a, None, None]
    assert got["outsideScope"] == [False, True, True]
    for col in ("zoneCodes", "stationCodes", "communityCodes", "nearestGridCodes",
                "nearestDistanceM"):
        assert got[col][1:] == [None, None], col  # nothing of the other county
    assert got["zoneCodes"][0] == wide["zoneCodes"][0]
    assert got["onBoundary"][1:] == [False, False]

    theirs = pref_gql(MANY, {"p": pts}, token("viewer", county="511703").secret)
    got = theirs["data"]["responsibleForMany"]
    assert got["gridCodes"] == [None, expect_b, None]
    assert got["outsideScope"] == [True, False, False]
    assert got["nearestGridCodes"][2] == wide["nearestGridCodes"][2]  # its own nearest grid


def test_nearest_and_neighbours_stay_in_the_tokens_county(pref_gql, token, points) -> None:
    q = """query($lon: Float!, $lat: Float!) { responsibleFor(lon: $lon, lat: $lat) {
      grid { code } nearest { grid { code } } neighbours(withinM: 1000) { grid { code } } } }"""
    lon, lat = points["b_out"]
    wide = pref_gql(q, {"lon": lon, "lat": lat}, token("viewer").secret)["data"]["responsibleFor"]
    assert wide["grid"] is None and wide["nearest"]["grid"]["code"].startswith("511703")
    assert any(n["grid"]["code"].startswith("511703") for n in wide["neighbours"])
    mine = pref_gql(q, {"lon": lon, "lat": lat}, token("viewer", county="511702").secret)
    got = mine["data"]["responsibleFor"]
    assert got["grid"] is None and got["nearest"] is None
    assert all(n["grid"]["code"].startswith("511702") for n in got["neighbours"])
    theirs = pref_gql(q, {"lon": lon, "lat": lat}, token("viewer", county="511703").secret)
    assert theirs["data"]["responsibleFor"]["nearest"] == wide["nearest"]


@pytest.mark.parametrize("via", ["index", "sql"])
def test_rest_lookup_refuses_another_county(pref_client, pref_demos, token, points,
                                           via: str) -> None:
    mine = {"Authorization": f"Bearer {token('viewer', county='511702').secret}"}

    def get(k: str, headers: dict[str, str]) -> Any:
        lon, lat = points[k]
        return pref_client.get("/api/responsible", params={"lon": lon, "lat": lat, "via": via},
                               headers=headers)

    ok = get("a", mine)
    assert ok.status_code == 200 and ok.json()["grid"]["code"] == _grid_at(pref_demos, *points["a"])
    no = get("b", mine)
    assert no.status_code == 403 and no.json()["error"]["code"] == "FORBIDDEN"
    assert "511703" not in no.text  # names nothing of the other county
    out = get("b_out", mine)
    assert out.status_code == 200 and out.json()["grid"] is None and out.json()["nearest"] is None
    wide = get("b", {"Authorization": f"Bearer {token('viewer').secret}"})
    assert wide.status_code == 200 and wide.json()["grid"]["code"].startswith("511703")


def test_a_point_on_the_county_border_is_in_exactly_one_tokens_scope(
        pref_gql, pref_demos: list[Any], token) -> None:
    """The boundary rule (smallest code among the grids within 1e-7°) picks the county too."""
    ua = shapely.union_all([g.geom for g in pref_demos[0].grids])
    ub = shapely.union_all([g.geom for g in pref_demos[1].grids])
    shared = shapely.line_merge(shapely.intersection(ua.boundary, ub.boundary))
    line = shared.geoms[0] if hasattr(shared, "geoms") else shared
    p = line.interpolate(0.37, normalized=True)
    near = sorted(g.code for d in pref_demos for g in d.grids if g.geom.distance(p) <= 1e-7)
    assert {c[:6] for c in near} == {"511702", "511703"}  # it touches both counties' grids
    winner = near[0]
    pts = [[p.x, p.y]]
    wide = pref_gql(MANY, {"p": pts}, token("viewer").secret)["data"]["responsibleForMany"]
    assert wide["gridCodes"] == [winner] and wide["onBoundary"] == [True]
    for county in ("511702", "511703"):
        got = pref_gql(MANY, {"p": pts}, token("viewer", county=county).secret)
        col = got["data"]["responsibleForMany"]
        mine = winner[:6] == county
        assert col["gridCodes"] == [winner if mine else None]
        assert col["outsideScope"] == [not mine]
