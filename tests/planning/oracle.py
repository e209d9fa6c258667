"""Independent recomputations for the planning metrics, written differently from the code under
test: DE-9IM relations for adjacency, networkx for pieces, the exact ellipsoidal equal-area
projection for areas, great-circle sums for perimeters, an azimuthal equidistant projection
(from haversine distances and bearings) with a brute-force minimum enclosing circle for Reock."""

from __future__ import annotations

import itertools
import math
from typing import Any

import networkx as nx
import numpy as np
import shapely

from tests.analytics.conftest import ellipsoid_area_m2

R = 6_371_008.8


def rook_graph(geoms: Any) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(len(geoms)))
    for i, j in itertools.combinations(range(len(geoms)), 2):
        if geoms[i].relate(geoms[j])[4] == "1":  # boundary ∩ boundary is a line
            g.add_edge(i, j)
    return g


def _gc(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R * math.asin(math.sqrt(h))


def perimeter_m(geom: Any) -> float:
    total = 0.0
    for poly in shapely.get_parts(geom):
        for ring in [poly.exterior, *poly.interiors]:
            c = list(ring.coords)
            total += sum(_gc(*a, *b) for a, b in itertools.pairwise(c))
    return total


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return _gc(lon1, lat1, lon2, lat2)


def aeqd(geom: Any) -> Any:
    """Azimuthal equidistant around the geometry's centroid, from distances and bearings."""
    c = geom.centroid
    lon0, lat0 = c.x, c.y

    def f(xy: np.ndarray) -> np.ndarray:
        out = np.empty_like(xy)
        for k, (lon, lat) in enumerate(xy):
            d = _gc(lon0, lat0, lon, lat)
            p0, p1 = math.radians(lat0), math.radians(lat)
            dl = math.radians(lon - lon0)
            brg = math.atan2(math.sin(dl) * math.cos(p1),
                             math.cos(p0) * math.sin(p1) - math.sin(p0) * math.cos(p1) * math.cos(dl))
            out[k] = (d * math.sin(brg), d * math.cos(brg))
        return out

    return shapely.transform(geom, f)


def _circle(pts: list[tuple[float, float]]) -> tuple[float, float, float] | None:
    if len(pts) == 2:
        (x1, y1), (x2, y2) = pts
        return (x1 + x2) / 2, (y1 + y2) / 2, math.hypot(x1 - x2, y1 - y2) / 2
    (ax, ay), (bx, by), (cx, cy) = pts
    d = 2 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    if abs(d) < 1e-12:
        return None
    ux = ((ax**2 + ay**2) * (by - cy) + (bx**2 + by**2) * (cy - ay) + (cx**2 + cy**2) * (ay - by)) / d
    uy = ((ax**2 + ay**2) * (cx - bx) + (bx**2 + by**2) * (ax - cx) + (cx**2 + cy**2) * (bx - ax)) / d
    return ux, uy, math.hypot(ax - ux, ay - uy)


def enclosing_radius(pts: list[tuple[float, float]]) -> float:
    """Smallest circle containing all points: brute force over pairs and triples."""
    best = math.inf
    for r in (2, 3):
        for combo in itertools.combinations(pts, r):
            c = _circle(list(combo))
            if c is None or c[2] >= best:
                continue
            if all(math.hypot(x - c[0], y - c[1]) <= c[2] * (1 + 1e-9) + 1e-6 for x, y in pts):
                best = c[2]
    return best


def compactness(geom: Any) -> dict[str, float]:
    area = ellipsoid_area_m2(geom)
    per = perimeter_m(geom)
    local = aeqd(geom)
    hull = local.convex_hull
    pts = list(dict.fromkeys(hull.exterior.coords))
    r = enclosing_radius(pts)
    return {"area": area, "perimeter": per, "pp": 4 * math.pi * area / per**2,
            "reock": local.area / (math.pi * r * r), "hull": local.area / hull.area}


def perimeter_m_lines(geom: Any) -> float:
    """Great-circle length of (multi)lines."""
    total = 0.0
    for part in shapely.get_parts(shapely.line_merge(geom) if geom.geom_type != "LineString" else geom):
        if part.geom_type in ("LineString", "LinearRing"):
            c = list(part.coords)
            total += sum(_gc(*a, *b) for a, b in itertools.pairwise(c))
    return total
