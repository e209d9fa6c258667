"""Per-tile cache validation: ETag, If-None-Match -> 304, and edits refreshing exactly the
tiles they touched (tile_change, migration 0004)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from jurisgrid.tiles.layers import tile_of
from tests.tiles.conftest import Exported, busiest_tile, decode


def _etag(client, url: str) -> str:  # type: ignore[no-untyped-def]
    res = client.get(url)
    assert res.status_code == 200, res.text
    return res.headers["etag"]


def test_etag_and_304(client, exported: Exported) -> None:  # type: ignore[no-untyped-def]
    a = next(iter(exported.addresses.values()))
    x, y = tile_of(a["lon"], a["lat"], 14)
    url = f"/tiles/grids/14/{x}/{y}.mvt"
    first = client.get(url)
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert "no-cache" in first.headers["cache-control"]
    assert client.get(url).headers["etag"] == etag  # stable while nothing changes
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        res = client.get(url, headers={"If-None-Match": header})
        assert res.status_code == 304, header
        assert res.content == b""
        assert res.headers["etag"] == etag
    res = client.get(url, headers={"If-None-Match": '"stale"'})
    assert res.status_code == 200 and res.content == first.content
    # the same tile in another crs, or another tile, has another ETag
    assert client.get(url, params={"crs": "gcj02"}).headers["etag"] != etag
    assert _etag(client, f"/tiles/grids/14/{x + 1}/{y}.mvt") != etag


@contextmanager
def _committed(engine: Engine, do: str, undo: str, params: dict) -> Iterator[None]:  # type: ignore[type-arg]
    """Commit an edit (tiles are read on other connections), and commit its undo afterwards."""
    with engine.begin() as conn:
        conn.execute(text(do), params)
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(undo), params)


def _far_apart(exported: Exported, z: int):  # type: ignore[no-untyped-def]
    """Two address points whose grids, zones and stations differ and whose z tiles are far apart."""
    pts = sorted(exported.addresses.items(), key=lambda kv: (kv[1]["lon"], kv[1]["lat"]))
    near, far = pts[len(pts) // 2], pts[0]
    gz = {g["id"]: g for g in exported.grids.values()}
    assert gz[near[1]["grid_id"]]["station_code"] != gz[far[1]["grid_id"]]["station_code"]
    tn, tf = tile_of(near[1]["lon"], near[1]["lat"], z), tile_of(far[1]["lon"], far[1]["lat"], z)
    assert abs(tn[0] - tf[0]) + abs(tn[1] - tf[1]) > 4
    return near, far, tn, tf


def test_an_edit_changes_the_etag_of_the_tiles_it_touched_only(client, engine, exported) -> None:  # type: ignore[no-untyped-def]
    z = 14
    (code, point), _, tn, tf = _far_apart(exported, z)
    urls = {(layer, where): f"/tiles/{layer}/{z}/{t[0]}/{t[1]}.mvt"
            for layer in ("addresses", "grids", "zones", "stations")
            for where, t in (("near", tn), ("far", tf))}
    before = {k: _etag(client, u) for k, u in urls.items()}
    with _committed(engine, "UPDATE address_point SET population = population + 5 WHERE code = :c",
                    "UPDATE address_point SET population = population - 5 WHERE code = :c", {"c": code}):
        after = {k: _etag(client, u) for k, u in urls.items()}
        # the near grid tile carries the new figure
        feats = decode(client.get(urls["grids", "near"]).content)["grids"]["features"]
        grid = next(g for g in exported.grids.values() if g["id"] == point["grid_id"])
        shown = next(f for f in feats if f["properties"]["code"] == next(
            c for c, g in exported.grids.items() if g is grid))
        want = sum(a["population"] for a in exported.addresses.values()
                   if a["grid_id"] == point["grid_id"]) + 5
        assert shown["properties"]["population"] == want
    for layer in ("addresses", "grids", "zones", "stations"):
        assert after[layer, "near"] != before[layer, "near"], layer   # its figures changed
        assert after[layer, "far"] == before[layer, "far"], layer     # untouched: still cached
    # the undo is a change too: the near tiles move on again, the far ones still do not
    assert _etag(client, urls["addresses", "near"]) not in (before["addresses", "near"],
                                                            after["addresses", "near"])
    assert _etag(client, urls["grids", "far"]) == before["grids", "far"]


def test_zone_outline_rewrites_refresh_zone_tiles(client, engine, exported) -> None:  # type: ignore[no-untyped-def]
    z = 14
    (_, point), _, tn, tf = _far_apart(exported, z)
    near, far = (f"/tiles/zones/{z}/{tn[0]}/{tn[1]}.mvt", f"/tiles/zones/{z}/{tf[0]}/{tf[1]}.mvt")
    b_near, b_far = _etag(client, near), _etag(client, far)
    # rewrite the outline of the near point's zone the way derived refreshes do (same shape)
    zone_of = "(SELECT zone_id FROM grid WHERE id = :g)"
    with _committed(engine, f"UPDATE zone SET geom = ST_Multi(ST_Union(geom, geom)) WHERE id = {zone_of}",
                    f"UPDATE zone SET geom = geom WHERE id = {zone_of}", {"g": point["grid_id"]}):
        assert _etag(client, near) != b_near
        assert _etag(client, far) == b_far


def test_statement_triggers_keep_per_grid_figures_current(engine) -> None:  # type: ignore[no-untyped-def]
    """tile_grid_stats equals a fresh GROUP BY, also after a multi-row edit (rolled back)."""
    check = text("""
        SELECT count(*) FROM grid g LEFT JOIN tile_grid_stats s ON s.grid_id = g.id
        LEFT JOIN (SELECT grid_id, count(*) n, sum(population) p, sum(households) h
                   FROM address_point GROUP BY grid_id) a ON a.grid_id = g.id
        LEFT JOIN (SELECT grid_id, count(*) n FROM incident GROUP BY grid_id) i ON i.grid_id = g.id
        WHERE s.grid_id IS NULL OR s.addresses <> coalesce(a.n, 0) OR s.population <> coalesce(a.p, 0)
           OR s.households <> coalesce(a.h, 0) OR s.incidents <> coalesce(i.n, 0)""")
    with engine.connect() as conn:
        try:
            assert conn.execute(check).scalar_one() == 0
            n0 = conn.execute(text("SELECT max(id) FROM tile_change")).scalar_one()
            conn.execute(text("UPDATE address_point SET population = population * 2 WHERE id % 3 = 0"))
            conn.execute(text("DELETE FROM incident WHERE id % 4 = 0"))
            conn.execute(text(  # move some points to another grid
                "UPDATE address_point SET grid_id = (SELECT min(id) FROM grid) WHERE id % 5 = 1"))
            assert conn.execute(check).scalar_one() == 0
            # one row per statement and layer, not per changed row
            rows = conn.execute(text("SELECT count(*) FROM tile_change WHERE id > :n"),
                                {"n": n0}).scalar_one()
            assert 0 < rows <= 3 * 7
        finally:
            conn.rollback()


def test_the_read_box_holds_every_point_that_can_reach_the_tile(engine) -> None:  # type: ignore[no-untyped-def]
    """Tiles read, and ETags look for changes in, read_box(): for WGS 84 the buffered tile as
    PostGIS computes it; for GCJ-02 / BD-09 every WGS 84 point whose shifted position lies in the
    buffered tile (geo/crs.py as the oracle), also where the tile crosses the China rectangle."""
    import numpy as np

    from jurisgrid.geo.crs import to_wgs84
    from jurisgrid.tiles.layers import LAYERS, TileRequest, read_box

    sql = text("SELECT ST_XMin(q), ST_YMin(q), ST_XMax(q), ST_YMax(q) FROM (SELECT ST_Transform("
               "ST_TileEnvelope(:z, :x, :y, margin => 64.0 / 4096), 4326) AS q) b")
    rng = np.random.default_rng(3)
    with engine.connect() as conn:
        for z, lon, lat in [(z, 106.97, 30.84) for z in (0, 5, 10, 13, 16, 22)] + [
                (12, 72.01, 30.0), (12, 137.83, 40.0), (9, 135.0, 55.82)]:
            x, y = tile_of(lon, lat, z)
            want = conn.execute(sql, {"z": z, "x": x, "y": y}).one()
            got = read_box(TileRequest(LAYERS["grids"], z, x, y, "wgs84"))
            # (PostGIS clamps the buffer at the world's edge: only at zoom 0 here)
            assert got[0] <= want[0] + 1e-9 and got[1] <= want[1] + 1e-9
            assert got[2] >= want[2] - 1e-9 and got[3] >= want[3] - 1e-9
            assert z == 0 or np.allclose(got, want, atol=1e-9, rtol=0)
            w, s, e, n = want
            px, py = rng.uniform(w, e, 4000), rng.uniform(s, n, 4000)  # shifted-space points
            for crs, name in (("gcj02", "GCJ02"), ("bd09", "BD09")):
                x0, y0, x1, y1 = read_box(TileRequest(LAYERS["grids"], z, x, y, crs))
                ox, oy = to_wgs84(name, px, py)
                assert ((ox >= x0) & (ox <= x1) & (oy >= y0) & (oy <= y1)).all(), (z, lon, lat, crs)


def test_a_change_without_an_extent_refreshes_every_tile_of_its_layer(client, engine, exported) -> None:  # type: ignore[no-untyped-def]
    """A change-log row without a bbox (rows without an extent) means "everywhere": every tile of
    its layer gets a new ETag (the log's partial index answers that side), other layers none."""
    z = 14
    _, _, tn, tf = _far_apart(exported, z)
    urls = {(layer, t): f"/tiles/{layer}/{z}/{t[0]}/{t[1]}.mvt" for layer in ("grids", "stations")
            for t in (tn, tf)}
    before = {k: _etag(client, u) for k, u in urls.items()}
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO tile_change (layer, bbox) VALUES ('grids', NULL)"))
    after = {k: _etag(client, u) for k, u in urls.items()}
    for (layer, t), tag in before.items():
        assert (after[layer, t] != tag) == (layer == "grids"), (layer, t)


def test_zone_tiles_compute_the_sizing_again_when_it_is_not_stored(client, engine, exported) -> None:  # type: ignore[no-untyped-def]
    z = 11
    x, y = busiest_tile(exported, z)
    url = f"/tiles/zones/{z}/{x}/{y}.mvt"
    first = client.get(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM tile_zone_sizing"))
    again = client.get(url)  # the process still knows the key, but nothing is stored under it
    assert again.headers["etag"] == first.headers["etag"]
    feats = decode(again.content)["zones"]["features"]
    assert feats and all(f["properties"].get("class") for f in feats)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tile_zone_sizing")).scalar_one() == 1
