"""Vector tiles: features and attributes against a Shapely oracle over the same data."""

from __future__ import annotations

from collections import defaultdict

import shapely
from sqlalchemy import text

from jurisgrid.tiles.layers import LAYERS, tile_of
from tests.tiles.conftest import Exported, busiest_tile, decode, feature_lonlat, tile_box

MVT = "application/vnd.mapbox-vector-tile"


def _get(client, layer: str, z: int, x: int, y: int, **params):  # type: ignore[no-untyped-def]
    res = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt", params=params)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == MVT
    return decode(res.content)


def test_grids_in_a_tile_match_shapely(client, exported: Exported) -> None:  # type: ignore[no-untyped-def]
    z = 13
    x, y = busiest_tile(exported, z)
    layer = _get(client, "grids", z, x, y)["grids"]
    got = {f["properties"]["code"]: f for f in layer["features"]}
    inner, outer = tile_box(z, x, y), tile_box(z, x, y, buffer_units=64 + 2)
    # must: every grid covering a noticeable part of the tile; may: any grid meeting the buffer
    cell = (inner.bounds[2] - inner.bounds[0]) / 4096
    must = {c for c, g in exported.grids.items() if g["geom"].intersection(inner).area > 4 * cell * cell}
    may = {c for c, g in exported.grids.items() if g["geom"].intersects(outer)}
    assert must, "the test tile should hold grids"
    assert must <= set(got) <= may
    pop: dict[int, int] = defaultdict(int)
    hh: dict[int, int] = defaultdict(int)
    n: dict[int, int] = defaultdict(int)
    for a in exported.addresses.values():
        pop[a["grid_id"]] += a["population"]
        hh[a["grid_id"]] += a["households"]
        n[a["grid_id"]] += 1
    for code in must:
        props, g = got[code]["properties"], exported.grids[code]
        assert props["zone_code"] == g["zone_code"]
        assert props["station_code"] == g["station_code"]
        assert props["community_code"] == g["community_code"]
        assert props["population"] == pop[g["id"]]
        assert props["households"] == hh[g["id"]]
        assert props["addresses"] == n[g["id"]]
        # the drawn shape is the grid clipped to the tile, to within the tile resolution
        drawn = feature_lonlat(got[code], z, x, y).intersection(inner)
        want = g["geom"].intersection(inner)
        assert drawn.symmetric_difference(want).area <= 0.02 * want.area + 50 * cell * cell


def test_zone_figures_are_sums_over_their_grids(client, exported: Exported, engine) -> None:  # type: ignore[no-untyped-def]
    z = 11
    x, y = busiest_tile(exported, z)
    feats = _get(client, "zones", z, x, y)["zones"]["features"]
    assert feats
    with engine.connect() as conn:
        want = dict(conn.execute(text(
            "SELECT z.code, coalesce(sum(a.population), 0) FROM zone z JOIN grid g ON g.zone_id = z.id "
            "LEFT JOIN address_point a ON a.grid_id = g.id GROUP BY z.code")).all())
    for f in feats:
        assert f["properties"]["population"] == want[f["properties"]["code"]]


def test_address_points_and_clusters(client, exported: Exported) -> None:  # type: ignore[no-untyped-def]
    z = 16
    x, y = busiest_tile(exported, z)
    feats = _get(client, "addresses", z, x, y)["addresses"]["features"]
    got = {f["properties"]["code"] for f in feats}
    inner, outer = tile_box(z, x, y), tile_box(z, x, y, buffer_units=66)
    must = {c for c, a in exported.addresses.items() if inner.contains(shapely.Point(a["lon"], a["lat"]))}
    may = {c for c, a in exported.addresses.items() if outer.intersects(shapely.Point(a["lon"], a["lat"]))}
    assert must and must <= got <= may
    assert all(f["properties"]["count"] == 1 for f in feats)
    # below the clustering zoom: fewer features than points, and the counts add up
    zc = LAYERS["addresses"].minzoom
    first = next(a for c, a in exported.addresses.items() if c in must)
    xc, yc = tile_of(first["lon"], first["lat"], zc)
    clusters = _get(client, "addresses", zc, xc, yc)["addresses"]["features"]
    inner, outer = tile_box(zc, xc, yc), tile_box(zc, xc, yc, buffer_units=64)
    n_inner = sum(inner.contains(shapely.Point(a["lon"], a["lat"])) for a in exported.addresses.values())
    n_outer = sum(outer.intersects(shapely.Point(a["lon"], a["lat"])) for a in exported.addresses.values())
    total = sum(f["properties"]["count"] for f in clusters)
    assert len(clusters) < total
    assert total <= n_outer
    assert total >= n_inner * 0.9  # clusters whose centre falls past the buffer are dropped


