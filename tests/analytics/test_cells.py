"""Analysis cells (H3 and squares) against Shapely counts over the exported points."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from tests.analytics.conftest import grid_units

CELLS = """query($k: CellKind!, $r: Int, $s: Float, $st: String, $b: [Float!], $p: GeoJSON) {
  analysisCells(kind: $k, resolution: $r, sizeM: $s, station: $st, bbox: $b, polygon: $p) {
    kind count cells { id incidents population households geometry } featureCollection } }"""


@pytest.fixture(scope="module")
def points(engine):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        a = pd.read_sql_query(
            "SELECT ST_X(geom) AS x, ST_Y(geom) AS y, population, households, grid_id FROM address_point",
            conn,
        )
        i = pd.read_sql_query("SELECT ST_X(geom) AS x, ST_Y(geom) AS y, grid_id FROM incident", conn)
    return a, i


def _shapely_counts(cells: list[dict], pts: pd.DataFrame, weight: str | None) -> list[int]:
    geoms = [shapely.geometry.shape(c["geometry"]) for c in cells]
    arr = shapely.points(pts.x.to_numpy(), pts.y.to_numpy())
    tree = shapely.STRtree(arr)
    out = []
    for g in geoms:
        idx = tree.query(g, predicate="intersects")  # inside or on the edge
        out.append(int(pts[weight].to_numpy()[idx].sum()) if weight else len(idx))
    return out


def test_square_cells_over_a_bbox(gql, points) -> None:
    addr, inc = points
    minx, miny = addr.x.quantile(0.3), addr.y.quantile(0.3)
    bbox = [float(minx), float(miny), float(minx + 0.08), float(miny + 0.06)]
    r = gql(CELLS, {"k": "SQUARE", "s": 2000.0, "b": bbox})
    assert "errors" not in r, r
    cells = r["data"]["analysisCells"]["cells"]
    assert r["data"]["analysisCells"]["count"] == len(cells) > 4
    # squares of about 2 km (within 0.5 % on the ellipsoid)
    from tests.analytics.conftest import ellipsoid_area_m2

    g0 = shapely.geometry.shape(cells[0]["geometry"])
    assert ellipsoid_area_m2(g0) == pytest.approx(4e6, rel=5e-3)
    # the cells cover the bbox, do not overlap
    union = shapely.union_all([shapely.geometry.shape(c["geometry"]) for c in cells])
    assert union.covers(shapely.box(*bbox))
    assert union.area == pytest.approx(sum(shapely.geometry.shape(c["geometry"]).area for c in cells))
    assert [c["population"] for c in cells] == _shapely_counts(cells, addr, "population")
    assert [c["households"] for c in cells] == _shapely_counts(cells, addr, "households")
    assert [c["incidents"] for c in cells] == _shapely_counts(cells, inc, None)
    fc = r["data"]["analysisCells"]["featureCollection"]
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == len(cells)
    assert sum(c["incidents"] for c in cells) > 0


def test_hex_cells_over_a_station(gql, frames, points) -> None:
    addr, inc = points
    gu = grid_units(frames)
    st = frames["station"].iloc[0]
    r = gql(CELLS, {"k": "HEX", "r": 7, "st": st.code})
    assert "errors" not in r, r
    cells = r["data"]["analysisCells"]["cells"]
    assert all(h3.get_resolution(c["id"]) == 7 for c in cells)
    mine = set(gu[gu.station == st.id].grid)
    a = addr[addr.grid_id.isin(mine)]
    i = inc[inc.grid_id.isin(mine)]
    # every point of the station (by membership) is counted once, in the H3 cell containing it
    exp_pop = (
        a.assign(c=[h3.latlng_to_cell(y, x, 7) for x, y in zip(a.x, a.y, strict=True)])
        .groupby("c")
        .population.sum()
    )
    exp_inc = (
        i.assign(c=[h3.latlng_to_cell(y, x, 7) for x, y in zip(i.x, i.y, strict=True)]).groupby("c").size()
    )
    got_pop = {c["id"]: c["population"] for c in cells}
    got_inc = {c["id"]: c["incidents"] for c in cells}
    assert {k: v for k, v in got_pop.items() if v} == {k: int(v) for k, v in exp_pop.items() if v}
    assert {k: v for k, v in got_inc.items() if v} == {k: int(v) for k, v in exp_inc.items()}
    # and agrees with Shapely point-in-hexagon, but for points within 1e-7° of a cell edge
    geoms = {c["id"]: shapely.geometry.shape(c["geometry"]) for c in cells}
    for cid, g in list(geoms.items())[:40]:
        pts = shapely.points(a.x.to_numpy(), a.y.to_numpy())
        inside = shapely.contains(g, pts)
        near = shapely.dwithin(g.boundary, pts, 1e-7)
        assert (
            int(a.population.to_numpy()[inside & ~near].sum())
            <= got_pop[cid]
            <= int(a.population.to_numpy()[inside | near].sum())
        )
    # the hexagons cover the station outline
    assert np.isclose(sum(got_pop.values()), a.population.sum())


def test_cells_over_a_polygon_and_bad_input(gql, points) -> None:
    addr, _ = points
    x, y = float(addr.x.median()), float(addr.y.median())
    poly = shapely.geometry.mapping(shapely.Point(x, y).buffer(0.03))
    r = gql(CELLS, {"k": "HEX", "r": 8, "p": poly})
    assert "errors" not in r, r
    assert r["data"]["analysisCells"]["count"] > 10
    for variables, needle in [
        ({"k": "HEX", "r": 16, "p": poly}, "resolution"),
        ({"k": "HEX", "p": poly}, "resolution"),
        ({"k": "SQUARE", "s": -5.0, "p": poly}, "size"),
        ({"k": "HEX", "r": 15, "b": [100, 20, 120, 40]}, "at most"),
        ({"k": "HEX", "r": 7}, "exactly one"),
        ({"k": "HEX", "r": 7, "st": "NOPE"}, "no station"),
        ({"k": "HEX", "r": 7, "p": {"type": "Point", "coordinates": [x, y]}}, "Polygon"),
    ]:
        res = gql(CELLS, variables)
        assert res.get("data") is None, variables
        assert needle in res["errors"][0]["message"], (variables, res["errors"][0]["message"])
        assert res["errors"][0]["extensions"]["code"] in ("BAD_USER_INPUT", "NOT_FOUND")
