from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon, box

from jurisgrid.seed.frame import geom_to_xy
from jurisgrid.seed.power import balance, power_cells, power_labels
from jurisgrid.seed.tiling import Sites, check_tiling, dissolve, partition

# a concave "C" shape (lon/lat near the county) that cuts Voronoi cells into pieces
C_SHAPE = shapely.set_precision(
    Polygon([(106.90, 30.80), (106.99, 30.80), (106.99, 30.82), (106.92, 30.82),
             (106.92, 30.88), (106.99, 30.88), (106.99, 30.90), (106.90, 30.90)]),
    1e-7,
)


def _sites(poly: Polygon, n: int, seed: int, sigma: float = 2e5) -> Sites:
    rng = np.random.default_rng(seed)
    pxy = geom_to_xy(poly)
    x0, y0, x1, y1 = pxy.bounds
    pts = np.column_stack([rng.uniform(x0, x1, 50 * n), rng.uniform(y0, y1, 50 * n)])
    pts = pts[shapely.contains_xy(pxy, pts[:, 0], pts[:, 1])][:n]
    return Sites(pts, rng.normal(0, sigma, n) if sigma else np.zeros(n))


def test_partition_of_concave_polygon_is_exact() -> None:
    for seed in range(5):
        (cells,) = partition([C_SHAPE], [_sites(C_SHAPE, 12, seed)])
        cells = [c for c in cells if not c.is_empty]  # random weights may empty a cell
        assert len(cells) >= 6
        assert check_tiling(C_SHAPE, cells) == []


def test_two_levels_nest_after_rederivation() -> None:
    parents = partition([C_SHAPE], [_sites(C_SHAPE, 5, 1, sigma=0)])[0]
    children = partition(parents, [_sites(p, 6, i, sigma=0) for i, p in enumerate(parents)])
    new_parents = [dissolve(cs) for cs in children]
    outline = dissolve(new_parents)
    assert check_tiling(outline, new_parents) == []
    for p, cs in zip(new_parents, children, strict=True):
        assert check_tiling(p, cs) == []
    assert check_tiling(outline, [c for cs in children for c in cs]) == []


def test_check_tiling_reports_problems() -> None:
    a, b = box(0, 0, 1, 1), box(1, 0, 2, 1)
    parent = box(0, 0, 2, 1)
    assert check_tiling(parent, [a, b]) == []
    overlap = check_tiling(parent, [a, box(0.9, 0, 2, 1)])
    assert any("coverage invalid" in p for p in overlap)
    assert any("overlap" in p for p in overlap)
    gap = check_tiling(parent, [a, box(1.1, 0, 2, 1)])
    assert any("differs from parent" in p for p in gap)
    assert any("MultiPolygon" in p for p in check_tiling(parent, [shapely.union(a, box(3, 0, 4, 1))]))
    assert any("empty" in p for p in check_tiling(parent, [a, b, Polygon()]))


def test_power_cells_agree_with_labels() -> None:
    rng = np.random.default_rng(3)
    centres = rng.uniform(0, 1000, (15, 2))
    weights = rng.normal(0, 5e3, 15)
    cells = power_cells(centres, weights, (-10, -10, 1010, 1010))
    pts = rng.uniform(0, 1000, (4000, 2))
    labels = power_labels(pts, centres, weights)
    for i, ring in enumerate(cells):
        inside = shapely.contains_xy(Polygon(ring), pts[:, 0], pts[:, 1]) if ring else np.zeros(4000, bool)
        assert np.array_equal(inside, labels == i)


def test_balance_reaches_targets() -> None:
    g = np.stack(np.meshgrid(np.arange(0, 1000, 10.0), np.arange(0, 1000, 10.0)), -1).reshape(-1, 2)
    targets = np.array([1, 1, 2, 4, 0.5])
    init = np.array([[100, 100], [900, 100], [500, 500], [100, 900], [900, 900]], dtype=float)
    bal = balance(g, np.ones(len(g)), init, targets, iterations=60)
    share = bal.loads / bal.loads.sum()
    assert np.allclose(share, targets / targets.sum(), atol=0.02)
