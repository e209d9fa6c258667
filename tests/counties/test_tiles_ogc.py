"""One county's features on the vector tiles and the OGC API (issue 11): ``?county=``, a
county-scoped token's view, and the refusals (an unknown county: 400 naming it; another county
than the token's: 403; an item of another county: 404) — checked against the demo's own units
(the Shapely side) and against the deployment-wide tile cut to the county."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import mapbox_vector_tile
import pytest
import shapely
from shapely.geometry import Point

from jurisgrid.tiles.layers import tile_of
from tests.counties.conftest import COUNTIES

A, B = COUNTIES


def _codes(data: bytes, layer: str) -> list[str]:
    tile = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    return [f["properties"]["code"] for f in tile.get(layer, {}).get("features", [])]


@pytest.fixture(scope="module")
def border(pref_demos: list[Any]) -> tuple[float, float]:
    """A point on the border 通川区 and 达川区 share (their grids' outlines meet there)."""
    ua = shapely.union_all([g.geom for g in pref_demos[0].grids])
    ub = shapely.union_all([g.geom for g in pref_demos[1].grids])
    shared = shapely.intersection(ua.boundary, ub.boundary)
    assert shared.length > 0
    p = shapely.line_interpolate_point(shapely.line_merge(shared), 0.5, normalized=True) \
        if shared.geom_type != "MultiLineString" else shared.geoms[0].interpolate(0.5, normalized=True)
    return p.x, p.y


def _unit_codes(d: Any, layer: str) -> set[str]:
    return {"grids": {g.code for g in d.grids}, "zones": {z.code for z in d.zones},
            "stations": {s.code for s in d.stations}, "sectors": {s.code for s in d.sectors},
            "communities": {c.code for c in d.communities},
            "townships": {t.code for t in d.townships},
            "addresses": set(d.addresses.code), "incidents": set(d.incidents.code)}[layer]


ZOOM = {"grids": 13, "zones": 12, "stations": 12, "sectors": 11, "communities": 12,
        "townships": 11, "addresses": 16, "incidents": 15}


@pytest.mark.parametrize("layer", list(ZOOM))
def test_county_tiles_keep_one_county(pref_client, pref_demos: list[Any], border, layer: str) -> None:
    z = ZOOM[layer]
    x, y = tile_of(*border, z)
    url = f"/tiles/{layer}/{z}/{x}/{y}.mvt"
    wide = pref_client.get(url)
    assert wide.status_code == 200
    every = _codes(wide.content, layer)
    mine = {d.code: _unit_codes(d, layer) for d in pref_demos}
    for d in pref_demos:
        one = pref_client.get(url, params={"county": d.code})
        assert one.status_code == 200
        got = _codes(one.content, layer)
        assert set(got) <= mine[d.code]                              # nothing of the other
        assert sorted(got) == sorted(c for c in every if c in mine[d.code])  # all of its own
        assert one.headers["etag"] != wide.headers["etag"]
    if layer not in ("addresses", "incidents"):  # the border tile shows both sides
        assert {c in mine[A] for c in every} == {True, False}


def test_county_tiles_as_of_an_instant(pref_client, border) -> None:
    z = 13
    x, y = tile_of(*border, z)
    t = (datetime.now(UTC) - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    url = f"/tiles/grids/{z}/{x}/{y}.mvt"
    every = _codes(pref_client.get(url, params={"asOf": t}).content, "grids")
    got = pref_client.get(url, params={"asOf": t, "county": B})
    assert got.status_code == 200
    assert sorted(_codes(got.content, "grids")) == sorted(c for c in every if c.startswith(B))
    assert {c[:6] for c in every} == {A, B}


def test_county_token_gets_only_its_county_on_tiles(pref_client, border, token) -> None:
    z = 13
    x, y = tile_of(*border, z)
    url = f"/tiles/grids/{z}/{x}/{y}.mvt"
    t = token("viewer", county=A)
    auth = {"Authorization": f"Bearer {t.secret}"}
    mine = pref_client.get(url, headers=auth)
    asked = pref_client.get(url, params={"county": A})
    assert mine.status_code == 200 and mine.content == asked.content
    assert mine.headers["etag"] == asked.headers["etag"]
    assert mine.headers["etag"] != pref_client.get(url).headers["etag"]
    assert "Authorization" in mine.headers.get("vary", "")
    assert "private" in mine.headers["cache-control"]
    assert {c[:6] for c in _codes(mine.content, "grids")} == {A}
    # revalidation: the county tile's ETag gives 304, the deployment's does not
    wide_tag = pref_client.get(url).headers["etag"]
    assert pref_client.get(url, headers={**auth, "If-None-Match": mine.headers["etag"]}
                           ).status_code == 304
    assert pref_client.get(url, headers={**auth, "If-None-Match": wide_tag}).status_code == 200
    no = pref_client.get(url, params={"county": B}, headers=auth)
    assert no.status_code == 403 and no.json()["error"]["code"] == "FORBIDDEN"
    tj = pref_client.get("/tiles/grids.json", headers=auth).json()
    assert f"county={A}" in tj["tiles"][0]
    assert pref_client.get("/tiles/grids.json", params={"county": B}, headers=auth).status_code == 403
    listed = pref_client.get("/tiles", headers=auth).json()
    assert all(f"county={A}" in lay["tiles"] for lay in listed["layers"])


def test_unknown_county_on_tiles_is_400_naming_it(pref_client, border) -> None:
    x, y = tile_of(*border, 13)
    for url in (f"/tiles/grids/13/{x}/{y}.mvt", "/tiles/grids.json", "/tiles"):
        res = pref_client.get(url, params={"county": "519999"})
        assert res.status_code == 400, url
        assert "519999" in res.json()["error"]["message"]
    wide = pref_client.get("/tiles/grids.json", params={"county": B}).json()
    assert f"county={B}" in wide["tiles"][0]


def test_tilejson_bounds_of_one_county(pref_client, pref_demos: list[Any]) -> None:
    for d in pref_demos:
        b = pref_client.get("/tiles/zones.json", params={"county": d.code}).json()["bounds"]
        assert b == pytest.approx(list(d.outline.bounds), abs=1e-5)


# -- OGC API ------------------------------------------------------------------------------

COLLECTION = {"grids": "grids", "zones": "zones", "stations": "stations", "sectors": "sectors",
              "communities": "communities", "townships": "townships",
              "addresses": "addresses", "incidents": "incidents"}


@pytest.mark.parametrize("cid", list(COLLECTION))
def test_ogc_items_of_one_county(pref_client, pref_demos: list[Any], cid: str) -> None:
    url = f"/ogc/collections/{cid}/items"
    total = 0
    for d in pref_demos:
        mine = _unit_codes(d, cid)
        doc = pref_client.get(url, params={"county": d.code, "limit": 3}).json()
        assert doc["numberMatched"] == len(mine)
        assert all(f["properties"]["county_code"] == d.code and f["id"] in mine
                   for f in doc["features"])
        cql = pref_client.get(url, params={"filter": f"county_code = '{d.code}'", "limit": 1}).json()
        assert cql["numberMatched"] == len(mine)
        total += len(mine)
    assert pref_client.get(url, params={"limit": 1}).json()["numberMatched"] == total
    q = pref_client.get(f"/ogc/collections/{cid}/queryables").json()
    assert q["properties"]["county_code"]["type"] == "string"


def test_ogc_unknown_county_is_400_naming_it(pref_client) -> None:
    api = pref_client.get("/ogc/api").json()
    params = api["paths"]["/collections/grids/items"]["get"]["parameters"]
    assert {"county", "county_code"} <= {p["name"] for p in params}
    for url in ("/ogc/collections/grids/items", "/ogc/collections", "/ogc/collections/grids"):
        res = pref_client.get(url, params={"county": "519999"})
        assert res.status_code == 400, url
        assert "519999" in res.json()["error"]["message"]


def test_ogc_county_token_sees_only_its_county(pref_client, pref_demos: list[Any], token) -> None:
    a, b = pref_demos
    auth = {"Authorization": f"Bearer {token('viewer', county=A).secret}"}
    doc = pref_client.get("/ogc/collections/grids/items", params={"limit": 10000},
                          headers=auth).json()
    assert doc["numberMatched"] == len(a.grids)
    assert sorted(f["id"] for f in doc["features"]) == sorted(g.code for g in a.grids)
    one = pref_client.get(f"/ogc/collections/grids/items/{a.grids[0].code}", headers=auth)
    assert one.status_code == 200 and one.json()["properties"]["county_code"] == A
    other = pref_client.get(f"/ogc/collections/grids/items/{b.grids[0].code}", headers=auth)
    assert other.status_code == 404  # as for a code that does not exist
    assert pref_client.get(f"/ogc/collections/grids/items/{b.grids[0].code}").status_code == 200
    no = pref_client.get("/ogc/collections/grids/items", params={"county": B}, headers=auth)
    assert no.status_code == 403 and no.json()["error"]["code"] == "FORBIDDEN"
    # a filter naming the other county finds nothing: the scope is one more condition
    cql = pref_client.get("/ogc/collections/grids/items", headers=auth,
                          params={"filter": f"county_code = '{B}'"}).json()
    assert cql["numberMatched"] == 0
    ext = pref_client.get("/ogc/collections/grids", headers=auth).json()["extent"]["spatial"]
    assert ext["bbox"][0] == pytest.approx(list(a.outline.bounds), abs=1e-5)
    wide = pref_client.get("/ogc/collections/grids").json()["extent"]["spatial"]["bbox"][0]
    assert wide[2] > ext["bbox"][0][2] or wide[0] < ext["bbox"][0][0] or \
        wide[1] < ext["bbox"][0][1] or wide[3] > ext["bbox"][0][3]
    seat = a.stations[0].seat
    assert shapely.box(*ext["bbox"][0]).contains(Point(seat.x, seat.y))


def test_county_plan_tiles(pref_client, pref_engine, pref_demos: list[Any], border, token) -> None:
    from sqlalchemy import text

    from jurisgrid.editing.revisions import current_revision
    from jurisgrid.models import plans as store

    station = pref_demos[0].stations[0].code
    with pref_engine.begin() as conn:
        pid = store.create_plan(conn, name="county tiles", description=None,
                                scope=store.Scope("station", station), actor="t",
                                base_revision=current_revision(conn))
    try:
        z = 13
        x, y = tile_of(*border, z)
        url = f"/tiles/grids/{z}/{x}/{y}.mvt"
        every = _codes(pref_client.get(url, params={"plan": pid}).content, "grids")
        assert {c[:6] for c in every} == {A, B}
        auth = {"Authorization": f"Bearer {token('viewer', county=A).secret}"}
        mine = pref_client.get(url, params={"plan": pid}, headers=auth)
        assert mine.status_code == 200
        assert sorted(_codes(mine.content, "grids")) == sorted(c for c in every if c[:6] == A)
        other = {"Authorization": f"Bearer {token('viewer', county=B).secret}"}
        assert pref_client.get(url, params={"plan": pid}, headers=other).status_code == 403
    finally:
        with pref_engine.begin() as conn:
            conn.execute(text("DELETE FROM plan WHERE id = :p"), {"p": pid})