def test_every_layer_serves_a_tile(client, exported: Exported) -> None:  # type: ignore[no-untyped-def]
    for name, lay in LAYERS.items():
        z = max(lay.minzoom, 12)
        x, y = busiest_tile(exported, z)
        decoded = _get(client, name, z, x, y)
        assert list(decoded) == [name]
        assert decoded[name]["features"], name
        props = decoded[name]["features"][0]["properties"]
        assert set(props) <= set(lay.fields), (name, set(props) - set(lay.fields))


def test_below_minzoom_is_an_empty_tile(client) -> None:  # type: ignore[no-untyped-def]
    res = client.get("/tiles/addresses/3/6/3.mvt")
    assert res.status_code == 200 and res.content == b""
    assert res.headers["etag"]


def test_tilejson(client) -> None:  # type: ignore[no-untyped-def]
    listing = client.get("/tiles").json()
    assert [entry["id"] for entry in listing["layers"]] == list(LAYERS)
    doc = client.get("/tiles/grids.json").json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://testserver/tiles/grids/{z}/{x}/{y}.mvt"]
    assert doc["vector_layers"][0]["id"] == "grids"
    assert {"code", "name", "zone_code", "population"} <= set(doc["vector_layers"][0]["fields"])
    assert doc["minzoom"] == LAYERS["grids"].minzoom and doc["maxzoom"] == LAYERS["grids"].maxzoom
    w, s, e, n = doc["bounds"]
    assert w < doc["center"][0] < e and s < doc["center"][1] < n
    gcj = client.get("/tiles/grids.json", params={"crs": "gcj02"}).json()
    assert gcj["tiles"] == ["http://testserver/tiles/grids/{z}/{x}/{y}.mvt?crs=gcj02"]
    assert gcj["bounds"] != doc["bounds"]


def test_bad_requests_get_clear_json_errors(client) -> None:  # type: ignore[no-untyped-def]
    cases = [("/tiles/nope/1/0/0.mvt", 404, "NOT_FOUND"), ("/tiles/nope.json", 404, "NOT_FOUND"),
             ("/tiles/grids/23/0/0.mvt", 400, "BAD_USER_INPUT"),
             ("/tiles/grids/3/8/0.mvt", 400, "BAD_USER_INPUT"),
             ("/tiles/grids/3/0/-1.mvt", 400, "BAD_USER_INPUT"),
             ("/tiles/grids/a/0/0.mvt", 400, "BAD_USER_INPUT"),
             ("/tiles/grids/12/3300/1700.mvt?crs=mars", 400, "BAD_USER_INPUT"),
             ("/tiles/grids.json?crs=mars", 400, "BAD_USER_INPUT")]
    for url, status, code in cases:
        res = client.get(url)
        assert res.status_code == status, url
        assert res.json()["error"]["code"] == code, url
        assert res.json()["error"]["message"], url


def test_incident_rate_of_zones(client, exported: Exported, engine) -> None:  # type: ignore[no-untyped-def]
    z = 11
    x, y = busiest_tile(exported, z)
    feats = _get(client, "zones", z, x, y)["zones"]["features"]
    with engine.connect() as conn:
        inc = dict(conn.execute(text(
            "SELECT z.code, count(i.id) FROM zone z JOIN grid g ON g.zone_id = z.id "
            "LEFT JOIN incident i ON i.grid_id = g.id GROUP BY z.code")).all())
    for f in feats:
        p = f["properties"]
        assert p["incidents"] == inc[p["code"]]
        if p["population"]:
            assert abs(p["incidents_per_1000"] - inc[p["code"]] * 1000 / p["population"]) <= 0.005
        else:
            assert "incidents_per_1000" not in p
