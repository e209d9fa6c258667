"""The bulk nearest search on the outline segments (geo/lookup.py) names the same grid and
metres as measuring every grid polygon in the point's local frame (Shapely, brute force):
points far and near, in a hole between grids, and exactly level with a vertex two grids share
(a tie: the smallest code wins)."""

from __future__ import annotations

import numpy as np
import shapely

from jurisgrid.geo.lookup import GridIndex, local_distance_m


def _coverage() -> tuple[list[str], list[shapely.Geometry]]:
    """A 4 × 4 block of 0.01° squares near Qu County with the two middle ones missing (a hole),
    codes in a shuffled order so that ties are not decided by position."""
    x0, y0, d = 106.90, 30.80, 0.01
    codes, geoms = [], []
    rng = np.random.default_rng(3)
    labels = rng.permutation(16)
    for i in range(4):
        for j in range(4):
            if (i, j) in ((1, 1), (2, 1)):
                continue
            codes.append(f"G{labels[i * 4 + j]:02d}")
            geoms.append(shapely.box(x0 + i * d, y0 + j * d, x0 + (i + 1) * d, y0 + (j + 1) * d))
    return codes, geoms


def _oracle(codes: list[str], geoms: list[shapely.Geometry], lon: float, lat: float
            ) -> tuple[str, float]:
    metres = [local_distance_m(lon, lat, g) for g in geoms]
    best = min(metres)
    return min(c for c, m in zip(codes, metres, strict=True) if m == best), best


def test_outline_nearest_equals_the_brute_force() -> None:
    codes, geoms = _coverage()
    index = GridIndex(codes, geoms)
    rng = np.random.default_rng(5)
    lon = rng.uniform(106.80, 107.00, 3000)
    lat = rng.uniform(30.70, 30.94, 3000)
    # in the hole, and level with shared outline vertices (ties between two grids)
    lon = np.r_[lon, 106.915, 106.925, 106.89, 106.95, 106.92]
    lat = np.r_[lat, 30.815, 30.8155, 30.82, 30.79, 30.77]
    res = index.resolve(lon, lat)
    outside = np.flatnonzero(res.grid < 0)
    assert len(outside) > 2000
    wrong = []
    for k in outside:
        code, metres = _oracle(codes, geoms, float(lon[k]), float(lat[k]))
        got = index.codes[res.nearest[k]]
        if got != code or abs(res.nearest_m[k] - metres) > 1e-6 * max(1.0, metres):
            wrong.append((k, got, code, res.nearest_m[k], metres))
    assert wrong == []
    # the single-point path agrees
    for k in outside[:50]:
        _, _, near, metres = index.resolve_one(float(lon[k]), float(lat[k]))
        assert (near, metres) == (res.nearest[k], res.nearest_m[k])


def test_a_shared_vertex_tie_goes_to_the_smallest_code() -> None:
    codes, geoms = _coverage()
    index = GridIndex(codes, geoms)
    # due south of the vertex that the two bottom-left squares share
    vx, vy = 106.90 + 1 * 0.01, 30.80
    res = index.resolve(np.array([vx]), np.array([30.79]))
    pair = [c for c, g in zip(codes, geoms, strict=True)
            if shapely.intersects(g, shapely.Point(vx, vy))]
    assert len(pair) == 2
    assert index.codes[res.nearest[0]] == min(pair)
