"""Tiles: ``?properties=`` keeps only the attributes asked for (same features, same shapes,
fewer bytes; its own ETag; TileJSON lists what it keeps), and polygons that lie only in the
buffer band are left out, checked against Shapely on the grids read from the table."""

from __future__ import annotations

import shapely

from jurisgrid.tiles.layers import LAYERS, NOT_HISTORISED
from jurisgrid.tiles.store import tile_sql
from tests.tiles.conftest import Exported, busiest_tile, decode, tile_box

MVT = "application/vnd.mapbox-vector-tile"
NEAR = shapely.box(-32, -32, 4096 + 32, 4096 + 32)


def _tile(client, layer: str, z: int, x: int, y: int, **params):  # type: ignore[no-untyped-def]
    res = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt", params=params)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == MVT
    return res


def test_properties_trim_attributes_only(client, exported: Exported) -> None:  # type: ignore[no-untyped-def]
    z = 13
    x, y = busiest_tile(exported, z)
    full_res = _tile(client, "grids", z, x, y)
    thin_res = _tile(client, "grids", z, x, y, properties="population,code")
    full, thin = decode(full_res.content)["grids"], decode(thin_res.content)["grids"]
    assert len(thin["features"]) == len(full["features"]) > 0
    by_code = {f["properties"]["code"]: f for f in full["features"]}
    for f in thin["features"]:
        assert set(f["properties"]) == {"code", "population"}
        whole = by_code[f["properties"]["code"]]
        assert f["properties"]["population"] == whole["properties"]["population"]
        assert f["geometry"] == whole["geometry"]
    assert len(thin_res.content) < 0.7 * len(full_res.content)
    # geometry only
    bare = decode(_tile(client, "grids", z, x, y, properties="").content)["grids"]
    assert len(bare["features"]) == len(full["features"])
    assert all(f["properties"] == {} for f in bare["features"])
    # its own ETag, revalidated like any tile
    etag = thin_res.headers["etag"]
    assert etag != full_res.headers["etag"]
    again = client.get(f"/tiles/grids/{z}/{x}/{y}.mvt", params={"properties": "code,population"},
                       headers={"If-None-Match": etag})
    assert again.status_code == 304  # the order of the names does not matter


def test_every_layer_takes_any_of_its_fields(engine) -> None:  # type: ignore[no-untyped-def]
    """Each layer's statement with one field dropped prepares (every field is a column of the
    layer's rows); as-of statements too, without the figures."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for name, layer in LAYERS.items():
            keep = tuple(list(layer.fields)[1:])
            types = "integer, integer, integer, text, float8, float8, float8, float8" + (
                ", text" if name == "zones" else "")
            cur.execute(f"PREPARE t_{name}({types}) AS {tile_sql(name, 'wgs84', properties=keep)}")
            cur.execute(f"DEALLOCATE t_{name}")
        from jurisgrid.tiles.asof import ASOF_LAYERS

        for name in ASOF_LAYERS:
            keep = tuple(f for f in LAYERS[name].fields if f not in NOT_HISTORISED)[:2]
            cur.execute(f"PREPARE a_{name}(integer, integer, integer, text, float8, float8, float8, "
                        f"float8, timestamptz) AS {tile_sql(name, 'gcj02', as_of=True, properties=keep)}")
            cur.execute(f"DEALLOCATE a_{name}")
    finally:
        raw.rollback()
        raw.close()


def test_bad_properties_are_400(client, exported: Exported) -> None:  # type: ignore[no-untyped-def]
    z = 13
    x, y = busiest_tile(exported, z)
    res = client.get(f"/tiles/grids/{z}/{x}/{y}.mvt", params={"properties": "code,colour"})
    assert res.status_code == 400
    msg = res.json()["error"]["message"]
    assert "'colour'" in msg and "population" in msg  # names it and lists the fields
    res = client.get(f"/tiles/grids/{z}/{x}/{y}.mvt",
                     params={"properties": "code,population", "asOf": "2026-01-01T00:00:00Z"})
    assert res.status_code == 400 and "population" in res.json()["error"]["message"]
    assert client.get("/tiles/grids.json", params={"properties": "nope"}).status_code == 400


def test_tilejson_documents_the_selection(client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/tiles/zones.json", params={"properties": "name,code,crs_typo"})
    assert doc.status_code == 400
    doc = client.get("/tiles/zones.json", params={"properties": "name,code", "crs": "gcj02"}).json()
    assert doc["tiles"][0].endswith(".mvt?crs=gcj02&properties=code,name")
    assert set(doc["vector_layers"][0]["fields"]) == {"code", "name"}
    assert "properties=" in client.get("/tiles/zones.json").json()["description"]


def test_no_polygon_only_in_the_buffer_band(client, exported: Exported) -> None:  # type: ignore[no-untyped-def]
    """Every polygon in a tile reaches the tile or the 32-unit margin round it (where a 6 px
    outline can still show); every grid covering part of the tile is there."""
    band_only_seen = 0
    z = 14
    x0, y0 = busiest_tile(exported, z)
    for x, y in ((x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 - 1, y0 - 1)):
        feats = decode(_tile(client, "grids", z, x, y).content).get("grids", {"features": []})["features"]
        got = {f["properties"]["code"] for f in feats}
        for f in feats:
            assert shapely.geometry.shape(f["geometry"]).intersects(NEAR), f["properties"]["code"]
        inner = tile_box(z, x, y)
        cell = (inner.bounds[2] - inner.bounds[0]) / 4096
        must = {c for c, g in exported.grids.items() if g["geom"].intersection(inner).area > 4 * cell * cell}
        near = tile_box(z, x, y, buffer_units=32 + 2)
        may = {c for c, g in exported.grids.items() if g["geom"].intersects(near)}
        assert must <= got <= may
        # grids that reach the 64-unit buffer but stay clear of the margin: left out
        band = {c for c, g in exported.grids.items()
                if g["geom"].intersects(tile_box(z, x, y, buffer_units=64 - 2))
                and not g["geom"].intersects(near)}
        assert not band & got
        band_only_seen += len(band)
    assert band_only_seen > 0, "the tiles tested should have grids in their buffer band"
    # points are kept in the whole buffer: a circle or label there reaches into the tile
    z = 16
    x, y = busiest_tile(exported, z)
    pts = decode(_tile(client, "addresses", z, x, y).content)["addresses"]["features"]
    outer = shapely.box(-64, -64, 4160, 4160)
    assert pts and all(shapely.geometry.shape(f["geometry"]).intersects(outer) for f in pts)
