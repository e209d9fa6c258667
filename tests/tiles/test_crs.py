"""?crs=gcj02 / bd09: the SQL transforms agree with geo/crs.py, and tiles shift accordingly."""

from __future__ import annotations

import numpy as np
import shapely
from sqlalchemy import text

from jurisgrid.geo.crs import CHINA_BBOX, from_wgs84, transform_geometry
from jurisgrid.tiles.layers import tile_of
from tests.tiles.conftest import Exported, busiest_tile, decode, feature_lonlat, tile_box


def _points() -> np.ndarray:
    rng = np.random.default_rng(5)
    inside = np.column_stack([rng.uniform(73, 135, 3000), rng.uniform(3, 53, 3000)])
    outside = np.array([[2.35, 48.85], [-74.0, 40.7], [139.7, 35.7], [151.2, -33.9]])
    x0, y0, x1, y1 = CHINA_BBOX
    edges = np.array([[x0, y0], [x1, y1], [x0, y1], [x1, y0], [x0 - 1e-9, 30.0], [x1 + 1e-9, 30.0],
                      [116.404, 39.915], [106.973, 30.8366]])
    return np.vstack([inside, outside, edges])


def test_sql_vertex_transforms_agree_with_geo_crs(engine) -> None:  # type: ignore[no-untyped-def]
    pts = _points()
    with engine.connect() as conn:
        for crs, name in (("gcj02", "GCJ02"), ("bd09", "BD09")):
            got = np.array(conn.execute(text(
                "SELECT s.x, s.y FROM unnest(CAST(:x AS float8[]), CAST(:y AS float8[])) "
                "WITH ORDINALITY AS p(x, y, i), jg_shift_xy(p.x, p.y, :crs) s ORDER BY p.i"),
                {"x": pts[:, 0].tolist(), "y": pts[:, 1].tolist(), "crs": crs}).all())
            wx, wy = from_wgs84(name, pts[:, 0], pts[:, 1])
            assert np.abs(got[:, 0] - wx).max() < 1e-9, crs
            assert np.abs(got[:, 1] - wy).max() < 1e-9, crs
        # the reference value of docs/design.md, Coordinates
        x, y = conn.execute(text("SELECT * FROM jg_shift_xy(116.404, 39.915, 'gcj02')")).one()
        assert abs(x - 116.41024449916938) < 1e-12 and abs(y - 39.91640428150164) < 1e-12
        same = conn.execute(text("SELECT * FROM jg_shift_xy(116.404, 39.915, 'wgs84')")).one()
        assert tuple(same) == (116.404, 39.915)


def test_sql_geometry_transform_moves_every_vertex_exactly(engine, exported: Exported) -> None:  # type: ignore[no-untyped-def]
    code, grid = next(iter(exported.grids.items()))
    with engine.connect() as conn:
        for crs, name in (("gcj02", "GCJ02"), ("bd09", "BD09")):
            wkb = conn.execute(text("SELECT ST_AsBinary(jg_tile_shift(geom, :crs)) FROM grid "
                                    "WHERE code = :c"), {"crs": crs, "c": code}).scalar_one()
            got = shapely.from_wkb(bytes(wkb))
            want = transform_geometry(grid["geom"], "WGS84", name)
            assert got.geom_type == want.geom_type
            assert np.abs(shapely.get_coordinates(got) - shapely.get_coordinates(want)).max() < 1e-9


def test_gcj02_tiles_line_up_with_the_shifted_grids(client, exported: Exported) -> None:  # type: ignore[no-untyped-def]
    z = 14
    x, y = busiest_tile(exported, z)
    inner = tile_box(z, x, y)
    cell = (inner.bounds[2] - inner.bounds[0]) / 4096
    for crs in ("gcj02", "bd09"):
        res = client.get(f"/tiles/grids/{z}/{x}/{y}.mvt", params={"crs": crs})
        assert res.status_code == 200
        feats = {f["properties"]["code"]: f for f in decode(res.content)["grids"]["features"]}
        shifted = {c: transform_geometry(g["geom"], "WGS84", crs.upper()) for c, g in exported.grids.items()}
        must = {c for c, g in shifted.items() if g.intersection(inner).area > 4 * cell * cell}
        assert must and must <= set(feats)
        for c in must:
            drawn = feature_lonlat(feats[c], z, x, y).intersection(inner)
            want = shifted[c].intersection(inner)
            assert drawn.symmetric_difference(want).area <= 0.02 * want.area + 50 * cell * cell
        # the unshifted grids do not line up: GCJ-02 moves Qu County by some 500 m
        plain = {c: exported.grids[c]["geom"].intersection(inner) for c in must}
        worst = max(feature_lonlat(feats[c], z, x, y).intersection(inner).symmetric_difference(plain[c]).area
                    / max(plain[c].area, 1e-12) for c in must)
        assert worst > 0.1


def test_gcj02_points_are_shifted(client, exported: Exported) -> None:  # type: ignore[no-untyped-def]
    code, a = next(iter(exported.addresses.items()))
    gx, gy = from_wgs84("GCJ02", a["lon"], a["lat"])
    z = 17
    x, y = tile_of(gx, gy, z)
    res = client.get(f"/tiles/addresses/{z}/{x}/{y}.mvt", params={"crs": "gcj02"})
    feats = {f["properties"]["code"]: f for f in decode(res.content)["addresses"]["features"]}
    p = feature_lonlat(feats[code], z, x, y)
    cell = (tile_box(z, x, y).bounds[2] - tile_box(z, x, y).bounds[0]) / 4096
    assert abs(p.x - gx) <= cell and abs(p.y - gy) <= cell
