"""/ogc over HTTP: conformance classes of Part 3 and friends, /queryables and /sortables of every
collection against the features actually served, and the f=html views."""

from __future__ import annotations

from typing import Any

from jurisgrid.routes.ogc import CONFORMANCE
from jurisgrid.tiles.features import COLLECTIONS

_JSON_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": (int, float), "boolean": bool}


def test_conformance_declares_filtering_sorting_html(client) -> None:  # type: ignore[no-untyped-def]
    got = set(client.get("/ogc/conformance").json()["conformsTo"])
    assert got == set(CONFORMANCE)
    for cls in ("ogcapi-features-3/1.0/conf/filter", "ogcapi-features-3/1.0/conf/features-filter",
                "ogcapi-features-3/1.0/conf/queryables", "cql2/1.0/conf/cql2-text",
                "cql2/1.0/conf/cql2-json", "cql2/1.0/conf/basic-cql2",
                "cql2/1.0/conf/advanced-comparison-operators", "cql2/1.0/conf/basic-spatial-operators",
                "ogcapi-features-8/1.0/conf/sorting", "ogcapi-features-1/1.0/conf/html"):
        assert f"http://www.opengis.net/spec/{cls}" in got, cls


def test_queryables_list_each_collections_fields(client) -> None:  # type: ignore[no-untyped-def]
    for cid in COLLECTIONS:
        coll = client.get(f"/ogc/collections/{cid}").json()
        rels = {k["rel"]: k["href"] for k in coll["links"]}
        res = client.get(rels["http://www.opengis.net/def/rel/ogc/1.0/queryables"])
        assert res.status_code == 200
        assert res.headers["content-type"].startswith("application/schema+json")
        schema = res.json()
        assert schema["$id"].endswith(f"/ogc/collections/{cid}/queryables")
        feats = client.get(f"/ogc/collections/{cid}/items", params={"limit": 50}).json()["features"]
        props = schema["properties"]
        # the queryables are exactly the properties served, plus the geometry
        assert set(props) == {"geometry"} | set(feats[0]["properties"]), cid
        for f in feats:
            for name, value in f["properties"].items():
                if value is None:
                    continue
                if props[name].get("format") == "date-time":
                    assert isinstance(value, str) and "T" in value
                else:
                    assert isinstance(value, _JSON_TYPES[props[name]["type"]]), (cid, name, value)
        sortables = client.get(rels["http://www.opengis.net/def/rel/ogc/1.0/sortables"]).json()
        assert set(sortables["properties"]) == set(props) - {"geometry"}
    assert client.get("/ogc/collections/nope/queryables").status_code == 404
    assert client.get("/ogc/collections/grids/queryables?f=html").status_code == 400


def test_html_views(client) -> None:  # type: ignore[no-untyped-def]
    for url in ("/ogc?f=html", "/ogc/collections?f=html", "/ogc/collections/grids?f=html",
                "/ogc/collections/grids/items?f=html&limit=5&sortby=-population"):
        res = client.get(url)
        assert res.status_code == 200, url
        assert res.headers["content-type"].startswith("text/html"), url
        assert res.text.startswith("<!doctype html>") and "</html>" in res.text
    page = client.get("/ogc/collections/grids/items?f=html&limit=5&sortby=-population").text
    top = client.get("/ogc/collections/grids/items?limit=5&sortby=-population").json()["features"]
    assert all(f["id"] in page for f in top) and "next →" in page
    assert "population" in client.get("/ogc/collections/grids?f=html").text  # the queryables table
    # a browser (Accept: text/html first) gets HTML; GDAL/QGIS (JSON first) and no Accept get JSON
    assert client.get("/ogc/collections", headers={"Accept": "text/html,*/*"}).headers[
        "content-type"].startswith("text/html")
    assert client.get("/ogc/collections", headers={"Accept": "application/json, text/html"}).headers[
        "content-type"].startswith("application/json")
    # the JSON documents point to their HTML form
    doc = client.get("/ogc/collections").json()
    assert any(k["rel"] == "alternate" and k["type"] == "text/html" for k in doc["links"])


def test_carried_connection_parameters(client) -> None:  # type: ignore[no-untyped-def]
    """A connection URL's item parameters reach the metadata endpoints (GDAL): accepted there,
    anything else unknown still refused."""
    for url in ("/ogc?sortby=-population", "/ogc/api?sortby=-population&filter=population>1",
                "/ogc/collections/grids?sortby=-population", "/ogc/collections/grids/queryables?sortby=code"):
        assert client.get(url).status_code == 200, url
    assert client.get("/ogc/collections/grids?colour=red").status_code == 400
    res = client.get("/ogc/api")
    assert res.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    landing = client.get("/ogc").json()
    assert next(k for k in landing["links"] if k["rel"] == "service-desc")["href"].endswith("/ogc/api")
    # Part 2's crs parameter: only the one CRS served
    ok = client.get("/ogc/collections/grids/items",
                    params={"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84", "limit": 1})
    assert ok.status_code == 200 and ok.headers["content-crs"].endswith("CRS84>")
    bad = client.get("/ogc/collections/grids/items", params={"crs": "EPSG:3857"})
    assert bad.status_code == 400 and "crs" in bad.json()["error"]["message"]
