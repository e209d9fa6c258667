"""Two counties in one database (issue 11): the boundary rule on their shared border against a
Shapely oracle, and responsibleFor, sizing, tiles, OGC API and the web map across the border."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
from sqlalchemy import Engine, text

from jurisgrid.auth.tokens import issue_token
from jurisgrid.tiles.layers import tile_of
from tests.counties.conftest import COUNTIES
from tests.oracle import Grids, export_grids, oracle
from tests.tiles.conftest import decode, feature_lonlat

BATCH = """query($p: Coordinates!) { responsibleForMany(points: $p) {
  count gridCodes stationCodes onBoundary } }"""


@pytest.fixture(scope="module")
def grids(pref_engine: Engine) -> Grids:
    return export_grids(pref_engine)


@pytest.fixture(scope="module")
def border(pref_demos: list[Any]) -> np.ndarray:
    """Points on the border the two counties share: its vertices and segment midpoints."""
    a, b = (d.outline for d in pref_demos)
    shared = shapely.intersection(a.boundary, b.boundary)
    pts = []
    for line in shapely.get_parts(shapely.line_merge(shared)):
        c = shapely.get_coordinates(line)
        if len(c) > 1:
            pts += [c, (c[:-1] + c[1:]) / 2]
    return np.unique(np.vstack(pts), axis=0)


def _county_of(code: str) -> str:
    return code[:6]


def test_a_point_on_the_county_border_has_exactly_one_grid(pref_gql, grids: Grids,
                                                            border: np.ndarray) -> None:
    assert len(border) > 100
    want, want_boundary = oracle(grids, border[:, 0], border[:, 1])
    assert all(w is not None for w in want)
    # each such point is within the tolerance of a grid on either side of the border
    tree = shapely.STRtree(grids.geoms)
    sides = set()
    for x, y in border[:50]:
        p = shapely.Point(x, y)
        near = [grids.codes[i] for i in tree.query(p.buffer(2e-7)) if grids.geoms[i].distance(p) <= 1e-7]
        sides |= {_county_of(c) for c in near}
    assert sides == set(COUNTIES)
    got: list[str | None] = []
    flags: list[bool] = []
    for chunk in np.array_split(border, max(1, len(border) // 2000)):
        out = pref_gql(BATCH, {"p": chunk.tolist()})["data"]["responsibleForMany"]
        got += out["gridCodes"]
        flags += out["onBoundary"]
    assert got == want
    assert flags == want_boundary and all(flags)


def test_responsible_for_names_each_countys_units(pref_gql, pref_demos: list[Any]) -> None:
    q = """query($lon: Float!, $lat: Float!) { responsibleFor(lon: $lon, lat: $lat) {
      grid { code } station { code name } township { code } } }"""
    for d in pref_demos:
        seat = d.stations[0].seat  # a station seat lies strictly inside a grid of its county
        r = pref_gql(q, {"lon": seat.x, "lat": seat.y})["data"]["responsibleFor"]
        assert r["grid"]["code"].startswith(d.code) and r["township"]["code"].startswith(d.code)
        assert r["station"]["name"].startswith(d.name)


def test_sizing_per_county_and_across(pref_gql, pref_demos: list[Any]) -> None:
    q = """query($c: String) { sizingReport(scope: COUNTY, code: $c) { zones { zone } } }"""
    every = {z["zone"] for z in pref_gql("{ sizingReport { zones { zone } } }")
             ["data"]["sizingReport"]["zones"]}
    assert every == {z.code for d in pref_demos for z in d.zones}
    for d in pref_demos:
        zones = {z["zone"] for z in pref_gql(q, {"c": d.code})["data"]["sizingReport"]["zones"]}
        assert zones == {z.code for z in d.zones}
    stats = pref_gql("""{ counties { edges { node { code stats { population } } } } }""")
    pops = {e["node"]["code"]: e["node"]["stats"]["population"]
            for e in stats["data"]["counties"]["edges"]}
    for d in pref_demos:
        assert pops[d.code] == int(d.addresses.population.sum())


def test_tile_across_the_border_holds_both_counties(pref_client, grids: Grids,
                                                     border: np.ndarray) -> None:
    z = 12
    x, y = tile_of(float(border[len(border) // 2, 0]), float(border[len(border) // 2, 1]), z)
    res = pref_client.get(f"/tiles/grids/{z}/{x}/{y}.mvt")
    assert res.status_code == 200
    feats = decode(res.content)["grids"]["features"]
    codes = {f["properties"]["code"] for f in feats}
    assert {_county_of(c) for c in codes} == set(COUNTIES)
    by_code = dict(zip(grids.codes, grids.geoms, strict=True))
    for f in feats[:20]:  # each drawn grid lies where the grid is (tile precision)
        g = feature_lonlat(f, z, x, y)
        assert g.representative_point().distance(by_code[f["properties"]["code"]]) < 1e-3


def test_ogc_items_across_the_border(pref_client, grids: Grids, border: np.ndarray) -> None:
    x, y = border[len(border) // 2]
    bbox = (x - 0.01, y - 0.01, x + 0.01, y + 0.01)
    want = {c for c, g in zip(grids.codes, grids.geoms, strict=True)
            if g.intersects(shapely.box(*bbox))}
    res = pref_client.get("/ogc/collections/grids/items",
                          params={"bbox": ",".join(map(str, bbox)), "limit": 1000})
    assert res.status_code == 200
    got = {f["properties"]["code"] for f in res.json()["features"]}
    assert got == want and {_county_of(c) for c in got} == set(COUNTIES)
    collections = pref_client.get("/ogc/collections/grids").json()
    w, s, e, n = collections["extent"]["spatial"]["bbox"][0]
    x0, y0, x1, y1 = shapely.total_bounds(grids.geoms)
    assert w <= x0 + 1e-6 and s <= y0 + 1e-6 and e >= x1 - 1e-6 and n >= y1 - 1e-6


def test_web_map_reads_every_county(pref_client, pref_gql) -> None:
    assert pref_client.get("/").status_code == 200
    js = pref_client.get("/static/js/map.js").text
    assert "counties(first: 100)" in js and "setTimeZone" in js
    out = pref_gql("{ counties(first: 100) { edges { node { code name timeZone "
                   "outline(simplify: 20, precision: 5) } } } }")
    nodes = [e["node"] for e in out["data"]["counties"]["edges"]]
    assert [n["code"] for n in nodes] == COUNTIES
    assert all(n["outline"]["type"] in ("Polygon", "MultiPolygon") for n in nodes)
    assert {n["timeZone"] for n in nodes} == {"Asia/Shanghai"}


SPLIT = """mutation($g: String!, $l: GeoJSON!) { splitGrid(grid: $g, line: $l, reason: "test",
  dryRun: true) { __typename ... on EditSuccess { impact { grids } }
  ... on ValidationError { code message } } }"""


def test_a_grid_on_the_county_border_can_be_split(pref_gql, pref_demos: list[Any],
                                                  pref_engine: Engine) -> None:
    """The edit's coverage checks run over an envelope that takes in the other county: they
    pass only if the two counties' grids meet exactly (no gap, no overlap along the border)."""
    a, b = pref_demos
    other = shapely.union_all([g.geom for g in b.grids])
    g = max((g for g in a.grids if shapely.intersection(g.geom.boundary, other.boundary).length > 0),
            key=lambda g: shapely.intersection(g.geom.boundary, other.boundary).length)
    x0, _, x1, _ = g.geom.bounds
    c = g.geom.representative_point()
    line = {"type": "LineString", "coordinates": [[x0 - 0.01, c.y], [x1 + 0.01, c.y]]}
    with pref_engine.begin() as conn:
        t = issue_token(conn, role="editor", label="split")
    try:
        out = pref_gql(SPLIT, {"g": g.code, "l": line}, t.secret)["data"]["splitGrid"]
    finally:
        with pref_engine.begin() as conn:
            conn.execute(text("DELETE FROM api_token WHERE id = :i"), {"i": t.id})
    assert out["__typename"] == "EditSuccess", out
    assert g.code in out["impact"]["grids"]
