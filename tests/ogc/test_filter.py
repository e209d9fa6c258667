"""OGC API - Features - Part 3: CQL2 filters (text and JSON), property filters and sortby on
/ogc items, each checked against an independent computation: pandas over the collection's rows
and Shapely over the geometries read straight from the tables (full precision)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import pytest
import shapely
from sqlalchemy import text

ALL = 10_000


def _items(client, cid: str, **params) -> dict:  # type: ignore[no-untyped-def]
    res = client.get(f"/ogc/collections/{cid}/items", params={"limit": ALL, **params})
    assert res.status_code == 200, res.text
    return res.json()


def _ids(client, cid: str, **params) -> list[str]:  # type: ignore[no-untyped-def]
    doc = _items(client, cid, **params)
    assert doc["numberMatched"] == doc["numberReturned"] == len(doc["features"])
    return [f["id"] for f in doc["features"]]


@pytest.fixture(scope="module")
def grids(client, engine) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Every grid's properties (from the unfiltered API) and its geometry from the table."""
    rows = pd.DataFrame([f["properties"] for f in _items(client, "grids")["features"]])
    with engine.connect() as conn:
        geoms = {c: shapely.from_wkb(bytes(w)) for c, w in conn.execute(text(
            "SELECT code, ST_AsBinary(geom) FROM grid"))}
    rows["geom"] = rows["code"].map(geoms)
    assert len(rows) == len(geoms) > 20 and rows["geom"].notna().all()
    rows.index = pd.Index(rows["code"].to_numpy())
    return rows


@pytest.fixture(scope="module")
def incidents(client) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    rows = pd.DataFrame([f["properties"] for f in _items(client, "incidents")["features"]])
    rows["t"] = pd.to_datetime(rows["occurred_at"], utc=True, format="ISO8601")
    assert len(rows) > 20
    rows.index = pd.Index(rows["code"].to_numpy())
    return rows


def _expect(df: pd.DataFrame, mask: pd.Series) -> list[str]:
    return sorted(df.index[mask.to_numpy()].tolist())


def _box(df: pd.DataFrame, fx0: float, fy0: float, fx1: float, fy1: float) -> shapely.Polygon:
    x0, y0, x1, y1 = shapely.union_all(df["geom"].tolist()).bounds
    return shapely.box(x0 + (x1 - x0) * fx0, y0 + (y1 - y0) * fy0,
                       x0 + (x1 - x0) * fx1, y0 + (y1 - y0) * fy1)


def test_comparisons_and_logic_match_pandas(client, grids) -> None:  # type: ignore[no-untyped-def]
    pop, hh = grids["population"], grids["households"]
    m = int(pop.median())
    lo, hi = int(pop.quantile(0.25)), int(pop.quantile(0.75))
    zones = sorted(grids["zone_code"].unique())[:2]
    prefix = grids["name"].iloc[3][:2]
    cases: list[tuple[str, pd.Series]] = [
        (f"population > {m}", pop > m),
        (f"population >= {lo} AND households < {int(hh.median())}", (pop >= lo) & (hh < hh.median())),
        (f"NOT (population > {m}) OR zone_code = '{zones[0]}'",
         ~(pop > m) | (grids["zone_code"] == zones[0])),
        (f"population <> {m}", pop != m),
        (f"population BETWEEN {lo} AND {hi}", pop.between(lo, hi)),
        (f"population NOT BETWEEN {lo} AND {hi}", ~pop.between(lo, hi)),
        (f"zone_code IN ('{zones[0]}', '{zones[1]}')", grids["zone_code"].isin(zones)),
        (f"zone_code NOT IN ('{zones[0]}')", ~grids["zone_code"].isin(zones[:1])),
        (f"name LIKE '{prefix}%'", grids["name"].str.startswith(prefix)),
        (f"name NOT LIKE '%{prefix}%'", ~grids["name"].str.contains(prefix, regex=False)),
        ("code LIKE '%1_'", grids["code"].str.match(r"^.*1.$")),
        (f"casei(code) LIKE casei('{grids['code'].iloc[0].upper()}')",
         grids["code"].str.lower() == grids["code"].iloc[0].lower()),
        ("name IS NULL", grids["name"].isna()),
        ("name IS NOT NULL", grids["name"].notna()),
        ("population / households > 3", (hh > 0) & (pop / hh.where(hh > 0) > 3)),
        ("population > households * 3", pop > hh * 3),
        ("population + households - incidents >= 100", pop + hh - grids["incidents"] >= 100),
        ("INCLUDE", pop == pop),
        ("EXCLUDE", pop != pop),
    ]
    for cql, mask in cases:
        got = sorted(_ids(client, "grids", filter=cql))
        assert got == _expect(grids, mask), cql


