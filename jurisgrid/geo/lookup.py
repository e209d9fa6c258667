"""Point → grid under the boundary rule, in memory (DESIGN §2 invariant 4, §6).

The rule, identical to ``jg_grid_at()`` in SQL: the candidates for a point are the grids within
``TOLERANCE_DEG`` (1e-7°, about 1 cm) of it — the grid that covers it and any grid whose
boundary passes within that distance; the candidate with the smallest code wins. The point is
*on a boundary* when it lies within the tolerance of the winning grid's boundary (a shared edge
or vertex, or the county outline). A point with no candidate resolves to nothing, and the answer
names the nearest grid and its distance in metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely import STRtree

TOLERANCE_DEG = 1e-7
EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres (mean Earth radius), vectorised."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def distance_to_geometry_m(points: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """Metres from each point to the nearest point of its paired geometry (degrees in, metres out)."""
    lines = shapely.shortest_line(points, geoms)
    coords = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    return haversine_m(coords[:, 0, 0], coords[:, 0, 1], coords[:, 1, 0], coords[:, 1, 1])


@dataclass(frozen=True)
class Resolution:
    """Per-point answers, in input order. ``grid`` is an index into the index's grids, or -1."""

    grid: np.ndarray            # int64, -1 where no grid
    on_boundary: np.ndarray     # bool
    nearest: np.ndarray         # int64, index of the nearest grid where grid == -1, else -1
    nearest_m: np.ndarray       # float, metres to the nearest grid where grid == -1, else nan


class GridIndex:
    """An STRtree over a set of grids, answering the boundary rule for many points at once."""

    def __init__(self, codes: list[str], geoms: np.ndarray | list) -> None:
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

    def __len__(self) -> int:
        return len(self.codes)

    def resolve(self, lon: np.ndarray, lat: np.ndarray) -> Resolution:
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        n = len(lon)
        points = shapely.points(lon, lat)
        grid = np.full(n, -1, dtype=np.int64)
        if len(self.codes):
            pi, gi = self._tree.query(points, predicate="dwithin", distance=TOLERANCE_DEG)
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
            # nearest in degrees first (a planar index), then metres on the sphere
            pi, gi = self._tree.query_nearest(points[missing], all_matches=False)
            nearest[missing[pi]] = gi
            nearest_m[missing[pi]] = distance_to_geometry_m(points[missing[pi]], self.geoms[gi])
        return Resolution(grid=grid, on_boundary=on_boundary, nearest=nearest, nearest_m=nearest_m)
