"""Vectorised point sampling inside polygons and point → polygon location with a margin."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import Polygon
from shapely.ops import nearest_points

from .frame import KX, KY, MARGIN, FloatArray

SAFE = 3 * MARGIN
"""Generated points keep this distance (degrees) from their polygon's boundary, so that the
≤ 1e-7° snap-rounding of later levels cannot bring them within ``MARGIN``."""

IntArray = NDArray[np.int64]


def interior_mask(poly: Polygon, lon: FloatArray, lat: FloatArray, margin: float = SAFE) -> NDArray:
    """True where (lon, lat) is inside ``poly`` and farther than ``margin`` from its boundary."""
    if len(lon) == 0:
        return np.zeros(0, dtype=bool)
    shapely.prepare(poly)
    inside = shapely.contains_xy(poly, lon, lat)
    if inside.any():
        ring = poly.boundary
        shapely.prepare(ring)
        pts = shapely.points(lon[inside], lat[inside])
        inside[np.flatnonzero(inside)] = ~shapely.dwithin(ring, pts, margin)
    return inside


def uniform_in(rng: np.random.Generator, poly: Polygon, n: int) -> tuple[FloatArray, FloatArray]:
    """n points uniformly distributed strictly inside ``poly`` (rejection from the bbox)."""
    x0, y0, x1, y1 = poly.bounds
    frac = max(poly.area / max((x1 - x0) * (y1 - y0), 1e-18), 0.02)
    lon_out: list[FloatArray] = []
    lat_out: list[FloatArray] = []
    got = 0
    for _ in range(200):
        if got >= n:
            break
        m = int((n - got) / frac * 1.2) + 16
        lon = rng.uniform(x0, x1, m)
        lat = rng.uniform(y0, y1, m)
        ok = interior_mask(poly, lon, lat)
        lon_out.append(lon[ok])
        lat_out.append(lat[ok])
        got += int(ok.sum())
    if got < n:
        raise RuntimeError(f"could not sample {n} points inside polygon of area {poly.area:.3g}")
    return np.concatenate(lon_out)[:n], np.concatenate(lat_out)[:n]


def scatter_in(
    rng: np.random.Generator,
    poly: Polygon,
    lon0: FloatArray,
    lat0: FloatArray,
    sigma_m: float | FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Gaussian scatter (σ in metres) around (lon0, lat0), each result strictly inside ``poly``.

    Draws that fall outside are redrawn; after a few rounds the rest fall back to uniform.
    """
    n = len(lon0)
    lon = np.empty(n)
    lat = np.empty(n)
    todo = np.arange(n)
    sig = np.broadcast_to(np.asarray(sigma_m, dtype=np.float64), (n,))
    for _ in range(12):
        if len(todo) == 0:
            break
        s = sig[todo]
        cl = lon0[todo] + rng.normal(0.0, 1.0, len(todo)) * s / KX
        ct = lat0[todo] + rng.normal(0.0, 1.0, len(todo)) * s / KY
        ok = interior_mask(poly, cl, ct)
        lon[todo[ok]] = cl[ok]
        lat[todo[ok]] = ct[ok]
        todo = todo[~ok]
    if len(todo):
        lon[todo], lat[todo] = uniform_in(rng, poly, len(todo))
    return lon, lat


class Locator:
    """Point → index of the polygon of a coverage that contains it, farther than ``margin``
    from its boundary (else -1: outside, on or too near a boundary).

    Each polygon is shrunk by a negative buffer (slightly more than ``margin``, so that the
    chords approximating rounded corners stay conservative); the shrunk polygons are disjoint.
    A ``hint`` (a guess of the polygon per point, -1 for none) is checked first with one
    vectorised point-in-polygon test; the rest go through an STRtree.
    """

    def __init__(self, polys: Sequence[Polygon], margin: float = MARGIN) -> None:
        self.inner = shapely.buffer(np.asarray(polys, dtype=object), -1.05 * margin, quad_segs=4)
        shapely.prepare(self.inner)
        self._tree: shapely.STRtree | None = None

    def __call__(self, lon: FloatArray, lat: FloatArray, hint: IntArray | None = None) -> IntArray:
        out = np.full(len(lon), -1, dtype=np.int64)
        todo = np.arange(len(lon))
        if hint is not None:
            has = np.flatnonzero(hint >= 0)
            ok = shapely.contains_xy(self.inner[hint[has]], lon[has], lat[has])
            out[has[ok]] = hint[has[ok]]
            todo = np.flatnonzero(out < 0)
        if len(todo) == 0:
            return out
        if self._tree is None:
            self._tree = shapely.STRtree(self.inner)
        chunk = 250_000
        for lo in range(0, len(todo), chunk):
            idx = todo[lo : lo + chunk]
            pi, gi = self._tree.query(shapely.points(lon[idx], lat[idx]), predicate="within")
            out[idx[pi]] = gi
        return out


