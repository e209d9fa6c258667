"""Candidate outline segments per cell: the bulk nearest search without a tree walk per point.

A point in no grid is nearest to the covered area at a point of its outline
(:meth:`jurisgrid.geo.lookup.GridIndex._outline`). Walking the STRtree for the nearest segment
costs ~20 µs a point (GEOS ``query_nearest``, mostly for points far from the outline, where many
tree nodes lie at similar distances) — four times a point that lies in a grid. Here the area
around the outline is cut once into cells (a quadtree under a uniform root raster, in the
outline tree's frame F: longitude scaled to the middle latitude), and each cell keeps the few
segments that can hold the metre-correct nearest of *any* point in it. A point then finds its
cell by arithmetic and measures only those segments in numpy (:func:`segment_metres`, the same
numbers as the tree path), so the answer is the same and the cost is that of the arithmetic.

Why a cell's list is complete: let ``c`` be its centre, ``h`` its half-diagonal and ``d`` the
distance in F from ``c`` to the nearest segment. Any point ``p`` of the cell has a segment within
``d + h`` in F. In ``p``'s local metric (metres at ``p``) each F-distance is scaled by between
``min(a)`` and ``max(a)`` (a = per-axis ratio of the local radii of curvature to F's), so the
metre-nearest segment of ``p`` is within ``(d + h)·r`` in F, with ``r = max(a)/min(a)`` taken
at the cell's worse latitude edge — and so within ``(d + h)·r + h`` of ``c``. The cell keeps
exactly the segments within that radius of ``c`` (one tree query at build time). Cells with
more than :data:`MAX_CANDIDATES` are split in four, down to :data:`MAX_DEPTH` levels. A cell that
no segment comes near and whose centre is covered lies wholly inside the grids (no outside point
lands there) and keeps nothing; points there, and points beyond the raster, are left to the
tree path (:meth:`CellIndex.lookup` says which).

A leaf keeps its list sorted by distance from its centre, so that a point at ``ρ`` from the
centre measures only the prefix within ``r·(d_min + ρ) + ρ`` (the same argument with the point's
own offset instead of the half-diagonal): about 20 segments a point instead of 35 on the demo
county. The build measures at most :data:`PAIR_BUDGET` (cell, segment) pairs: over a wide area
the cells nearest the outline are split first and the rest stay with the tree.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely import STRtree

from jurisgrid.geo.earth import metres_per_degree

MAX_CANDIDATES = 48     # a cell with more candidate segments is split in four
MAX_DEPTH = 3           # levels of splitting below the root raster
MAX_LEAF = 96           # a cell at the last level with more is left to the tree path
PAIR_BUDGET = 4_000_000  # candidate pairs measured while building (one county: ~3.3 million)
ROOT_CELLS = 32         # root raster: ROOT_CELLS × ROOT_CELLS cells
MARGIN = 0.25           # the raster covers the outline's box grown by this share of its size
_SLACK_REL, _SLACK_ABS = 1e-9, 1e-12   # rounding allowance on every radius


def segment_metres(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray,
                   lon: np.ndarray, lat: np.ndarray, m_lon: np.ndarray, m_lat: np.ndarray
                   ) -> np.ndarray:
    """Metres from each point (lon, lat) to the segment (ax, ay)–(bx, by) in its row, in the
    point's local frame: ``m_lon``, ``m_lat`` are the metres per degree there
    (:func:`jurisgrid.geo.earth.metres_per_degree`, computed once per point by the caller). At
    an end the end itself is taken (not ``a + 1·(b − a)``), so a vertex two grids share gives
    both the same number and the tie goes to the smallest code."""
    pax, pay = (ax - lon) * m_lon, (ay - lat) * m_lat    # segment ends in metres, the point
    pbx, pby = (bx - lon) * m_lon, (by - lat) * m_lat    # at (0, 0)
    dx, dy = pbx - pax, pby - pay
    dd = dx * dx + dy * dy
    t = np.clip(-(pax * dx + pay * dy) / np.where(dd > 0, dd, 1.0), 0.0, 1.0)
    end = t >= 1.0
    cx = np.where(end, pbx, pax + t * dx)
    cy = np.where(end, pby, pay + t * dy)
    return np.asarray(np.hypot(cx, cy))


def distortion(lat: np.ndarray, lat0: float) -> np.ndarray:
    """max(a)/min(a) at ``lat``: how far the local metric's two axes depart from frame F's
    proportions (F: longitude scaled to ``lat0``). 1.0 at ``lat0``; monotone away from it."""
    m_lon0, m_lat0 = metres_per_degree(lat0)
    m_lon, m_lat = metres_per_degree(lat)
    ax, ay = m_lon / m_lon0, m_lat / m_lat0
    return np.asarray(np.maximum(ax, ay) / np.minimum(ax, ay))


class _FrameSegments:
    """The outline segments in frame F, as the per-segment numbers a distance needs."""

    def __init__(self, fa: np.ndarray, fb: np.ndarray) -> None:
        self.ax, self.ay = fa[:, 0].copy(), fa[:, 1].copy()
        self.dx, self.dy = fb[:, 0] - fa[:, 0], fb[:, 1] - fa[:, 1]
        dd = self.dx * self.dx + self.dy * self.dy
        self.inv_dd = np.where(dd > 0, 1.0 / np.where(dd > 0, dd, 1.0), 0.0)

    def distance(self, px: np.ndarray, py: np.ndarray, si: np.ndarray) -> np.ndarray:
        """Euclidean distance in F from each point to segment ``si`` in its row."""
        ax, ay, dx, dy = self.ax[si], self.ay[si], self.dx[si], self.dy[si]
        ex, ey = px - ax, py - ay
        t = np.clip((ex * dx + ey * dy) * self.inv_dd[si], 0.0, 1.0)
        return np.asarray(np.hypot(t * dx - ex, t * dy - ey))


class CellIndex:
    """The quadtree of candidate segments (see the module docstring), as flat arrays.

    ``child[n]`` is the first of node n's four children (−1 for a leaf); a leaf's candidates
    are ``ids[start[n]:start[n] + count[n]]``, and ``count[n] == -1`` marks a leaf left to the
    tree path (wholly covered)."""

    def __init__(self, tree: STRtree, a: np.ndarray, b: np.ndarray, k: np.ndarray, lat0: float,
                 covered: STRtree, tolerance: float) -> None:
        """``tree``: the segments a–b in frame F (coordinates times ``k``); ``covered``: the
        grids (degrees), to tell a cell wholly inside them."""
        self._k = k
        fa, fb = a * k, b * k
        segs = _FrameSegments(fa, fb)
        lo = np.minimum(fa.min(axis=0), fb.min(axis=0))
        hi = np.maximum(fa.max(axis=0), fb.max(axis=0))
        size = float(max(hi[0] - lo[0], hi[1] - lo[1], 1e-6))
        centre = (lo + hi) / 2
        root = self._root = ROOT_CELLS
        self._cell0 = size * (1 + 2 * MARGIN) / root
        self._origin = centre - self._cell0 * root / 2
        # nodes, level by level; the root raster is nodes 0 .. root² − 1 (row-major in y)
        iy, ix = np.divmod(np.arange(root * root), root)
        cx = self._origin[0] + (ix + 0.5) * self._cell0
        cy = self._origin[1] + (iy + 0.5) * self._cell0
        half = np.full(len(cx), self._cell0 / 2)
        # candidate pairs (node of this level, segment), grouped by node: at the root, the
        # segments within the cell's radius (below) of the centre's nearest, from the tree
        centres = shapely.points(cx, cy)
        _, near0 = tree.query_nearest(centres, all_matches=False, return_distance=True)
        ci, si = tree.query(centres, predicate="dwithin",
                            distance=self._radius(near0, cy, half, k, lat0))
        order = np.argsort(ci, kind="stable")
        ci, si = ci[order], si[order]
        child_parts: list[np.ndarray] = []
        count_parts: list[np.ndarray] = []
        id_parts: list[np.ndarray] = []
        dc_parts: list[np.ndarray] = []     # F-distance of each leaf candidate to the centre
        centre_parts: list[np.ndarray] = []
        r_parts: list[np.ndarray] = []
        first = 0                          # node number of this level's first node
        processed = 0                      # candidate pairs measured so far
        for depth in range(MAX_DEPTH + 1):
            n = len(cx)
            processed += len(ci)
            dist = segs.distance(cx[ci], cy[ci], si)
            # the nearest segment of each centre among the parent's candidates (a cell's list
            # holds every segment that can be nearest in metres to a point of the cell, so
            # the parent's list holds the child's; the minimum here is at least the true one,
            # which only widens the radius)
            starts = np.flatnonzero(np.r_[True, ci[1:] != ci[:-1]])
            near = np.full(n, np.inf)
            near[ci[starts]] = np.minimum.reduceat(dist, starts)
            hd = half * np.sqrt(2.0)
            keep_pair = dist <= self._radius(near, cy, half, k, lat0)[ci]
            ci, si, dist = ci[keep_pair], si[keep_pair], dist[keep_pair]
            counts = np.bincount(ci, minlength=n)
            # no segment near and the centre covered (beyond the tolerance): all covered
            clear = near > hd * (1 + _SLACK_REL) + tolerance * 2
            inside = np.zeros(n, dtype=bool)
            if clear.any():
                degrees = shapely.points(cx[clear] / k[0], cy[clear] / k[1])
                hit, _ = covered.query(degrees, predicate="intersects")
                inside[np.flatnonzero(clear)[np.unique(hit)]] = True
            split = (counts > MAX_CANDIDATES) & ~inside & (depth < MAX_DEPTH)
            if processed + 4 * int(counts[split].sum()) > PAIR_BUDGET:
                # a wide area: the build stays bounded — split the cells with the fewest
                # candidates (those nearest the outline) while the budget lasts; the others
                # stay leaves, or go to the tree path with too many candidates
                by_count = np.flatnonzero(split)[np.argsort(counts[split], kind="stable")]
                fits = np.cumsum(4 * counts[by_count]) <= PAIR_BUDGET - processed
                split[:] = False
                split[by_count[fits]] = True
            tree_path = inside | (~split & ((counts > MAX_LEAF) | (counts == 0)))
            leaf = ~split & ~tree_path
            # a leaf's candidates nearest its centre first: a point then measures only the
            # prefix its own position can need (lookup)
            lp = leaf[ci]
            order = np.lexsort((dist[lp], ci[lp]))
            id_parts.append(si[lp][order])
            dc_parts.append(dist[lp][order])
            centre_parts.append(np.column_stack([cx, cy]))
            r_parts.append(np.maximum(distortion((cy - half) / k[1], lat0),
                                      distortion((cy + half) / k[1], lat0)))
            count_parts.append(np.where(split, 0, np.where(tree_path, -1, counts)))
            child = np.full(n, -1, dtype=np.int64)
            next_first = first + n
            ns = int(split.sum())
            child[split] = next_first + 4 * np.arange(ns)
            child_parts.append(child)
            first = next_first
            if not ns:
                break
            # each split node's four children take its pairs (filtered at the next level);
            # children in the order (−x −y), (+x −y), (−x +y), (+x +y): bit 0 = x, bit 1 = y
            # pairs stay grouped by node: child 4j + q (q = 0..3) of the j-th split node
            start = np.cumsum(counts) - counts
            rep = np.repeat(counts[split], 4)
            base = np.repeat(np.repeat(start[split], 4), rep)
            ci = np.repeat(np.arange(4 * ns), rep)
            si = si[base + np.arange(len(ci)) - np.repeat(np.cumsum(rep) - rep, rep)]
            q = half[split] / 2
            px, py = cx[split], cy[split]
            cx = np.repeat(px, 4) + np.tile([-1, 1, -1, 1], ns) * np.repeat(q, 4)
            cy = np.repeat(py, 4) + np.tile([-1, -1, 1, 1], ns) * np.repeat(q, 4)
            half = np.repeat(q, 4)
            # this level's children come right after it, so the node numbers above hold
        self._child = np.concatenate(child_parts)
        self._count = np.concatenate(count_parts).astype(np.int64)
        self._ids = np.concatenate(id_parts).astype(np.int64)
        self._dc = np.concatenate(dc_parts)
        self._centre = np.concatenate(centre_parts)
        self._r = np.concatenate(r_parts)
        self._start = np.concatenate([[0], np.cumsum(np.maximum(self._count, 0))[:-1]])
        self.nodes = len(self._child)

    @staticmethod
    def _radius(near: np.ndarray, cy: np.ndarray, half: np.ndarray, k: np.ndarray,
                lat0: float) -> np.ndarray:
        """How far from a cell's centre (F) its candidates can be, given the centre's nearest
        segment at ``near``: (near + h)·r + h, h the half-diagonal, r the distortion at the
        cell's worse latitude edge (module docstring), with a rounding allowance."""
        hd = half * np.sqrt(2.0)
        r = np.maximum(distortion((cy - half) / k[1], lat0), distortion((cy + half) / k[1], lat0))
        return np.asarray(((near + hd) * r + hd) * (1 + _SLACK_REL) + _SLACK_ABS)

    def lookup(self, lon: np.ndarray, lat: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(served, points, segments): the points this index answers (ascending) and their
        candidate pairs, grouped by point in ascending order; the other points are left to the
        tree path."""
        fx = lon * self._k[0]
        fy = lat * self._k[1]
        gx = (fx - self._origin[0]) / self._cell0
        gy = (fy - self._origin[1]) / self._cell0
        root = self._root
        ok = (gx >= 0) & (gx < root) & (gy >= 0) & (gy < root)
        pts = np.flatnonzero(ok)
        gx, gy = gx[pts], gy[pts]
        ix = np.minimum(gx.astype(np.int64), root - 1)
        iy = np.minimum(gy.astype(np.int64), root - 1)
        node = iy * root + ix
        # position inside the cell, in [0, 1) on each axis, halved at each level down
        ux, uy = gx - ix, gy - iy
        active = np.flatnonzero(self._child[node] >= 0)
        while len(active):
            ux[active] *= 2
            uy[active] *= 2
            bx = np.minimum(ux[active].astype(np.int64), 1)
            by = np.minimum(uy[active].astype(np.int64), 1)
            ux[active] -= bx
            uy[active] -= by
            node[active] = self._child[node[active]] + bx + 2 * by
            active = active[self._child[node[active]] >= 0]
        counts = self._count[node]
        served = counts >= 0
        pts, node, counts = pts[served], node[served], counts[served]
        # of the leaf's list (nearest the centre c first), the prefix within
        # r·(d_min + ρ) + ρ of c, ρ = |p − c|: p has a segment within d_min + ρ, its nearest in
        # metres lies within r times that, and so within that plus ρ of c
        rho = np.hypot(fx[pts] - self._centre[node, 0], fy[pts] - self._centre[node, 1])
        start = self._start[node]
        dmin = self._dc[np.minimum(start, len(self._dc) - 1)] if len(self._dc) else rho
        limit = ((self._r[node] * (dmin + rho) + rho) * (1 + _SLACK_REL) + _SLACK_ABS)
        lo, hi = start.copy(), start + counts       # first entry beyond the limit, by halves
        active = np.flatnonzero(lo < hi)
        while len(active):
            mid = (lo[active] + hi[active]) // 2
            within = self._dc[mid] <= limit[active]
            lo[active] = np.where(within, mid + 1, lo[active])
            hi[active] = np.where(within, hi[active], mid)
            active = active[lo[active] < hi[active]]
        counts = lo - start
        total = int(counts.sum())
        pi = np.repeat(pts, counts)
        ends = np.cumsum(counts)
        offset = np.repeat(start - (ends - counts), counts)
        si = self._ids[offset + np.arange(total)]
        return pts, pi, si
