"""GridIndex (pure Shapely): both candidate strategies — the standing tree over the grids for
few points, a throw-away tree over the points for many — give the boundary rule's answer,
checked against a brute-force oracle on a tiling with shared edges and vertices."""

from __future__ import annotations

import numpy as np
import shapely

from jurisgrid.geo.lookup import TOLERANCE_DEG, GridIndex


def _tiling(n: int = 12) -> tuple[list[str], np.ndarray]:
    """n×n unit-ish cells with wobbly shared edges (so edges are not axis-parallel only),
    codes in a shuffled order so the smallest code is not the first cell."""
    rng = np.random.default_rng(3)
    xs = np.linspace(107.0, 107.12, n + 1)
    ys = np.linspace(30.8, 30.92, n + 1)
    jx = rng.uniform(-0.002, 0.002, (n + 1, n + 1))
    jx[0, :] = jx[-1, :] = jx[:, 0] = jx[:, -1] = 0
    nodes = {(i, j): (xs[i] + jx[i, j], ys[j] + jx[j, i]) for i in range(n + 1) for j in range(n + 1)}
    cells = [shapely.Polygon([nodes[i, j], nodes[i + 1, j], nodes[i + 1, j + 1], nodes[i, j + 1]])
             for i in range(n) for j in range(n)]
    codes = [f"G{c:04d}" for c in rng.permutation(len(cells))]
    return codes, np.asarray(cells, dtype=object)


def _oracle(codes: list[str], cells: np.ndarray, x: float, y: float) -> tuple[int, bool]:
    p = shapely.Point(x, y)
    hits = [i for i, c in enumerate(cells) if shapely.dwithin(c, p, TOLERANCE_DEG)]
    if not hits:
        return -1, False
    win = min(hits, key=lambda i: codes[i])
    return win, bool(shapely.dwithin(cells[win].boundary, p, TOLERANCE_DEG))


def test_both_strategies_agree_with_the_oracle() -> None:
    codes, cells = _tiling()
    index = GridIndex(codes, cells)
    rng = np.random.default_rng(9)
    vertices = shapely.get_coordinates(cells)
    mids = (vertices[:-1] + vertices[1:]) / 2
    random = np.column_stack([rng.uniform(106.99, 107.13, 3000), rng.uniform(30.79, 30.93, 3000)])
    pts = np.vstack([vertices, mids, random])
    rng.shuffle(pts)
    assert len(pts) >= 1000 > len(codes)  # the many-points strategy is taken for the whole set
    many = index.resolve(pts[:, 0], pts[:, 1])
    few = [index.resolve(pts[i:i + 100, 0], pts[i:i + 100, 1]) for i in range(0, len(pts), 100)]
    few_grid = np.concatenate([r.grid for r in few])
    few_on = np.concatenate([r.on_boundary for r in few])
    assert np.array_equal(many.grid, few_grid)
    assert np.array_equal(many.on_boundary, few_on)
    expected = [_oracle(codes, cells, x, y) for x, y in pts.tolist()]
    assert many.grid.tolist() == [e[0] for e in expected]
    assert many.on_boundary.tolist() == [e[1] for e in expected]
    assert many.on_boundary.sum() >= len(vertices)  # the probes really test the rule
    assert (many.grid < 0).sum() > 0  # and some points lie outside every grid
    one = [index.resolve_one(x, y)[:2] for x, y in pts[:500].tolist()]
    assert one == [(e[0], e[1]) for e in expected[:500]]
