"""Metric measurements of lon/lat polygons, and rook adjacency between them.

Every geometry is measured in its *own* local frame: coordinates relative to the geometry's
centre, scaled by the WGS 84 ellipsoid's radii of curvature there (metres per degree of latitude
M and of longitude N·cos φ). Within a county the scale varies by well under 0.1 % across one unit
or district, so areas, perimeters and the ratios built from them (Polsby–Popper, Reock, hull) are
as good as a projection's — without picking one projection for a whole scope, whose distortion
would grow with the scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import networkx as nx
import numpy as np
import shapely
from numpy.typing import NDArray

from jurisgrid.geo.lookup import WGS84_A, WGS84_E2

FloatArray = NDArray[np.float64]
TOLERANCE_DEG = 1e-7  # about 1 cm: the precision grid of stored grid geometry (geo/validate.py)
MIN_SHARED_M = 0.5  # a corner's neighbourhood within the tolerance is ~2 cm; an edge is far longer
# a hole in a district's union narrower than this on average (2·area / perimeter) is a crack
# between its units — their edges meet within the tolerance, ~1 cm, but not exactly — not a hole
CRACK_WIDTH_M = 0.05


def metres_per_degree(lat: FloatArray | float) -> tuple[FloatArray, FloatArray]:
    """(metres per degree of longitude, of latitude) at latitude ``lat`` on WGS 84."""
    phi = np.radians(np.asarray(lat, dtype=float))
    w = 1.0 - WGS84_E2 * np.sin(phi) ** 2
    per_lat = np.radians(1.0) * WGS84_A * (1.0 - WGS84_E2) / w**1.5
    per_lon = np.radians(1.0) * WGS84_A / np.sqrt(w) * np.cos(phi)
    return per_lon, per_lat


def to_local(geoms: NDArray[Any]) -> NDArray[Any]:
    """Each geometry in metres, in a frame centred on its own bounding-box centre."""
    geoms = np.asarray(geoms, dtype=object)
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    if len(coords) == 0:
        return geoms.copy()
    b = shapely.bounds(geoms)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    kx, ky = metres_per_degree(cy)
    xy = np.column_stack([(coords[:, 0] - cx[idx]) * kx[idx], (coords[:, 1] - cy[idx]) * ky[idx]])
    return shapely.set_coordinates(shapely.transform(geoms, lambda c: c), xy)


def areas_m2(geoms: NDArray[Any]) -> FloatArray:
    return np.asarray(shapely.area(to_local(geoms)), dtype=float)


def lengths_m(geoms: NDArray[Any]) -> FloatArray:
    """Perimeter of polygons (all rings), length of lines, in metres."""
    return np.asarray(shapely.length(to_local(geoms)), dtype=float)


@dataclass(frozen=True)
class Shape:
    """Area, perimeter and compactness of one polygonal area, in metres."""

    area_m2: float
    perimeter_m: float
    polsby_popper: float  # 4πA / P²
    reock: float  # A / area of the minimum bounding circle
    convex_hull: float  # A / area of the convex hull


def without_cracks(geom: Any) -> Any:
    """``geom`` (in metres) without its interior rings narrower than :data:`CRACK_WIDTH_M`.

    The union of units whose shared edges coincide only within the tolerance can keep a
    zero-area hole along them (SF's block groups leave one 1.6 km long). It is no boundary of
    the district, yet it would count twice its length in the perimeter: one such crack took a
    zone's Polsby–Popper from 0.34 to 0.28."""
    changed = False
    parts = []
    for part in shapely.get_parts(geom):
        rings = list(part.interiors) if isinstance(part, shapely.Polygon) else []
        if not rings:
            parts.append(part)
            continue
        keep = [r for r in rings if _mean_width(shapely.Polygon(r)) >= CRACK_WIDTH_M]
        if len(keep) == len(rings):
            parts.append(part)
            continue
        changed = True
        parts.append(shapely.Polygon(part.exterior, keep))
    if not changed:
        return geom
    return parts[0] if len(parts) == 1 and isinstance(geom, shapely.Polygon) else shapely.MultiPolygon(parts)


def _mean_width(hole: shapely.Polygon) -> float:
    return 2 * hole.area / hole.length if hole.length > 0 else 0.0


def shapes(geoms: NDArray[Any]) -> list[Shape]:
    local = np.array([without_cracks(g) for g in to_local(geoms)], dtype=object)
    area = shapely.area(local)
    per = shapely.length(local)
    radius = shapely.minimum_bounding_radius(local)
    hull = shapely.area(shapely.convex_hull(local))
    out = []
    for a, p, r, h in zip(area, per, radius, hull, strict=True):
        a, p, r, h = float(a), float(p), float(r), float(h)
        out.append(Shape(a, p, 4 * np.pi * a / p**2 if p > 0 else 0.0,
                         a / (np.pi * r * r) if r > 0 else 0.0, a / h if h > 0 else 0.0))
    return out


@dataclass(frozen=True)
class Adjacency:
    """Rook adjacency of units: pairs ``i < j`` whose boundaries share a line of positive length,
    with that length in metres. ``bridges`` are pairs added to join otherwise separate parts of the
    scope (islands): they count as adjacent with a shared length of 0."""

    n: int
    edges: NDArray[np.int64]  # (m, 2), i < j
    shared_m: FloatArray  # (m,)
    bridges: tuple[tuple[int, int], ...] = ()

    @cached_property
    def neighbours(self) -> list[dict[int, float]]:
        """Per unit: neighbour → shared length (m)."""
        out: list[dict[int, float]] = [{} for _ in range(self.n)]
        for (i, j), s in zip(self.edges.tolist(), self.shared_m.tolist(), strict=True):
            out[i][j] = out[i].get(j, 0.0) + s
            out[j][i] = out[j].get(i, 0.0) + s
        return out

    def graph(self) -> nx.Graph:
        g = nx.Graph()
        g.add_nodes_from(range(self.n))
        g.add_edges_from(map(tuple, self.edges.tolist()))
        return g


def rook_adjacency(geoms: NDArray[Any], *, bridge: bool = True, tolerance_deg: float = TOLERANCE_DEG,
                   min_shared_m: float = MIN_SHARED_M) -> Adjacency:
    """Rook adjacency from an STRtree: candidate pairs within ``tolerance_deg`` of each other,
    kept when the part of one's boundary lying within that tolerance of the other's is longer
    than ``min_shared_m`` — a shared edge, not a shared corner (queen contact) — so boundaries
    that coincide only to floating-point precision still count. With ``bridge``, separate parts
    (islands) are joined to the nearest unit of the largest part, so districts over the whole
    scope can still be contiguous."""
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="dwithin", distance=tolerance_deg)
    keep = i < j
    i, j = i[keep], j[keep]
    bounds = shapely.boundary(geoms)
    near = shapely.buffer(bounds, tolerance_deg, quad_segs=2)
    shared = lengths_m(shapely.intersection(bounds[i], near[j])) if len(i) else np.zeros(0)
    pos = shared > min_shared_m
    edges = np.column_stack([i[pos], j[pos]]).astype(np.int64).reshape(-1, 2)
    adj = Adjacency(n, edges, shared[pos].astype(float))
    if not bridge or n < 2:
        return adj
    parts = sorted(nx.connected_components(adj.graph()), key=lambda c: (-len(c), min(c)))
    if len(parts) == 1:
        return adj
    main = np.array(sorted(parts[0]))
    main_tree = shapely.STRtree(geoms[main])
    extra: list[tuple[int, int]] = []
    for part in parts[1:]:
        idx = np.array(sorted(part))
        (src, dst), _ = main_tree.query_nearest(geoms[idx], return_distance=True, all_matches=False)
        k = int(np.argmin(shapely.distance(geoms[idx[src]], geoms[main[dst]])))
        a, b = int(idx[src[k]]), int(main[dst[k]])
        extra.append((min(a, b), max(a, b)))
    edges = np.vstack([edges, np.array(extra, dtype=np.int64)])
    return Adjacency(n, edges, np.concatenate([adj.shared_m, np.zeros(len(extra))]), tuple(extra))