def test_cql2_json_matches_cql2_text(client, grids) -> None:  # type: ignore[no-untyped-def]
    m = int(grids["population"].median())
    zone = grids["zone_code"].iloc[0]
    doc = {"op": "and", "args": [
        {"op": ">", "args": [{"property": "population"}, m]},
        {"op": "or", "args": [
            {"op": "=", "args": [{"property": "zone_code"}, zone]},
            {"op": "not", "args": [{"op": "like", "args": [{"property": "name"}, "%0%"]}]}]},
        {"op": "in", "args": [{"property": "zone_code"}, sorted(grids["zone_code"].unique())[:5]]},
        {"op": "between", "args": [{"property": "households"}, 0, 10_000]},
        {"op": "not", "args": [{"op": "isNull", "args": [{"property": "community_code"}]}]},
    ]}
    got = sorted(_ids(client, "grids", filter=json.dumps(doc), **{"filter-lang": "cql2-json"}))
    text_form = (f"population > {m} AND (zone_code = '{zone}' OR NOT name LIKE '%0%') AND zone_code IN "
                 f"({', '.join(repr(z) for z in sorted(grids['zone_code'].unique())[:5])}) AND "
                 "households BETWEEN 0 AND 10000 AND community_code IS NOT NULL")
    g = grids
    mask = ((g["population"] > m) & ((g["zone_code"] == zone) | ~g["name"].str.contains("0", regex=False))
            & g["zone_code"].isin(sorted(g["zone_code"].unique())[:5]) & g["households"].between(0, 10_000)
            & g["community_code"].notna())
    assert got == sorted(_ids(client, "grids", filter=text_form)) == _expect(grids, mask)
    assert got  # the case selects something


def test_spatial_operators_match_shapely(client, grids) -> None:  # type: ignore[no-untyped-def]
    box = _box(grids, 0.3, 0.3, 0.6, 0.55)
    inner = grids["geom"].iloc[len(grids) // 2]
    pt = inner.point_on_surface()
    wkt = box.wkt
    cases: list[tuple[str, Callable[[shapely.Geometry], bool]]] = [
        (f"S_INTERSECTS(geometry, {wkt})", box.intersects),
        (f"S_DISJOINT(geometry, {wkt})", box.disjoint),
        (f"S_WITHIN(geometry, {wkt})", lambda g: g.within(box)),
        (f"S_CONTAINS(geometry, {pt.wkt})", lambda g: g.contains(pt)),
        (f"S_INTERSECTS({pt.wkt}, geometry)", pt.intersects),
        (f"S_OVERLAPS(geometry, {wkt})", lambda g: g.overlaps(box)),
        (f"S_TOUCHES(geometry, {inner.wkt})", lambda g: g.touches(inner)),
        (f"S_EQUALS(geometry, {inner.wkt})", lambda g: g.equals(inner)),
        (f"S_CROSSES(geometry, LINESTRING({box.bounds[0]} {box.bounds[1]}, {box.bounds[2]} {box.bounds[3]}))",
         lambda g: g.crosses(shapely.LineString([box.bounds[:2], box.bounds[2:]]))),
        (f"RELATE(geometry, {wkt}, 'T********')", lambda g: g.relate_pattern(box, "T********")),
        (f"BBOX(geometry, {', '.join(map(str, box.bounds))})", box.intersects),
    ]
    for cql, pred in cases:
        expected = sorted(c for c, g in grids["geom"].items() if pred(g))
        assert sorted(_ids(client, "grids", filter=cql)) == expected, cql
    # the touching and equal cases are not empty: the oracle is not trivially satisfied
    assert len(_ids(client, "grids", filter=f"S_TOUCHES(geometry, {inner.wkt})")) >= 1
    assert len(_ids(client, "grids", filter=f"S_EQUALS(geometry, {inner.wkt})")) == 1


def test_spatial_json_bbox_and_filter_crs(client, grids) -> None:  # type: ignore[no-untyped-def]
    box = _box(grids, 0.2, 0.5, 0.5, 0.8)
    expected = sorted(c for c, g in grids["geom"].items() if box.intersects(g))
    x0, y0, x1, y1 = box.bounds
    as_json = {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [x0, y0, x1, y1]}]}
    lang = {"filter-lang": "cql2-json"}
    assert sorted(_ids(client, "grids", filter=json.dumps(as_json), **lang)) == expected
    geojson = {"op": "s_intersects", "args": [{"property": "geometry"}, shapely.geometry.mapping(box)]}
    assert sorted(_ids(client, "grids", filter=json.dumps(geojson), **lang)) == expected
    # EPSG:4326 lists latitude first: the same box with swapped axes selects the same grids
    swapped = shapely.transform(box, lambda c: c[:, ::-1])
    assert sorted(_ids(client, "grids", filter=f"S_INTERSECTS(geometry, {swapped.wkt})",
                       **{"filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"})) == expected
    assert expected and len(expected) < len(grids)


