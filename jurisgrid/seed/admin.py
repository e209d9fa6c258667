"""Administrative layout: township polygons tiling the county, community polygons tiling each
township, both as capacity-constrained power diagrams with plausible target areas."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Point, Polygon

from .frame import FloatArray, geom_to_xy, to_lonlat
from .points import inner_point, lattice_xy
from .power import balance, kmeans_pp
from .reference import CommunityRef, TownshipRef
from .tiling import Sites, partition

STREET_DIRECTIONS = (150.0, -90.0, 30.0)
"""Bearing (degrees from east) of 渠江, 渠南 and 天星 街道 from the county seat."""


@dataclass
class TownshipLayout:
    geoms: list[Polygon]
    anchors: list[tuple[float, float]]  # township seat used for the layout (metres)


@dataclass
class CommunityLayout:
    geoms: list[list[Polygon]]  # per township, in the order of its communities
    seat_index: list[int]  # per township: index of the seat community within its list


def _rescale_clipped(w: FloatArray, total: float, lo: float, hi: float) -> FloatArray:
    for _ in range(8):
        w = np.clip(w * (total / w.sum()), lo, hi)
    return w * (total / w.sum())


def township_targets(
    rng: np.random.Generator, towns: list[TownshipRef], comms: list[CommunityRef], area: float
) -> FloatArray:
    """Target area (m²) per township: 街道 18–32 km², others by their number of villages."""
    street = np.array([t.kind == "street" for t in towns])
    n_vil = np.array([sum(c.township_code == t.code and c.kind == "village" for c in comms)
                      for t in towns], dtype=float)
    n_com = np.array([sum(c.township_code == t.code and c.kind == "community" for c in comms)
                      for t in towns], dtype=float)
    out = np.empty(len(towns))
    out[street] = rng.uniform(18e6, 32e6, street.sum())
    w = (10 + n_vil + 0.4 * n_com)[~street] * rng.lognormal(0.0, 0.15, (~street).sum())
    out[~street] = _rescale_clipped(w, area - out[street].sum(), 30e6, 95e6)
    return out


def _street_directions(n: int) -> FloatArray:
    """Bearings of ``n`` 街道 around the county seat: 渠县's three as they are, else evenly
    spaced."""
    if n == len(STREET_DIRECTIONS):
        return np.array(STREET_DIRECTIONS)
    return np.array([150.0 - 360.0 * i / n for i in range(n)])


def township_sites(
    rng: np.random.Generator, outline: Polygon, towns: list[TownshipRef], comms: list[CommunityRef]
) -> Sites:
    """The power-diagram sites (frame metres) of a county's townships: 街道 fixed around the
    county seat, the others balanced to their target areas."""
    oxy = geom_to_xy(outline)
    samples = lattice_xy(oxy, 300.0)
    targets = township_targets(rng, towns, comms, oxy.area)
    street = np.array([t.kind == "street" for t in towns])
    n_street = int(street.sum())
    centres = np.empty((len(towns), 2))
    bearings = np.radians(_street_directions(n_street) + rng.uniform(-15, 15, n_street))
    radius = rng.uniform(2000, 2400, n_street) * max(1.0, math.sqrt(n_street / 3.0))
    centres[street] = np.column_stack([radius * np.cos(bearings), radius * np.sin(bearings)])
    far = samples[np.hypot(samples[:, 0], samples[:, 1]) > 6000]
    init = kmeans_pp(rng, far, np.ones(len(far)), int((~street).sum()))
    centres[~street] = init[rng.permutation(len(init))]
    for step in (0.6, 0.3):
        bal = balance(samples, np.ones(len(samples)), centres, targets,
                      iterations=round(30 / step), fixed=street, step=step)
        if (bal.loads > 0).all():
            break
    else:
        raise RuntimeError("township layout left an empty township")
    lon, lat = to_lonlat(bal.centres[:, 0], bal.centres[:, 1])
    anchors_ll: list[Point | None] = [Point(a, b) if s else None
                                      for a, b, s in zip(lon, lat, street, strict=True)]
    return Sites(bal.centres, bal.weights, anchors_ll)


def township_anchors(towns: list[TownshipRef], sites: Sites, cells: list[Polygon]) -> TownshipLayout:
    """The layout of a county's tiled townships: each one's seat (frame metres)."""
    street = np.array([t.kind == "street" for t in towns])
    anchors = []
    for i, cell in enumerate(cells):
        cxy = geom_to_xy(cell)
        x, y = sites.centres[i]
        margin = 600.0
        if street[i]:  # the 街道 communities gather at the county seat
            d = math.hypot(x, y)
            x, y, margin = x * 250.0 / d, y * 250.0 / d, 150.0
        anchors.append(inner_point(cxy, float(x), float(y), margin))
    return TownshipLayout(cells, anchors)


def layout_townships(
    rng: np.random.Generator, outline: Polygon, towns: list[TownshipRef], comms: list[CommunityRef]
) -> TownshipLayout:
    """Township polygons tiling one county (alone: generate.py tiles several together)."""
    sites = township_sites(rng, outline, towns, comms)
    (cells,) = partition([outline], [sites])
    return township_anchors(towns, sites, cells)


def _cluster_positions(
    txy: Polygon, anchor: tuple[float, float], n: int, spacing: float, focus: tuple[float, float]
) -> FloatArray:
    """The anchor and the n - 1 points of a hex lattice through it nearest to ``focus``
    inside the township (at least ``spacing``/5 from its boundary): a compact
    cluster of 社区 sites."""
    out = np.asarray([anchor], dtype=np.float64)
    if n <= 1:
        return out[:n]
    r = math.ceil(math.sqrt(n)) + 2
    for _ in range(6):
        mi, mj = np.meshgrid(np.arange(-r, r + 1), np.arange(-r, r + 1))
        i, j = mi.ravel(), mj.ravel()
        pts = np.column_stack([spacing * (i + 0.5 * j), spacing * j * math.sqrt(3) / 2])
        pts = pts[(i != 0) | (j != 0)] + np.asarray(anchor)
        rel = pts - np.asarray(focus)
        pts = pts[np.lexsort((np.arctan2(rel[:, 1], rel[:, 0]), np.round(np.hypot(*rel.T), 6)))]
        ok = shapely.contains_xy(txy, pts[:, 0], pts[:, 1])
        ok[ok] = ~shapely.dwithin(txy.boundary, shapely.points(pts[ok]), spacing / 5)
        if ok.sum() >= n - 1:
            return np.vstack([out, pts[ok][: n - 1]])
        r *= 2
    raise RuntimeError("township too small for its 社区")


def community_targets(
    rng: np.random.Generator, town: TownshipRef, comms: list[CommunityRef], area: float, seat: int
) -> FloatArray:
    """Target area (m²) per community: compact 社区 (≈1 km²), villages share the rest."""
    is_com = np.array([c.kind == "community" for c in comms])
    out = np.empty(len(comms))
    mean = 1.0e6 if town.kind == "street" else 0.8e6
    out[is_com] = np.clip(rng.lognormal(math.log(mean), 0.35, is_com.sum()), 0.35e6, 2.5e6)
    if is_com[seat]:
        out[seat] = max(out[seat], 1.0e6)
    if (~is_com).any():
        cap = (0.55 if town.kind == "street" else 0.3) * area
        if out[is_com].sum() > cap:
            out[is_com] *= cap / out[is_com].sum()
        w = rng.lognormal(0.0, 0.25, (~is_com).sum())
        out[~is_com] = w / w.sum() * (area - out[is_com].sum())
    return out * (area / out.sum())


def _community_sites(
    rng: np.random.Generator,
    town: TownshipRef,
    comms: list[CommunityRef],
    geom: Polygon,
    anchor: tuple[float, float],
) -> tuple[Sites, int]:
    txy = geom_to_xy(geom)
    samples = lattice_xy(txy, math.sqrt(txy.area / 3000.0))
    is_com = np.array([c.kind == "community" for c in comms])
    seat = int(np.argmax(is_com)) if is_com.any() else 0
    targets = community_targets(rng, town, comms, txy.area, seat)
    order = np.array([seat] + [i for i in np.flatnonzero(is_com).tolist() if i != seat],
                     dtype=np.int64)
    spacing = 0.9 * math.sqrt(float(np.mean(targets[order])))
    centres = np.empty((len(comms), 2))
    focus = (0.0, 0.0) if town.kind == "street" else anchor  # the county seat is (0, 0)
    for attempt in range(4):  # a narrow township: a tighter cluster (渠县's fit at once)
        try:
            centres[order] = _cluster_positions(txy, anchor, len(order), spacing * 0.7**attempt,
                                                focus)
            break
        except RuntimeError:
            if attempt == 3:
                raise
    villages = np.flatnonzero(~is_com)
    if len(villages):
        pool = samples
        if len(order):
            d = np.hypot(samples[:, None, 0] - centres[order, 0], samples[:, None, 1] - centres[order, 1])
            far = d.min(axis=1) > spacing
            pool = samples[far] if far.sum() >= 4 * len(villages) else samples
        centres[villages] = kmeans_pp(rng, pool, np.ones(len(pool)), len(villages))
    fixed = np.zeros(len(comms), dtype=bool)
    fixed[seat] = True
    background = None
    weights = None
    if town.kind == "street":  # urban 社区 gathered at the county seat, the village around
        fixed[is_com] = True
        if len(villages) == 1:
            background = int(villages[0])
            weights = np.where(is_com, targets / math.pi, 0.0)
    for step in (0.6, 0.3, 0.15):  # smaller steps if a squeezed cell ends up empty
        bal = balance(samples, np.ones(len(samples)), centres, targets,
                      iterations=round(24 / step), fixed=fixed, step=step,
                      weights=weights, background=background)
        if (bal.loads > 0).all():
            break
    else:
        raise RuntimeError(f"community layout of {town.name} left an empty community")
    lon, lat = to_lonlat(np.array([anchor[0]]), np.array([anchor[1]]))
    anchors: list[Point | None] = [None] * len(comms)
    anchors[seat] = Point(float(lon[0]), float(lat[0]))
    return Sites(bal.centres, bal.weights, anchors, background), seat


def community_sites(
    rng: np.random.Generator,
    towns: list[TownshipRef],
    comms_by_town: list[list[CommunityRef]],
    layout: TownshipLayout,
) -> tuple[list[Sites], list[int]]:
    """Per township of one county: its communities' sites (frame metres), its seat community."""
    sites = []
    seats = []
    for town, comms, geom, anchor in zip(
        towns, comms_by_town, layout.geoms, layout.anchors, strict=True
    ):
        s, seat = _community_sites(rng, town, comms, geom, anchor)
        sites.append(s)
        seats.append(seat)
    return sites, seats


def check_communities(towns: list[TownshipRef], cells: list[list[Polygon]]) -> None:
    for town, cs in zip(towns, cells, strict=True):
        if any(c.is_empty for c in cs):
            raise RuntimeError(f"community tiling of {town.name} has an empty cell")


def layout_communities(
    rng: np.random.Generator,
    towns: list[TownshipRef],
    comms_by_town: list[list[CommunityRef]],
    layout: TownshipLayout,
) -> CommunityLayout:
    """Community polygons tiling the townships of one county (alone)."""
    sites, seats = community_sites(rng, towns, comms_by_town, layout)
    cells = partition(layout.geoms, sites)
    check_communities(towns, cells)
    return CommunityLayout(cells, seats)
