"""OGC API - Features Part 1 (Core, GeoJSON): the JSON shapes the standard requires, paging,
bbox against a Shapely oracle, errors."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import shapely
from sqlalchemy import text

from jurisgrid.tiles.features import COLLECTIONS

GEOJSON = "application/geo+json"
CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
GEOJSON_CLASS = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"


def _rels(doc: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    for link in doc["links"]:
        assert {"href", "rel"} <= set(link)
    return {link["rel"]: link for link in doc["links"]}


def test_landing_page_and_conformance(client) -> None:  # type: ignore[no-untyped-def]
    res = client.get("/ogc")
    assert res.status_code == 200 and res.headers["content-type"].startswith("application/json")
    rels = _rels(res.json())
    assert {"self", "conformance", "data", "service-desc"} <= set(rels)
    assert rels["conformance"]["href"].endswith("/ogc/conformance")
    assert rels["data"]["href"].endswith("/ogc/collections")
    assert client.get(rels["service-desc"]["href"]).status_code == 200  # the OpenAPI document
    conf = client.get("/ogc/conformance").json()
    assert {CORE, GEOJSON_CLASS} <= set(conf["conformsTo"])


def test_collections(client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/ogc/collections").json()
    assert "self" in _rels(doc)
    ids = [c["id"] for c in doc["collections"]]
    assert ids == ["sectors", "stations", "zones", "grids", "communities", "townships", "addresses",
                   "incidents"]
    for c in doc["collections"]:
        rels = _rels(c)
        assert rels["items"]["type"] == GEOJSON
        assert rels["items"]["href"].endswith(f"/ogc/collections/{c['id']}/items")
        assert len(c["extent"]["spatial"]["bbox"][0]) == 4
        assert c["itemType"] == "feature"
        one = client.get(f"/ogc/collections/{c['id']}").json()
        assert one["id"] == c["id"] and "self" in _rels(one)
    assert "temporal" in next(c for c in doc["collections"] if c["id"] == "incidents")["extent"]


def _codes(engine, table: str) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return sorted(conn.execute(text(f"SELECT code FROM {table}")).scalars())


@pytest.mark.parametrize("cid,table", [("sectors", "sector"), ("zones", "zone"),
                                       ("communities", "community"), ("grids", "grid")])
def test_next_links_page_until_exhausted(client, engine, cid: str, table: str) -> None:  # type: ignore[no-untyped-def]
    url = f"/ogc/collections/{cid}/items?limit=4"
    seen: list[str] = []
    matched = None
    pages = 0
    while url:
        res = client.get(url)
        assert res.status_code == 200
        assert res.headers["content-type"] == GEOJSON
        page = res.json()
        assert page["type"] == "FeatureCollection"
        assert page["numberReturned"] == len(page["features"]) <= 4
        datetime.fromisoformat(page["timeStamp"].replace("Z", "+00:00"))
        matched = page["numberMatched"] if matched is None else matched
        assert page["numberMatched"] == matched
        rels = _rels(page)
        assert rels["self"]["type"] == GEOJSON
        for f in page["features"]:
            assert f["type"] == "Feature" and f["geometry"]["type"] in ("Polygon", "MultiPolygon")
            assert f["id"] == f["properties"]["code"]
            seen.append(f["id"])
        url = rels["next"]["href"] if "next" in rels else None
        pages += 1
        assert pages < 1000
    assert len(seen) == matched == len(set(seen))
    assert pages > 1
    assert sorted(seen) == _codes(engine, table)


def test_bbox_matches_a_shapely_oracle(client, engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        grids = {r[0]: shapely.geometry.shape(json.loads(r[1])) for r in conn.execute(text(
            "SELECT code, ST_AsGeoJSON(geom, 15) FROM grid"))}
        pts = {r[0]: shapely.Point(r[1], r[2]) for r in conn.execute(text(
            "SELECT code, ST_X(geom), ST_Y(geom) FROM address_point"))}
    x0, y0, x1, y1 = shapely.union_all(list(grids.values())).bounds
    box = (x0 + (x1 - x0) * 0.3, y0 + (y1 - y0) * 0.4, x0 + (x1 - x0) * 0.45, y0 + (y1 - y0) * 0.5)
    env = shapely.box(*box)
    for cid, oracle in (("grids", {c for c, g in grids.items() if g.intersects(env)}),
                        ("addresses", {c for c, p in pts.items() if p.intersects(env)})):
        res = client.get(f"/ogc/collections/{cid}/items",
                         params={"bbox": ",".join(map(str, box)), "limit": 10000}).json()
        got = {f["id"] for f in res["features"]}
        assert oracle and got == oracle, cid
        assert res["numberMatched"] == len(oracle)
        assert "next" not in _rels(res)


def test_datetime_filter_on_incidents(client, engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        times = [t for (t,) in conn.execute(text("SELECT occurred_at FROM incident"))]
    times.sort()
    t0, t1 = times[len(times) // 4], times[len(times) // 2]
    iso = f"{t0.isoformat()}/{t1.isoformat()}"
    res = client.get("/ogc/collections/incidents/items", params={"datetime": iso, "limit": 1}).json()
    assert res["numberMatched"] == sum(t0 <= t <= t1 for t in times)
    open_end = client.get("/ogc/collections/incidents/items",
                          params={"datetime": f"{t1.isoformat()}/..", "limit": 1}).json()
    assert open_end["numberMatched"] == sum(t >= t1 for t in times)


def test_single_items(client) -> None:  # type: ignore[no-untyped-def]
    for cid in COLLECTIONS:
        first = client.get(f"/ogc/collections/{cid}/items", params={"limit": 1}).json()["features"][0]
        res = client.get(f"/ogc/collections/{cid}/items/{first['id']}")
        assert res.status_code == 200 and res.headers["content-type"] == GEOJSON
        feat = res.json()
        assert feat["type"] == "Feature" and feat["id"] == first["id"]
        assert feat["geometry"] == first["geometry"] and feat["properties"] == first["properties"]
        assert {"self", "collection"} <= set(_rels(feat))


def test_errors(client) -> None:  # type: ignore[no-untyped-def]
    cases = [("/ogc/collections/nope", 404), ("/ogc/collections/nope/items", 404),
             ("/ogc/collections/grids/items/999999999999999", 404),
             ("/ogc/collections/grids/items?bbox=1,2,3", 400),
             ("/ogc/collections/grids/items?bbox=a,b,c,d", 400),
             ("/ogc/collections/grids/items?bbox=10,50,5,40", 400),
             ("/ogc/collections/grids/items?limit=0", 400),
             ("/ogc/collections/grids/items?limit=x", 400),
             ("/ogc/collections/grids/items?offset=-1", 400),
             ("/ogc/collections/grids/items?colour=red", 400),
             ("/ogc/collections/incidents/items?datetime=yesterday", 400),
             ("/ogc/collections?f=xml", 400)]
    for url, status in cases:
        res = client.get(url)
        assert res.status_code == status, url
        assert res.json()["error"]["message"], url
    # limits past the maximum are clamped, as the standard allows
    assert client.get("/ogc/collections/grids/items?limit=100000").status_code == 200