def test_temporal_filters_on_incidents(client, incidents) -> None:  # type: ignore[no-untyped-def]
    t = incidents["t"].sort_values()
    a, b = t.iloc[len(t) // 4], t.iloc[len(t) // 2]
    ia, ib = (v.isoformat().replace("+00:00", "Z") for v in (a, b))
    cat = incidents["category"].iloc[0]
    at = incidents["t"]
    cases: list[tuple[str, str, pd.Series]] = [
        ("cql2-text", f"occurred_at T_AFTER TIMESTAMP('{ia}')", at > a),
        ("cql2-text", f"occurred_at T_BEFORE TIMESTAMP('{ia}')", at < a),
        ("cql2-text", f"occurred_at T_EQUALS TIMESTAMP('{ia}')", at == a),
        ("cql2-text", f"occurred_at >= TIMESTAMP('{ia}') AND category = '{cat}'",
         (at >= a) & (incidents["category"] == cat)),
        ("cql2-text", f"occurred_at T_INTERSECTS INTERVAL('{ia}', '{ib}')", (at >= a) & (at <= b)),
        ("cql2-text", f"occurred_at T_DURING INTERVAL('{ia}', '{ib}')", (at > a) & (at < b)),
        ("cql2-text", f"occurred_at BETWEEN TIMESTAMP('{ia}') AND TIMESTAMP('{ib}')", at.between(a, b)),
        ("cql2-json", json.dumps({"op": "t_intersects", "args": [{"property": "occurred_at"},
                                                                 {"interval": [ia, ".."]}]}), at >= a),
        ("cql2-json", json.dumps({"op": "t_before", "args": [{"property": "occurred_at"},
                                                             {"interval": [ia, ib]}]}), at < a),
        ("cql2-json", json.dumps({"op": "t_after", "args": [{"interval": [ia, ib]},
                                                            {"property": "occurred_at"}]}), at < a),
        ("cql2-json", json.dumps({"op": "t_disjoint", "args": [{"property": "occurred_at"},
                                                               {"interval": ["..", ia]}]}), at > a),
    ]
    for lang, cql, mask in cases:
        got = sorted(_ids(client, "incidents", filter=cql, **{"filter-lang": lang}))
        assert got == _expect(incidents, mask), cql


def test_filters_combine_with_bbox_datetime_and_property_filters(client, grids, incidents) -> None:  # type: ignore[no-untyped-def]
    box = _box(grids, 0.1, 0.1, 0.7, 0.7)
    zone = grids["zone_code"].value_counts().index[0]
    m = int(grids["population"].median())
    got = sorted(_ids(client, "grids", bbox=",".join(map(str, box.bounds)), zone_code=zone,
                      filter=f"population > {m}"))
    mask = grids["geom"].map(box.intersects) & (grids["zone_code"] == zone) & (grids["population"] > m)
    assert got == _expect(grids, mask)
    # a property filter alone, and a typed one
    assert sorted(_ids(client, "grids", zone_code=zone)) == _expect(grids, grids["zone_code"] == zone)
    one = int(grids["population"].iloc[0])
    assert sorted(_ids(client, "grids", population=str(one))) == _expect(grids, grids["population"] == one)
    t = incidents["t"].sort_values()
    a = t.iloc[len(t) // 3]
    cat = incidents["category"].value_counts().index[0]
    got = sorted(_ids(client, "incidents", datetime=f"{a.isoformat()}/..", category=cat))
    assert got == _expect(incidents, (incidents["t"] >= a) & (incidents["category"] == cat))


def test_sortby_matches_pandas_and_pages_cleanly(client, grids, incidents) -> None:  # type: ignore[no-untyped-def]
    doc = _items(client, "grids", sortby="-population,+name")
    want = grids.sort_values(["population", "name", "code"], ascending=[False, True, True], kind="stable")
    assert [f["id"] for f in doc["features"]] == want["code"].tolist()
    # a URL's unencoded '+' arrives as a space: still ascending
    res = client.get("/ogc/collections/grids/items?limit=10000&sortby=+households")
    want = grids.sort_values(["households", "code"], kind="stable")
    assert [f["id"] for f in res.json()["features"]] == want["code"].tolist()
    # paging through a sorted, filtered list: no overlap, no gap
    m = int(grids["population"].quantile(0.3))
    seen: list[str] = []
    url: str | None = f"/ogc/collections/grids/items?limit=7&sortby=-households&filter=population>{m}"
    while url:
        page = client.get(url).json()
        seen += [f["id"] for f in page["features"]]
        url = next((k["href"] for k in page["links"] if k["rel"] == "next"), None)
    sub = grids[grids["population"] > m]
    want = sub.sort_values(["households", "code"], ascending=[False, True], kind="stable")
    assert seen == want["code"].tolist()
    doc = _items(client, "incidents", sortby="-occurred_at")
    want = incidents.sort_values(["t", "code"], ascending=[False, True], kind="stable")
    assert [f["id"] for f in doc["features"]] == want["code"].tolist()


def test_bad_filters_and_sortby_are_400_naming_the_problem(client) -> None:  # type: ignore[no-untyped-def]
    cases = [
        ({"filter": "colour = 'red'"}, "colour"),
        ({"filter": "population = 'many'"}, "population"),
        ({"filter": "population >"}, "cql2-text"),
        ({"filter": "{not json", "filter-lang": "cql2-json"}, "JSON"),
        ({"filter": json.dumps({"op": "=", "args": [{"property": "nope"}, 1]}), "filter-lang": "cql2-json"},
         "nope"),
        ({"filter": "name = 'x'", "filter-lang": "ecql"}, "filter-lang"),
        ({"filter": "name = 'x'", "filter-crs": "EPSG:3857"}, "filter-crs"),
        ({"filter": "S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))"}, "invalid geometry"),
        ({"filter": "S_INTERSECTS(geometry, POINT(200 10))"}, "outside"),
        ({"filter": "S_INTERSECTS(name, POINT(100 10))"}, "geometries"),
        ({"filter": "name = 1"}, "compare"),
        ({"filter": "name LIKE 3"}, "LIKE"),
        ({"filter": "foo(name) = 'x'"}, "foo"),
        ({"filter": "x" * 30_000}, "characters"),
        ({"sortby": "-colour"}, "colour"),
        ({"sortby": "name,name"}, "twice"),
        ({"sortby": "+"}, "empty"),
        ({"population": "many"}, "population"),
    ]
    for params, needle in cases:
        res = client.get("/ogc/collections/grids/items", params=params)
        assert res.status_code == 400, params
        assert needle in res.json()["error"]["message"], (params, res.json())
    res = client.get("/ogc/collections/incidents/items",
                     params={"filter": "occurred_at T_MEETS TIMESTAMP('2026-01-01T00:00:00Z')"})
    assert res.status_code == 400 and "T_MEETS" in res.json()["error"]["message"]
    # a valid filter that matches nothing is an empty page, not an error
    empty = _items(client, "grids", filter="population < 0")
    assert empty["numberMatched"] == 0 and empty["features"] == []


def test_limit_up_to_ten_thousand(client, grids) -> None:  # type: ignore[no-untyped-def]
    doc = _items(client, "grids")
    assert doc["numberReturned"] == len(grids)
    assert "limit=10000" in next(k["href"] for k in doc["links"] if k["rel"] == "self")
    assert datetime.fromisoformat(doc["timeStamp"].replace("Z", "+00:00")) <= datetime.now(UTC)
