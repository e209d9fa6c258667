"""The bulk nearest search through the cell index (geo/nearest_cells.py) names the same grid
and metres as two independent computations: every grid polygon measured by Shapely in the
point's local frame (the project's definition of metres, brute force), and every grid measured
by Shapely in a pyproj azimuthal equidistant projection centred on the point (an independent
metre). Points inside, just outside, far outside, beyond the raster, level with the county's
corners and in a hole; the tree path (before the index is built) answers the same."""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

from jurisgrid.geo import nearest_cells
from jurisgrid.geo.lookup import GridIndex, local_distance_m


def _coverage() -> tuple[list[str], list[shapely.Geometry]]:
    """An irregular 6 × 5 block of jittered quadrilaterals near Qu County (shared vertices, so
    shared edges match), two cells missing in the middle (a hole) and one at a corner (a notch);
    codes shuffled so that ties are not decided by position."""
    rng = np.random.default_rng(11)
    x0, y0, d = 106.70, 30.70, 0.02
    nx, ny = 6, 5
    gx = x0 + d * np.arange(nx + 1)[:, None] + rng.uniform(-0.004, 0.004, (nx + 1, ny + 1))
    gy = y0 + d * np.arange(ny + 1)[None, :] + rng.uniform(-0.004, 0.004, (nx + 1, ny + 1))
    labels = rng.permutation(nx * ny)
    codes, geoms = [], []
    for i in range(nx):
        for j in range(ny):
            if (i, j) in ((2, 2), (3, 2), (5, 4)):
                continue
            ring = [(gx[i, j], gy[i, j]), (gx[i + 1, j], gy[i + 1, j]),
                    (gx[i + 1, j + 1], gy[i + 1, j + 1]), (gx[i, j + 1], gy[i, j + 1])]
            codes.append(f"G{labels[i * ny + j]:02d}")
            geoms.append(shapely.Polygon(ring))
    return codes, geoms


def _points(geoms: list[shapely.Geometry]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    w, h = x1 - x0, y1 - y0
    near_lon = rng.uniform(x0 - 0.1 * w, x1 + 0.1 * w, 800)
    near_lat = rng.uniform(y0 - 0.1 * h, y1 + 0.1 * h, 800)
    far_lon = rng.uniform(x0 - 3 * w, x1 + 3 * w, 200)     # much of it beyond the raster
    far_lat = rng.uniform(y0 - 3 * h, y1 + 3 * h, 200)
    # level with the corners of the covered area's box, just off them, and far along the
    # diagonals
    cx = np.array([x0, x1, x1, x0])
    cy = np.array([y0, y0, y1, y1])
    sx, sy = np.sign(cx - (x0 + x1) / 2), np.sign(cy - (y0 + y1) / 2)
    corners_lon = np.concatenate([cx + sx * s for s in (1e-6, 1e-3, 0.05, 2.0)])
    corners_lat = np.concatenate([cy + sy * s for s in (1e-6, 1e-3, 0.05, 2.0)])
    return (np.r_[near_lon, far_lon, corners_lon], np.r_[near_lat, far_lat, corners_lat])


def _aeqd_metres(lon: float, lat: float, geoms: list[shapely.Geometry]) -> np.ndarray:
    crs = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +ellps=WGS84 +units=m")
    tr = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)

    def to(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))

    return np.array([shapely.distance(shapely.transform(g, to), shapely.Point(0.0, 0.0))
                     for g in geoms])


