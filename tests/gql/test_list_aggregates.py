"""Aggregates over a list's filtered set (count, sum, avg; grouped by a field or a parent unit)
checked against pandas over the plain rows, Shapely for "inside a drawn polygon" and pyproj's
geodesic areas; bad input and figures that are current only give typed errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from sqlalchemy import text


def _frame(conn: Any, sql: str) -> pd.DataFrame:
    return pd.DataFrame([dict(r._mapping) for r in conn.execute(text(sql))])


@pytest.fixture(scope="module")
def rows(engine) -> dict[str, pd.DataFrame]:
    with engine.connect() as conn:
        out = {
            "ap": _frame(conn, "SELECT code, population, households, grid_id, "
                               "ST_X(geom) AS x, ST_Y(geom) AS y FROM address_point"),
            "inc": _frame(conn, "SELECT code, category, grid_id FROM incident"),
            "grid": _frame(conn, "SELECT id, code, zone_id, community_id, ST_AsBinary(geom) AS wkb "
                                 "FROM grid"),
            "zone": _frame(conn, "SELECT id, code, station_id FROM zone"),
            "station": _frame(conn, "SELECT id, code FROM station"),
        }
    out["grid"]["geom"] = shapely.from_wkb(out["grid"].pop("wkb").map(bytes))
    return out


def _data(out: dict) -> dict:
    assert "errors" not in out, out["errors"]
    return out["data"]


def test_population_inside_a_drawn_polygon(gql, rows) -> None:
    ap, g = rows["ap"], rows["grid"]
    c = shapely.union_all(g.geom).centroid
    poly = shapely.Polygon([(c.x - 0.05, c.y - 0.03), (c.x + 0.04, c.y - 0.04),
                            (c.x + 0.05, c.y + 0.05), (c.x - 0.03, c.y + 0.04)])
    gj = {"type": "Polygon", "coordinates": [[list(p) for p in poly.exterior.coords]]}
    inside = ap[shapely.within(shapely.points(ap.x, ap.y), poly)]
    assert len(inside) > 10
    d = _data(gql("query($p: GeoJSON!) { addressPoints(filter: {location: {within: $p}}) { "
                  "totalCount aggregates { count sum { population households incidents areaKm2 } "
                  "avg { population } } } }", {"p": gj}))["addressPoints"]
    a = d["aggregates"]
    assert a["count"] == d["totalCount"] == len(inside)
    assert a["sum"] == {"population": int(inside.population.sum()),
                        "households": int(inside.households.sum()),
                        "incidents": None, "areaKm2": None}
    assert a["avg"]["population"] == pytest.approx(inside.population.mean())


def test_grid_figures_against_pandas_and_geodesic_area(gql, rows) -> None:
    ap, inc, g = rows["ap"], rows["inc"], rows["grid"]
    codes = sorted(g.code)[:25]
    sel = g[g.code.isin(codes)]
    ids = set(sel.id)
    geod = pyproj.Geod(ellps="WGS84")
    area_km2 = sum(abs(geod.geometry_area_perimeter(x)[0]) for x in sel.geom) / 1e6
    d = _data(gql("query($c: [String!]) { grids(codes: $c) { aggregates { count sum { population "
                  "households incidents areaKm2 } avg { incidents areaKm2 } } } }",
                  {"c": codes}))["grids"]["aggregates"]
    assert d["count"] == 25
    assert d["sum"]["population"] == int(ap.population[ap.grid_id.isin(ids)].sum())
    assert d["sum"]["households"] == int(ap.households[ap.grid_id.isin(ids)].sum())
    assert d["sum"]["incidents"] == int(inc.grid_id.isin(ids).sum())
    assert d["sum"]["areaKm2"] == pytest.approx(area_km2, rel=1e-6)
    assert d["avg"]["incidents"] == pytest.approx(inc.grid_id.isin(ids).sum() / 25)


def test_incident_counts_grouped_by_zone_and_category(gql, rows) -> None:
    inc, g, z = rows["inc"], rows["grid"], rows["zone"]
    zone_of_grid = dict(zip(g.id, g.zone_id.map(dict(zip(z.id, z.code, strict=True))), strict=True))
    keys = inc.grid_id.map(zone_of_grid)
    want = keys.value_counts().sort_index()
    d = _data(gql("{ incidents { groupedAggregates(groupBy: ZONE) { key count } } }"))
    got = d["incidents"]["groupedAggregates"]
    expect = [{"key": k, "count": int(v)} for k, v in want.items()]
    if keys.isna().any():
        expect.append({"key": None, "count": int(keys.isna().sum())})
    assert got == expect
    cat = sorted(inc.category.unique())[0]
    d = _data(gql("query($c: String!) { incidents(filter: {category: {eq: $c}}) { "
                  "groupedAggregates(groupBy: CATEGORY) { key count } } }", {"c": cat}))
    assert d["incidents"]["groupedAggregates"] == [
        {"key": cat, "count": int((inc.category == cat).sum())}]


def test_zone_population_grouped_by_station(gql, rows) -> None:
    ap, g, z, s = rows["ap"], rows["grid"], rows["zone"], rows["station"]
    station_of_zone = dict(zip(z.id, z.station_id.map(dict(zip(s.id, s.code, strict=True))),
                               strict=True))
    zone_of_grid = dict(zip(g.id, g.zone_id, strict=True))
    pop = ap.groupby(ap.grid_id.map(zone_of_grid).map(station_of_zone)).population.sum()
    zones_per = z.station_id.map(dict(zip(s.id, s.code, strict=True))).value_counts()
    d = _data(gql("{ zones { groupedAggregates(groupBy: STATION) { key count sum { population } "
                  "} } }"))["zones"]["groupedAggregates"]
    assert [x["key"] for x in d] == sorted(zones_per.index)
    for x in d:
        assert x["count"] == zones_per[x["key"]]
        assert x["sum"]["population"] == int(pop.get(x["key"], 0))


@pytest.mark.parametrize("query, needle", [
    ("{ grids { groupedAggregates(groupBy: CATEGORY) { key } } }", "group by"),
    ("{ grids(asOf: \"2020-01-01T00:00:00Z\") { aggregates { sum { population } } } }",
     "current only"),
    ("{ grids { groupedAggregates(groupBy: NOPE) { key } } }", "NOPE"),
])
def test_bad_input(gql, query, needle) -> None:
    out = gql(query)
    err = out["errors"][0]
    assert needle in err["message"]
    assert err["extensions"]["code"] in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED")


def test_as_of_counts_and_areas_follow_the_source(gql, rows) -> None:
    d = _data(gql("{ grids(asOf: \"2100-01-01T00:00:00Z\") { totalCount aggregates { count "
                  "sum { areaKm2 } } } }"))["grids"]
    assert d["aggregates"]["count"] == d["totalCount"]
    assert d["aggregates"]["sum"]["areaKm2"] > 0
    assert np.isfinite(d["aggregates"]["sum"]["areaKm2"])
