"""Point → grid under the boundary rule, in memory (docs/design.md: Invariants 4, Performance principles).

The rule, identical to ``jg_grid_at()`` in SQL: the candidates for a point are the grids within
``TOLERANCE_DEG`` (1e-7°, about 1 cm) of it — the grid that covers it and any grid whose
boundary passes within that distance; the candidate with the smallest code wins. The point is
*on a boundary* when it lies within the tolerance of the winning grid's boundary (a shared edge
or vertex, or the county outline). A point with no candidate resolves to nothing, and the answer
names the nearest grid *on the ground* (in metres, in a local frame at the point) and its distance.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely import STRtree

from jurisgrid.geo.earth import EARTH_RADIUS_M, metres_per_degree
from jurisgrid.geo.earth import WGS84_A as WGS84_A  # re-exported (planning/geometry.py)
from jurisgrid.geo.earth import WGS84_E2 as WGS84_E2
from jurisgrid.geo.nearest_cells import CellIndex, distortion, segment_metres

TOLERANCE_DEG = 1e-7
# a batch with this many points in no grid builds the cell index (geo/nearest_cells.py) if it
# is not built yet; smaller ones use the tree until a large one has built it (the build costs
# about what ~50,000 tree searches do)
CELL_BUILD_POINTS = 20_000
# an outline longer than this (many counties in one index: bench.province) keeps the tree: its
# cells would need a build many times a county's (geo/nearest_cells.py: PAIR_BUDGET)
CELL_MAX_SEGMENTS = 12_000


def haversine_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres (mean Earth radius), vectorised."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def local_distance_m(lon: float, lat: float, geom: shapely.Geometry) -> float:
    """Metres from a point to a geometry, in a local frame scaled by the ellipsoid's radii of
    curvature at the point (:func:`jurisgrid.geo.earth.metres_per_degree`).

    Within a few kilometres this agrees with PostGIS ``geography`` distances to well under a
    millimetre per metre — unlike measuring in degrees, where a degree of longitude is 14 %
    shorter than a degree of latitude here and the nearest point found in degrees is not the
    nearest on the ground.
    """
    scale = metres_per_degree(lat)
    local = shapely.transform(geom, lambda xy: (xy - (lon, lat)) * scale)
    return float(shapely.distance(local, shapely.Point(0.0, 0.0)))


def nearest_search_radius_deg(lat: Any, nearest_in_degrees: Any) -> Any:
    """How far (in degrees) the grid nearest in metres can be, given the distance in degrees to
    the grid nearest in degrees: that grid is at most ``d·m_lat`` metres away, and a grid ``r``
    degrees away is at least ``r·m_lon`` metres away, so the one nearest in metres lies within
    ``d·m_lat/m_lon`` degrees."""
    m_lon, m_lat = metres_per_degree(lat)
    return nearest_in_degrees * (m_lat / m_lon) * (1.0 + 1e-9) + 1e-12


@dataclass(frozen=True)
class Resolution:
    """Per-point answers, in input order. ``grid`` is an index into the index's grids, or -1."""

    grid: np.ndarray            # int64, -1 where no grid
    on_boundary: np.ndarray     # bool
    nearest: np.ndarray         # int64, index of the nearest grid where grid == -1, else -1
    nearest_m: np.ndarray       # float, metres to the nearest grid where grid == -1, else nan