def test_cell_nearest_equals_two_independent_oracles() -> None:
    codes, geoms = _coverage()
    index = GridIndex(codes, geoms)
    lon, lat = _points(geoms)
    tree_res = index.resolve(lon, lat)                  # small batch: the tree path
    cells = index.prepare_nearest()
    served, _, _ = cells.lookup(lon, lat)
    res = index.resolve(lon, lat)                       # now through the cells
    outside = np.flatnonzero(res.grid < 0)
    assert len(outside) > 400
    # most points went through the cells, and some (far away) through the tree
    assert 0.6 * len(outside) < np.isin(outside, served).sum() < len(outside)
    assert np.array_equal(res.grid, tree_res.grid)
    assert np.array_equal(res.nearest, tree_res.nearest)
    assert np.array_equal(res.nearest_m, tree_res.nearest_m, equal_nan=True)
    wrong: list[tuple[object, ...]] = []
    for k in outside:
        x, y = float(lon[k]), float(lat[k])
        local = np.array([local_distance_m(x, y, g) for g in geoms])
        code = min(c for c, m in zip(codes, local, strict=True) if m == local.min())
        got = index.codes[res.nearest[k]]
        if got != code or abs(res.nearest_m[k] - local.min()) > 1e-6 * max(1.0, local.min()):
            wrong.append(("local", k, got, code, res.nearest_m[k], local.min()))
        if k % 10 == 0 and local.min() < 50_000:   # slow: every tenth point, within 50 km
            # the local frame is a first-order metre (its scale is the point's; edges are
            # straight in degrees, not in the projection): within 0.1 % and a bow
            aeqd = _aeqd_metres(x, y, geoms)
            tol = 1e-3 * aeqd.min() + 0.1   # + the bow of a 3 km edge between the two
            if abs(res.nearest_m[k] - aeqd.min()) > tol or (
                    aeqd[codes.index(got)] > aeqd.min() + 2 * tol):
                wrong.append(("aeqd", k, got, res.nearest_m[k], aeqd.min()))
    assert wrong == []


def test_a_point_in_a_cell_wholly_inside_is_left_to_the_tree() -> None:
    codes, geoms = _coverage()
    index = GridIndex(codes, geoms)
    cells = index.prepare_nearest()
    # the middle of a grid far from the outline sits in a cell the index marks as covered or
    # in one with candidates; either way the answer (inside) comes from the grids themselves
    lon, lat = np.array([106.73]), np.array([30.73])
    served, _, _ = cells.lookup(lon, lat)
    res = index.resolve(lon, lat)
    assert res.grid[0] >= 0 and res.nearest[0] == -1
    assert len(served) in (0, 1)


def test_cell_lists_stay_small_near_the_outline() -> None:
    codes, geoms = _coverage()
    cells = GridIndex(codes, geoms).prepare_nearest()
    leaves = cells._count[cells._count > 0]
    assert leaves.size and leaves.max() <= nearest_cells.MAX_LEAF


def test_a_small_build_budget_leaves_more_to_the_tree_and_the_same_answers(monkeypatch) -> None:
    codes, geoms = _coverage()
    lon, lat = _points(geoms)
    monkeypatch.setattr(nearest_cells, "MAX_CANDIDATES", 2)   # split this small area deep
    full = GridIndex(codes, geoms)
    full.prepare_nearest()
    monkeypatch.setattr(nearest_cells, "PAIR_BUDGET", 0)      # the root raster only
    small = GridIndex(codes, geoms)
    cells = small.prepare_nearest()
    assert cells.nodes == 1024 < full.prepare_nearest().nodes
    a, b = full.resolve(lon, lat), small.resolve(lon, lat)
    assert np.array_equal(a.nearest, b.nearest)
    assert np.array_equal(a.nearest_m, b.nearest_m, equal_nan=True)


def test_a_long_outline_keeps_the_tree(monkeypatch) -> None:
    from jurisgrid.geo import lookup

    codes, geoms = _coverage()
    lon, lat = _points(geoms)
    monkeypatch.setattr(lookup, "CELL_BUILD_POINTS", 10)
    monkeypatch.setattr(lookup, "CELL_MAX_SEGMENTS", 5)
    index = GridIndex(codes, geoms)
    res = index.resolve(lon, lat)
    assert index._cell_index is None and (res.nearest >= 0).sum() > 400
    monkeypatch.setattr(lookup, "CELL_MAX_SEGMENTS", 100_000)
    index.resolve(lon, lat)
    assert index._cell_index is not None    # a batch over CELL_BUILD_POINTS builds it
