"""Grids (网格): balanced clusters of a community's address points, tiled as power cells."""

from __future__ import annotations

import numpy as np
from shapely.geometry import Polygon

from .frame import FloatArray
from .power import IntArray, balance, kmeans_pp, power_labels
from .tiling import Sites, partition

HOUSEHOLDS_PER_GRID = 350.0
"""Target size; docs/design.md (Sizing policy defaults) asks for 150–500 households per grid."""


def grid_count(households: int) -> int:
    return max(1, round(households / HOUSEHOLDS_PER_GRID))


def grid_sites(rng: np.random.Generator, xy: FloatArray, households: FloatArray) -> Sites:
    """Sites (metres) of ``grid_count`` grids balancing the households of one community.

    Weighted k-means++ seeds, then capacity-constrained power clustering so that each grid
    gets about the same number of households; sites left without households are dropped.
    """
    res = households > 0
    pts, mass = xy[res], households[res].astype(np.float64)
    k = min(grid_count(int(mass.sum())), len(np.unique(pts, axis=0)))
    if k <= 1:
        return Sites(np.asarray(pts[:1] if len(pts) else xy[:1], dtype=np.float64), np.zeros(1))
    init = kmeans_pp(rng, pts, mass, k)
    bal = balance(pts, mass, init, np.ones(k), iterations=25, polish=15, step=0.3)
    keep = bal.loads > 0
    # a dropped site owned no point, so the others keep their points
    return Sites(bal.centres[keep], bal.weights[keep])


def build_grids(
    communities: list[Polygon], sites: list[Sites]
) -> tuple[list[list[Polygon]], list[IntArray]]:
    """Tile every community with the power cells of its grid sites (exact, shared edges).

    Cells that ended up empty are dropped; the grids of a community are ordered from north
    to south, then west to east (so 第1网格 is the north-western one).  Also returns, per
    community, the position of each site's grid in that order (-1 for a dropped site).
    """
    cells = partition(communities, sites)
    out = []
    ranks = []
    for cs in cells:
        kept = [i for i, c in enumerate(cs) if not c.is_empty]
        kept.sort(key=lambda i: (-round(cs[i].centroid.y, 3), cs[i].centroid.x))
        rank = np.full(len(cs), -1, dtype=np.int64)
        rank[kept] = np.arange(len(kept))
        out.append([cs[i] for i in kept])
        ranks.append(rank)
    return out, ranks


def grid_hint(xy: FloatArray, sites: Sites, rank: IntArray) -> IntArray:
    """Likely grid (position within its community, -1 if unknown) of each point."""
    return rank[power_labels(xy, sites.centres, sites.weights, sites.background)]
