"""``nearest`` names the grid nearest on the ground (metres), not in degrees — for the bulk path,
the single-point path and the SQL reference path — checked against an independent oracle: Shapely
distances in an azimuthal-equidistant projection centred on each point (pyproj)."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely

from jurisgrid.db import read_connection
from jurisgrid.models.responsible import responsible_for
from tests.oracle import export_grids

BATCH = """query($p: Coordinates!) { responsibleForMany(points: $p) {
  gridCodes nearestGridCodes nearestDistanceM } }"""
SINGLE = """query($lon: Float!, $lat: Float!) { responsibleFor(lon: $lon, lat: $lat) {
  grid { code } nearest { grid { code } distanceM } } }"""


def metric_distances(geoms: list[shapely.Geometry], lon: float, lat: float) -> np.ndarray:
    """Metres from (lon, lat) to every geometry, in an equidistant projection centred there."""
    aeqd = pyproj.Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m",
        always_xy=True)
    out = []
    for g in geoms:
        local = shapely.transform(g, lambda xy: np.column_stack(aeqd.transform(xy[:, 0], xy[:, 1])))
        out.append(shapely.distance(local, shapely.Point(0, 0)))
    return np.asarray(out)


@pytest.fixture(scope="module")
def outside(engine):
    """200 random points in no grid, within ~5 km of the county, with the oracle's distances."""
    grids = export_grids(engine)
    union = shapely.union_all(grids.geoms)
    x0, y0, x1, y1 = union.bounds
    rng = np.random.default_rng(14)
    pts: list[tuple[float, float]] = []
    while len(pts) < 200:
        x, y = rng.uniform(x0 - 0.05, x1 + 0.05), rng.uniform(y0 - 0.05, y1 + 0.05)
        if shapely.distance(union, shapely.Point(x, y)) > 1e-5:
            pts.append((x, y))
    dists = [metric_distances(grids.geoms, x, y) for x, y in pts]
    return grids, np.asarray(pts), dists


def _check(grids, dists, named: list, metres: list) -> None:
    index = {c: i for i, c in enumerate(grids.codes)}
    wrong = []
    for k, (code, m) in enumerate(zip(named, metres, strict=True)):
        best = float(dists[k].min())
        got = float(dists[k][index[code]])
        # planar lon/lat edges vs geodesic ones: a few metres over 20 km, never hundreds
        if got > best + max(0.5, best * 2e-3) or abs(m - best) > max(0.5, best * 3e-3):
            wrong.append((k, code, got, best, m))
    assert wrong == [], f"{len(wrong)} of {len(named)} not the nearest in metres: {wrong[:5]}"


def test_the_probe_would_catch_degrees(outside) -> None:
    """In degrees, some of these points have another nearest grid: the probe can fail."""
    grids, pts, dists = outside
    by_deg = [int(np.argmin([shapely.distance(g, shapely.Point(x, y)) for g in grids.geoms]))
              for x, y in pts.tolist()]
    assert sum(by_deg[k] != int(np.argmin(dists[k])) for k in range(len(pts))) > 0


def test_bulk_nearest_is_nearest_in_metres(gql, outside) -> None:
    grids, pts, dists = outside
    out = gql(BATCH, {"p": pts.tolist()})
    assert "errors" not in out, out
    b = out["data"]["responsibleForMany"]
    assert b["gridCodes"] == [None] * len(pts)
    _check(grids, dists, b["nearestGridCodes"], b["nearestDistanceM"])


def test_single_point_nearest_is_nearest_in_metres(gql, outside) -> None:
    grids, pts, dists = outside
    named, metres = [], []
    for x, y in pts.tolist():
        out = gql(SINGLE, {"lon": x, "lat": y})
        assert "errors" not in out, out
        r = out["data"]["responsibleFor"]
        assert r["grid"] is None
        named.append(r["nearest"]["grid"]["code"])
        metres.append(r["nearest"]["distanceM"])
    _check(grids, dists, named, metres)


def test_sql_nearest_is_nearest_in_metres(engine, outside) -> None:
    grids, pts, dists = outside
    named, metres = [], []
    with read_connection(engine) as conn:
        for x, y in pts.tolist():
            a = responsible_for(conn, lon=x, lat=y)
            assert a.units["grid"] is None and a.nearest_code is not None
            named.append(a.nearest_code)
            metres.append(a.nearest_m)
    _check(grids, dists, named, metres)
