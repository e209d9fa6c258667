"""GridIndex.nearest (pure Shapely): a point in no grid names the grid nearest *in metres* —
checked against an oracle measuring in an equidistant projection centred on each point (pyproj)
— on a tiling where the nearest in degrees is often another grid (a degree of longitude is
14 % shorter than one of latitude at 30.8°N)."""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

from jurisgrid.geo.lookup import GridIndex


def _strips() -> tuple[list[str], list[shapely.Geometry]]:
    """Thin cells north and east of a gap, so points in the gap are nearly equidistant in
    degrees from a northern and an eastern cell."""
    cells, codes = [], []
    for i in range(10):
        cells.append(shapely.box(107.0 + 0.01 * i, 30.9, 107.0 + 0.01 * i + 0.009, 30.91))
        cells.append(shapely.box(107.1, 30.8 + 0.01 * i, 107.11, 30.8 + 0.01 * i + 0.009))
        codes += [f"N{i:02d}", f"E{i:02d}"]
    return codes, cells


def _metres(geoms: list[shapely.Geometry], lon: float, lat: float) -> np.ndarray:
    aeqd = pyproj.Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m", always_xy=True)
    return np.array([shapely.distance(shapely.transform(
        g, lambda xy: np.column_stack(aeqd.transform(xy[:, 0], xy[:, 1]))), shapely.Point(0, 0))
        for g in geoms])


def test_nearest_is_nearest_in_metres_bulk_and_single() -> None:
    codes, cells = _strips()
    index = GridIndex(codes, cells)
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(107.0, 107.099, 200), rng.uniform(30.8, 30.899, 200)
    res = index.resolve(lon, lat)
    assert (res.grid == -1).all()
    by_degrees = wrong = 0
    for k in range(200):
        m = _metres(cells, lon[k], lat[k])
        best = int(np.argmin(m))
        deg = int(np.argmin([shapely.distance(c, shapely.Point(lon[k], lat[k])) for c in cells]))
        by_degrees += deg != best
        got = int(res.nearest[k])
        one = index.resolve_one(lon[k], lat[k])
        assert one[2] == got and abs(one[3] - res.nearest_m[k]) < 1e-6
        far = m[got] > m[best] + max(0.5, 2e-3 * m[best])
        off = abs(res.nearest_m[k] - m[best]) > max(0.5, 3e-3 * m[best])
        wrong += far or off
    assert by_degrees > 10  # the probe would catch nearest-in-degrees
    assert wrong == 0