class GridIndex:
    """An STRtree over a set of grids, answering the boundary rule for many points at once."""

    def __init__(self, codes: list[str], geoms: np.ndarray | list, *, cells: bool = True) -> None:
        """``cells=False`` keeps the bulk nearest search on the tree alone (bench.responsible
        compares the two)."""
        if len(codes) != len(geoms):
            raise ValueError("codes and geometries differ in length")
        self.codes = list(codes)
        self.geoms = np.asarray(geoms, dtype=object)
        # rank by code: the winner among candidates is the smallest rank
        order = np.argsort(np.asarray(self.codes, dtype=object), kind="stable")
        self._rank = np.empty(len(order), dtype=np.int64)
        self._rank[order] = np.arange(len(order))
        self._by_rank = order
        self._boundaries = shapely.boundary(self.geoms)
        shapely.prepare(self.geoms)
        shapely.prepare(self._boundaries)
        self._tree = STRtree(self.geoms)
        self._segments: tuple[np.ndarray, np.ndarray, np.ndarray, STRtree, float,
                              np.ndarray] | None = None
        self._cell_index: CellIndex | None = None
        self._use_cells = cells
        self._cells_lock = threading.Lock()  # one build, when a request and a prebuild race

    def __len__(self) -> int:
        return len(self.codes)

    def boundary(self, i: int) -> shapely.Geometry:
        return self._boundaries[i]

    def resolve_one(self, lon: float, lat: float) -> tuple[int, bool, int, float]:
        """One point, without the array machinery of :meth:`resolve` (a third of its time):
        (grid, on_boundary, nearest, nearest_m) with the meanings of :class:`Resolution`."""
        point = shapely.Point(lon, lat)
        if not len(self.codes):
            return -1, False, -1, float("nan")
        cands = self._tree.query(point, predicate="dwithin", distance=TOLERANCE_DEG)
        if len(cands):
            grid = int(self._by_rank[self._rank[cands].min()])
            return grid, bool(shapely.dwithin(self._boundaries[grid], point, TOLERANCE_DEG)), -1, float("nan")
        near, near_m = self._nearest_m(point, lon, lat)
        return -1, False, near, near_m

    def _nearest_m(self, point: shapely.Geometry, lon: float, lat: float) -> tuple[int, float]:
        """The grid nearest to the point in metres (ties: the smallest code) and the metres."""
        near, metres = self._nearest_many(np.array([point], dtype=object), np.array([lon]),
                                          np.array([lat]))
        return int(near[0]), float(metres[0])

    def _outline(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, STRtree, float,
                                np.ndarray] | None:
        """The segments of the grids' boundaries that no other grid shares — the outline of
        the covered area, holes included — as (start, end, owning grid, tree), built once.

        A point in no grid is nearest (in any metric) to the covered area at a point of its
        outline, and the grids with that point are the nearest grids; a shared edge has grids
        on both sides and is never that point. So the nearest search needs only these few
        segments — a point-to-segment distance each, in numpy — instead of whole polygons."""
        if self._segments is None:
            parts, owner = shapely.get_parts(self._boundaries, return_index=True)
            coords, which = shapely.get_coordinates(parts, return_index=True)
            same = which[1:] == which[:-1]
            a, b = coords[:-1][same], coords[1:][same]
            grid = owner[which[:-1][same]]
            first = (a[:, 0] < b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] <= b[:, 1]))
            lo, hi = np.where(first[:, None], a, b), np.where(first[:, None], b, a)
            _, inverse, counts = np.unique(np.column_stack([lo, hi]), axis=0,
                                           return_inverse=True, return_counts=True)
            keep = (counts[inverse.ravel()] == 1) & np.any(a != b, axis=1)
            if not keep.any():
                keep = np.any(a != b, axis=1)
            a, b, grid = a[keep], b[keep], grid[keep]
            # the tree in a frame where a degree of longitude is as long as on the ground at the
            # area's middle latitude: there the nearest in metres is within a hair of the
            # nearest in the frame (see _nearest_many), not 15 % farther as in plain degrees
            lat0 = float((a[:, 1].min() + a[:, 1].max()) / 2) if len(a) else 0.0
            m_lon0, m_lat0 = metres_per_degree(lat0)
            k = np.array([m_lon0 / m_lat0, 1.0])
            tree = STRtree(shapely.linestrings(np.stack([a * k, b * k], axis=1)))
            self._segments = (a, b, grid, tree, lat0, k)
        return self._segments

    def prepare_nearest(self) -> CellIndex:
        """Build the cell index of the bulk nearest search now (otherwise the first batch
        with :data:`CELL_BUILD_POINTS` points in no grid builds it)."""
        return self._cells()

    @property
    def has_nearest_cells(self) -> bool:
        """Whether the cell index is built (a batch needed it, or :meth:`prepare_nearest`)."""
        return self._cell_index is not None

    def _cells(self) -> CellIndex:
        """The candidate segments per cell around the outline (geo/nearest_cells.py), built
        once (thread-safe: a server may prebuild it while a request asks for it)."""
        if self._cell_index is None:
            with self._cells_lock:
                if self._cell_index is None:
                    outline = self._outline()
                    assert outline is not None
                    a, b, _, tree, lat0, k = outline
                    self._cell_index = CellIndex(tree, a, b, k, lat0, self._tree, TOLERANCE_DEG)
        return self._cell_index

    def _nearest_many(self, points: np.ndarray, lon: np.ndarray, lat: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
        """The grid nearest in metres to each point (in no grid), ties to the smallest code,
        and the metres, each measured in its point's local frame (the ellipsoid's radii of
        curvature at the point) — all points in numpy passes.

        The candidates are outline segments (:meth:`_outline`). A point within the cell index's
        raster takes its cell's list (geo/nearest_cells.py: complete for any point of the cell
        by construction); any other point those within a band of its nearest in the tree's
        frame F (longitude scaled to the middle latitude φ0). At a point at φ the local metric
        is, per axis, a_x = m_lon(φ)/m_lon(φ0) and a_y = m_lat(φ)/m_lat(φ0) times F's, so any
        distance in it lies between min(a)·d_F and max(a)·d_F: the nearest in metres is within
        max(a)/min(a) (≈ 1.00x here) of the nearest in F."""
        outline = self._outline()
        assert outline is not None
        a, _b, _owner, tree, lat0, k = outline
        nearest = np.full(len(points), -1, dtype=np.int64)
        nearest_m = np.full(len(points), np.nan)
        if self._use_cells and len(a) <= CELL_MAX_SEGMENTS and (
                self._cell_index is not None or len(points) >= CELL_BUILD_POINTS):
            served, pi, si = self._cells().lookup(lon, lat)
            self._pick(pi, si, lon, lat, nearest, nearest_m)
            rest = np.setdiff1d(np.arange(len(points)), served, assume_unique=True)
        else:
            rest = np.arange(len(points))
        if len(rest):
            frame = shapely.points(np.column_stack([lon[rest], lat[rest]]) * k)
            _, d_frame = tree.query_nearest(frame, all_matches=False, return_distance=True)
            radius = d_frame * distortion(lat[rest], lat0) * (1.0 + 1e-9) + 1e-12
            ri, si = tree.query(frame, predicate="dwithin", distance=radius)
            order = np.argsort(ri, kind="stable")
            self._pick(rest[ri[order]], si[order], lon, lat, nearest, nearest_m)
        return nearest, nearest_m

    def _pick(self, pi: np.ndarray, si: np.ndarray, lon: np.ndarray, lat: np.ndarray,
              nearest: np.ndarray, nearest_m: np.ndarray) -> None:
        """Of each point's candidate segments (pairs grouped by point), the nearest in metres,
        ties to the smallest code: written into ``nearest`` (grid) and ``nearest_m``."""
        if not len(pi):
            return
        outline = self._outline()
        assert outline is not None
        a, b, owner = outline[0], outline[1], outline[2]
        m_lon, m_lat = metres_per_degree(lat)      # once per point, gathered per pair
        metres = segment_metres(a[si, 0], a[si, 1], b[si, 0], b[si, 1], lon[pi], lat[pi],
                                m_lon[pi], m_lat[pi])
        starts = np.flatnonzero(np.r_[True, pi[1:] != pi[:-1]])
        group = np.cumsum(np.r_[True, pi[1:] != pi[:-1]]) - 1
        best_m = np.minimum.reduceat(metres, starts)
        rank = np.where(metres == best_m[group], self._rank[owner[si]], np.iinfo(np.int64).max)
        best = np.minimum.reduceat(rank, starts)
        nearest[pi[starts]] = self._by_rank[best]
        nearest_m[pi[starts]] = best_m

    def _candidates(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point, grid) index pairs with the point within the tolerance of the grid.

        Many points: a throw-away STRtree over the points, queried with the (prepared) grids —
        GEOS prepares the *query* geometry, so each grid polygon is tested against its points
        with its prepared index instead of every point walking an unprepared polygon: about 40 %
        faster for 100,000 points. Few points: the standing tree over the grids."""
        if len(points) < max(len(self.codes), 1000):
            pi, gi = self._tree.query(points, predicate="dwithin", distance=TOLERANCE_DEG)
            return pi, gi
        gi, pi = STRtree(points).query(self.geoms, predicate="dwithin", distance=TOLERANCE_DEG)
        return pi, gi

    def resolve(self, lon: np.ndarray, lat: np.ndarray) -> Resolution:
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        n = len(lon)
        points = shapely.points(lon, lat)
        grid = np.full(n, -1, dtype=np.int64)
        if len(self.codes):
            pi, gi = self._candidates(points)
            if len(pi):
                # smallest code rank per point
                best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
                np.minimum.at(best, pi, self._rank[gi])
                hit = best != np.iinfo(np.int64).max
                grid[hit] = self._by_rank[best[hit]]
        on_boundary = np.zeros(n, dtype=bool)
        inside = grid >= 0
        if inside.any():
            on_boundary[inside] = shapely.dwithin(
                self._boundaries[grid[inside]], points[inside], TOLERANCE_DEG)
        nearest = np.full(n, -1, dtype=np.int64)
        nearest_m = np.full(n, np.nan)
        missing = np.flatnonzero(~inside)
        if len(missing) and len(self.codes):
            nearest[missing], nearest_m[missing] = self._nearest_many(
                points[missing], lon[missing], lat[missing])
        return Resolution(grid=grid, on_boundary=on_boundary, nearest=nearest, nearest_m=nearest_m)
