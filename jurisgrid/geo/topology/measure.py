"""Measuring in metres, and the piece geometry the steps share: the local metric scale of one
call (module docstring of the package: one scale for the whole call, so the areas of the pieces
of one repair add up), a piece's polygons and a point in it, its boundary segments and which
polygons it borders along them and how long, and whether it is a sliver."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from jurisgrid.geo.topology.model import Polygonal
from jurisgrid.geo.validate import M_PER_DEG, polygons_only

__all__ = ["BORDER_EPS_DEG", "Scale", "borders", "inner_point", "is_sliver", "like_input",
           "longest_border", "polygon_parts", "ring_segments"]

BORDER_EPS_DEG = 1e-9           # a border is shared where two boundaries lie this close


@dataclass(frozen=True)
class Scale:
    kx: float   # metres per degree of longitude at the coverage's latitude
    ky: float   # metres per degree of latitude

    @classmethod
    def at(cls, geoms: Sequence[BaseGeometry]) -> Scale:
        bounds = shapely.total_bounds(np.asarray(geoms, dtype=object))
        lat = (bounds[1] + bounds[3]) / 2 if np.isfinite(bounds).all() else 0.0
        return cls(M_PER_DEG * math.cos(math.radians(lat)), M_PER_DEG)

    def area(self, g: BaseGeometry | np.ndarray) -> float | np.ndarray:
        return shapely.area(g) * self.kx * self.ky

    def metric(self, g: BaseGeometry) -> BaseGeometry:
        """``g`` scaled to metres (for lengths and widths; never converted back)."""
        k = np.array([self.kx, self.ky])
        return shapely.transform(g, lambda c: c * k)


def inner_point(g: BaseGeometry) -> tuple[float, float]:
    p = g.representative_point() if not g.is_empty else shapely.Point(np.nan, np.nan)
    return float(p.x), float(p.y)


def polygon_parts(g: BaseGeometry) -> list[shapely.Polygon]:
    """The non-empty polygons of ``g`` (what ``polygons_only`` keeps, without building it)."""
    out: list[shapely.Polygon] = []
    for p in shapely.get_parts(g).tolist():
        if isinstance(p, shapely.Polygon):
            if not p.is_empty and p.area > 0:
                out.append(p)
        elif isinstance(p, shapely.MultiPolygon | shapely.GeometryCollection):
            out.extend(polygon_parts(p))
    return out


def like_input(g: BaseGeometry, original: BaseGeometry) -> Polygonal:
    """``g`` as a Polygon when the input was a Polygon and ``g`` is one piece, else MultiPolygon."""
    mp = polygons_only(g)
    if isinstance(original, shapely.Polygon) and len(mp.geoms) == 1:
        return mp.geoms[0]
    return mp


def is_sliver(piece: BaseGeometry, scale: Scale, tolerance_m: float, sliver_m2: float | None) -> bool:
    if sliver_m2 is not None and scale.area(piece) <= sliver_m2:
        return True
    return bool(tolerance_m > 0 and scale.metric(piece).buffer(-tolerance_m / 2).is_empty)


def ring_segments(g: BaseGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Start and end points of every segment of ``g``'s rings."""
    rings = shapely.get_rings(np.asarray(polygon_parts(g), dtype=object))
    coords, idx = shapely.get_coordinates(rings, return_index=True)
    if len(coords) < 2:
        return np.empty((0, 2)), np.empty((0, 2))
    same = idx[1:] == idx[:-1]
    return coords[:-1][same], coords[1:][same]


def borders(piece: BaseGeometry, cands: list[int], geoms: list[BaseGeometry],
             scale: Scale) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """The segments of ``piece``'s boundary (starts, ends, lengths in m) and, per candidate
    sharing some border with it, which of them lie on that candidate's boundary.

    A piece cut out of the coverage by overlay is bounded by sub-segments of the polygons'
    edges, split at every node, so a segment of its boundary lies on a polygon's boundary
    exactly when its midpoint does (within ``BORDER_EPS_DEG``, 0.1 mm)."""
    starts, ends = ring_segments(piece)
    d = (ends - starts) * [scale.kx, scale.ky]
    seg_m = np.hypot(d[:, 0], d[:, 1])
    on: dict[int, np.ndarray] = {}
    if len(starts):
        mids = shapely.points((starts + ends) / 2)
        for c in cands:
            mask = shapely.dwithin(mids, geoms[c].boundary, BORDER_EPS_DEG)
            if seg_m[mask].sum() > 1e-6:
                on[c] = mask
    return starts, ends, seg_m, on


def longest_border(piece: BaseGeometry, cands: list[int], geoms: list[BaseGeometry],
                    keys: Sequence[str], scale: Scale) -> tuple[int | None, list[int]]:
    """The candidate sharing the longest border (m) with ``piece`` (tie → smallest key), and
    all candidates that share some border."""
    _s, _e, seg_m, on = borders(piece, cands, geoms, scale)
    if not on:
        return None, []
    winner = min(on, key=lambda c: (-round(float(seg_m[on[c]].sum()), 6), keys[c]))
    return winner, sorted(on, key=lambda c: keys[c])