def locate(
    polys: Sequence[Polygon], lon: FloatArray, lat: FloatArray, margin: float = MARGIN
) -> IntArray:
    """One-off ``Locator(polys, margin)(lon, lat)``."""
    return Locator(polys, margin)(lon, lat)


def nudge_inside(
    poly: Polygon, lon: FloatArray, lat: FloatArray, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Move points that are too near the boundary of ``poly`` (or outside) strictly inside.

    Each point is pushed a few margins inward from its nearest boundary point; points that
    still fail are resampled uniformly inside ``poly``.
    """
    lon = lon.copy()
    lat = lat.copy()
    bad = ~interior_mask(poly, lon, lat, 2 * MARGIN)
    if not bad.any():
        return lon, lat
    idx = np.flatnonzero(bad)
    pts = shapely.points(lon[idx], lat[idx])
    near = shapely.get_coordinates(shapely.shortest_line(poly.boundary, pts))
    qx, qy = near[0::2, 0], near[0::2, 1]
    inner = shapely.point_on_surface(poly)
    dx, dy = lon[idx] - qx, lat[idx] - qy
    length = np.hypot(dx, dy)
    inside = shapely.contains_xy(poly, lon[idx], lat[idx])
    flip = ~inside | (length == 0)
    dx = np.where(flip, inner.x - qx, dx)
    dy = np.where(flip, inner.y - qy, dy)
    length = np.hypot(dx, dy)
    step = 5 * MARGIN / np.maximum(length, 1e-15)
    lon[idx] = qx + dx * step
    lat[idx] = qy + dy * step
    still = idx[~interior_mask(poly, lon[idx], lat[idx], 2 * MARGIN)]
    if len(still):
        lon[still], lat[still] = uniform_in(rng, poly, len(still))
    return lon, lat


def lattice_xy(poly_xy: Polygon, spacing: float) -> FloatArray:
    """Centres of a square lattice (``spacing`` metres) that fall inside a metric polygon."""
    x0, y0, x1, y1 = poly_xy.bounds
    xs = np.arange(x0 + spacing / 2, x1, spacing)
    ys = np.arange(y0 + spacing / 2, y1, spacing)
    mx, my = np.meshgrid(xs, ys)
    gx, gy = mx.ravel(), my.ravel()
    shapely.prepare(poly_xy)
    ok = shapely.contains_xy(poly_xy, gx, gy)
    return np.column_stack([gx[ok], gy[ok]])


def inner_point(poly_xy: Polygon, x: float, y: float, margin: float) -> tuple[float, float]:
    """(x, y) if it lies inside the metric polygon at least ``margin`` from its boundary, else
    the nearest such point (or a point on the surface when the polygon is thinner)."""
    p = shapely.Point(x, y)
    if poly_xy.contains(p) and poly_xy.boundary.distance(p) >= margin:
        return x, y
    inner = poly_xy.buffer(-margin)
    if inner.is_empty:
        q = poly_xy.point_on_surface()
        return q.x, q.y
    q = nearest_points(inner, p)[0]
    q = shapely.Point(q.x, q.y)
    if not inner.contains(q):  # on the inner boundary: step towards its interior
        c = inner.point_on_surface()
        q = shapely.Point(q.x + 0.01 * (c.x - q.x), q.y + 0.01 * (c.y - q.y))
    return q.x, q.y
