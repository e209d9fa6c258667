"""Repair of a messy polygon coverage — independently digitised neighbours (pure Shapely/numpy).

Files a bureau already has were drawn polygon by polygon: neighbours overlap a little, leave
slivers between them, stick out of the county, and now and then a ring crosses itself.
:func:`repair_coverage` turns such a set into a coverage the database's invariants accept, by
stated rules, and lists every repair (what, where, how much, who gained it); in strict mode it
lists the problems and refuses instead.

Units and frame. Inputs are EPSG:4326 longitude/latitude. Lengths and areas are reported in
metres and m², on the equirectangular local scale at the latitude of the middle of the
coverage (``M_PER_DEG`` metres per degree of latitude, times cos φ per degree of longitude),
the scale ``geo/validate.area_m2`` uses: one scale for the whole call, so the areas of the
pieces of one repair add up exactly. The tolerance is applied in degrees of latitude
(``tolerance_m / M_PER_DEG``), i.e. ``tolerance_m · cos φ`` east–west: never more than asked.

Rules, in the order they run:

0. **Clean input is returned untouched.** When every polygon is valid and the overlaps, the
   gaps and the parts outside the outline each total at most ``CLEAN_M2`` (0.01 m², the
   database's invariant tolerance), the input objects come back as they are, with no repair:
   a stored geometry is never treated as an edit of itself, whether or not its coordinates lie
   on the 1e-7° lattice. Otherwise every piece larger than ``NOISE_M2`` (1 mm²) is repaired,
   and every polygon whose shape no repair changed keeps its input geometry exactly.
1. **Invalid rings** are fixed with ``make_valid`` (``structure`` method: shells bound area,
   holes remove it), keeping the polygonal parts — ``made_valid``.
2. **Snapping** (vertex clustering): a vertex of a polygon that takes part in a problem (an
   overlap, a gap or a part outside the outline) moves onto a vertex within the tolerance that
   belongs to another polygon or to the outline and ranks higher — outline vertices first,
   then vertices shared by more polygons (the neighbours' consensus), then the vertex of the
   smaller key. Vertices of the other polygons never move; a move that would make a polygon
   invalid is not applied — ``snapped_vertices``, with the area the shape changed by.
3. **Clip to the outline** (when one is given): parts outside are dropped — ``clipped_to_outline``.
4. **Overlaps.** A polygon lying wholly inside another (an island drawn on top, no hole cut
   for it) keeps its area and the other loses it. Then the coverage is noded (GEOS' coverage
   cleaner; vertices closer than 1e-8°, a tenth of the lattice, ~1 mm, merge) into faces, and
   every face covered by more than one polygon goes to the one of them whose own part (what
   it covers alone, plus the faces already given to it — faces are merged one at a time)
   shares the longest border with the face, in metres. The others lose it —
   ``overlap_assigned``. So a corner poking into a neighbour is cut off (the neighbour
   surrounds it), and a strip along a shifted edge goes to the side it borders longer. An
   exact tie (equal to the last bit; only constructed data has them) goes to the polygon the
   cleaner meets first in its spatial index: deterministic, not always the smallest key.
5. **Gaps**: every piece of the outline that no polygon covers (without an outline: every hole
   of the union) goes to the polygon sharing the longest border with it (tie → smallest key)
   when that is at least a third of the piece's border with polygons, or that border is at
   most 50 m long — ``gap_filled``, or ``hole_filled`` when it was a hole of that polygon
   alone. Otherwise (a long sliver along many polygons, e.g. between the coverage and an
   outline digitised elsewhere) the piece is first cut across wherever the polygon bordering
   it changes (the shortest line from that point to the opposite side), and each part goes
   to the polygon sharing the longest border with it — one ``gap_filled`` per part. A piece
   thinner than the tolerance, or smaller than ``sliver_m2``, is flagged as a sliver. A piece
   that borders no polygon along an edge (a part of the outline with no polygon in it) cannot
   be repaired.
6. **Slivers of a polygon**: a part of a multi-part polygon changed by the steps above, thinner
   than the tolerance (or smaller than ``sliver_m2``), goes to the neighbour sharing the
   longest border with it (if it touches none along an edge, it stays) — ``sliver_dropped``.
   Parts of at most 1 mm² are overlay residue and are dropped unlisted.
7. **No T-junctions**: among the changed polygons and their neighbours, vertices closer than
   1e-9° (0.1 mm) merge, and a vertex of one lying on another's edge is inserted into that
   edge (the database measures areas on the sphere, where a T-junction opens a sliver). This
   moves no shape by more than 0.2 mm and is listed as no repair, but the neighbour counts as
   ``changed``.

Result: polygons in input order, each valid, each Polygon or MultiPolygon (a Polygon input
that stays in one piece stays a Polygon); pairwise overlaps and gaps inside the outline below
0.01 m². Coordinates are not moved to the lattice: untouched polygons keep theirs, repaired
ones keep the input vertices and gain exact intersection points (snapping a repaired polygon to
the lattice would open sub-lattice slivers against untouched neighbours).

Z values are ignored: polygons no repair changed come back as given, repaired ones in 2D.

Each :class:`Repair` says, in ``changes``, by how many m² it changed each polygon it names (the
sum over the repairs of one polygon is its area change, input → output; an invalid input is
counted by the area of its ``make_valid`` repair). A polygon that a repair would leave with no
area (a duplicate, a polygon entirely outside the outline) cannot be repaired: that, bad input
and strict mode raise :class:`TopologyError` with every :class:`Problem`. Nothing here imports
the project's errors: callers map :class:`TopologyError` to their own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from jurisgrid.geo.validate import GRID_SIZE, M_PER_DEG, polygons_only

__all__ = [
    "CLEAN_M2",
    "NOISE_M2",
    "CoverageRepair",
    "Problem",
    "Repair",
    "TopologyError",
    "find_problems",
    "repair_coverage",
]

CLEAN_M2 = 0.01      # the database's invariant tolerance (models/invariants.AREA_TOLERANCE_M2)
NOISE_M2 = 1e-6      # pieces below 1 mm² are floating-point residue of the overlay, not data
NODE_SNAP_DEG = GRID_SIZE / 10   # the coverage cleaner's node snapping: a tenth of the lattice
_BORDER_EPS_DEG = 1e-9           # a border is shared where two boundaries lie this close
GAP_SPLIT_SHARE = 1 / 3          # a gap goes whole to a neighbour with this share of its border
GAP_SPLIT_MIN_M = 50.0           # … or when its border with polygons is at most this long

RepairKind = Literal["made_valid", "snapped_vertices", "clipped_to_outline", "overlap_assigned",
                     "gap_filled", "hole_filled", "sliver_dropped"]
ProblemKind = Literal["invalid", "overlap", "gap", "outside", "emptied", "not_polygonal",
                      "bad_input"]
Polygonal: TypeAlias = shapely.Polygon | shapely.MultiPolygon


@dataclass(frozen=True)
class Repair:
    """One repair: ``kind``, the ``keys`` it involves, the key that holds the piece afterwards
    (``gained_by``; None when the piece was dropped), the piece's area, a point inside it, and
    the signed area change (m²) of each polygon it changed."""

    kind: RepairKind
    keys: tuple[str, ...]
    gained_by: str | None
    area_m2: float
    lon: float
    lat: float
    changes: dict[str, float] = field(default_factory=dict)
    sliver: bool = False
    detail: str = ""


@dataclass(frozen=True)
class Problem:
    """One problem of the input (strict mode, or one that cannot be repaired)."""

    kind: ProblemKind
    keys: tuple[str, ...]
    area_m2: float
    lon: float | None
    lat: float | None
    detail: str = ""
    sliver: bool = False

    def describe(self) -> str:
        where = f" at ({self.lon:.7f}, {self.lat:.7f})" if self.lon is not None else ""
        what = f"{self.kind}{' (sliver)' if self.sliver else ''}"
        what += f" {', '.join(self.keys)}" if self.keys else ""
        size = f": {self.area_m2:.3f} m²" if self.area_m2 else ""
        return f"{what}{size}{where}{' — ' + self.detail if self.detail else ''}"


class TopologyError(ValueError):
    """The coverage is refused (strict mode, bad input, or a repair that would empty a polygon);
    ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "; ".join(p.describe() for p in problems[:10])
        more = f"; … and {len(problems) - 10} more" if len(problems) > 10 else ""
        super().__init__(f"{len(problems)} topology problem(s): {shown}{more}")


@dataclass
class CoverageRepair:
    """The repaired polygons (input order) and the repairs made, in the order they ran."""

    polygons: list[Polygonal]
    repairs: list[Repair]
    changed: list[bool]

    def summary(self) -> dict[str, tuple[int, float]]:
        """Count and total area (m²) per repair kind."""
        out: dict[str, tuple[int, float]] = {}
        for r in self.repairs:
            n, a = out.get(r.kind, (0, 0.0))
            out[r.kind] = (n + 1, a + r.area_m2)
        return out


# --- metric scale -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scale:
    kx: float   # metres per degree of longitude at the coverage's latitude
    ky: float   # metres per degree of latitude

    @classmethod
    def at(cls, geoms: Sequence[BaseGeometry]) -> _Scale:
        bounds = shapely.total_bounds(np.asarray(geoms, dtype=object))
        lat = (bounds[1] + bounds[3]) / 2 if np.isfinite(bounds).all() else 0.0
        return cls(M_PER_DEG * math.cos(math.radians(lat)), M_PER_DEG)

    def area(self, g: BaseGeometry | np.ndarray) -> float | np.ndarray:
        return shapely.area(g) * self.kx * self.ky

    def metric(self, g: BaseGeometry) -> BaseGeometry:
        """``g`` scaled to metres (for lengths and widths; never converted back)."""
        k = np.array([self.kx, self.ky])
        return shapely.transform(g, lambda c: c * k)


def _point(g: BaseGeometry) -> tuple[float, float]:
    p = g.representative_point() if not g.is_empty else shapely.Point(np.nan, np.nan)
    return float(p.x), float(p.y)


def _parts(g: BaseGeometry) -> list[shapely.Polygon]:
    """The non-empty polygons of ``g`` (what ``polygons_only`` keeps, without building it)."""
    out: list[shapely.Polygon] = []
    for p in shapely.get_parts(g).tolist():
        if isinstance(p, shapely.Polygon):
            if not p.is_empty and p.area > 0:
                out.append(p)
        elif isinstance(p, shapely.MultiPolygon | shapely.GeometryCollection):
            out.extend(_parts(p))
    return out


def _like(g: BaseGeometry, original: BaseGeometry) -> Polygonal:
    """``g`` as a Polygon when the input was a Polygon and ``g`` is one piece, else MultiPolygon."""
    mp = polygons_only(g)
    if isinstance(original, shapely.Polygon) and len(mp.geoms) == 1:
        return mp.geoms[0]
    return mp


def _is_sliver(piece: BaseGeometry, scale: _Scale, tolerance_m: float, sliver_m2: float | None) -> bool:
    if sliver_m2 is not None and scale.area(piece) <= sliver_m2:
        return True
    return bool(tolerance_m > 0 and scale.metric(piece).buffer(-tolerance_m / 2).is_empty)


def _segments(g: BaseGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Start and end points of every segment of ``g``'s rings."""
    rings = shapely.get_rings(np.asarray(_parts(g), dtype=object))
    coords, idx = shapely.get_coordinates(rings, return_index=True)
    if len(coords) < 2:
        return np.empty((0, 2)), np.empty((0, 2))
    same = idx[1:] == idx[:-1]
    return coords[:-1][same], coords[1:][same]


def _borders(piece: BaseGeometry, cands: list[int], geoms: list[BaseGeometry],
             scale: _Scale) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """The segments of ``piece``'s boundary (starts, ends, lengths in m) and, per candidate
    sharing some border with it, which of them lie on that candidate's boundary.

    A piece cut out of the coverage by overlay is bounded by sub-segments of the polygons'
    edges, split at every node, so a segment of its boundary lies on a polygon's boundary
    exactly when its midpoint does (within ``_BORDER_EPS_DEG``, 0.1 mm)."""
    starts, ends = _segments(piece)
    d = (ends - starts) * [scale.kx, scale.ky]
    seg_m = np.hypot(d[:, 0], d[:, 1])
    on: dict[int, np.ndarray] = {}
    if len(starts):
        mids = shapely.points((starts + ends) / 2)
        for c in cands:
            mask = shapely.dwithin(mids, geoms[c].boundary, _BORDER_EPS_DEG)
            if seg_m[mask].sum() > 1e-6:
                on[c] = mask
    return starts, ends, seg_m, on


def _longest_border(piece: BaseGeometry, cands: list[int], geoms: list[BaseGeometry],
                    keys: Sequence[str], scale: _Scale) -> tuple[int | None, list[int]]:
    """The candidate sharing the longest border (m) with ``piece`` (tie → smallest key), and
    all candidates that share some border."""
    _s, _e, seg_m, on = _borders(piece, cands, geoms, scale)
    if not on:
        return None, []
    winner = min(on, key=lambda c: (-round(float(seg_m[on[c]].sum()), 6), keys[c]))
    return winner, sorted(on, key=lambda c: keys[c])


def _split_across(piece: BaseGeometry, starts: np.ndarray, ends: np.ndarray,
                  on: dict[int, np.ndarray]) -> list[BaseGeometry]:
    """``piece`` cut across at every point of its boundary where the polygon bordering it
    changes, by the shortest line from that point to the opposite side of the piece (a part of
    its boundary bordered by neither polygon); each part then borders few polygons.

    Cuts are straight two-point lines, so the parts add few vertices. A cut that would leave
    the piece is not made."""
    label = np.full(len(starts), -1, dtype=np.int64)
    for c, mask in on.items():
        label[mask & (label < 0)] = c
    # segments come ring by ring; a switch is a vertex between two segments of one ring
    same_ring = np.isclose(ends[:-1], starts[1:]).all(axis=1)
    ring_id = np.concatenate([[0], np.cumsum(~same_ring)])
    cuts: list[shapely.LineString] = []
    lines = shapely.linestrings(np.stack([starts, ends], axis=1))
    rim = shapely.buffer(piece, _BORDER_EPS_DEG)
    shapely.prepare(rim)
    for r in np.unique(ring_id).tolist():
        idx = np.flatnonzero(ring_id == r)
        for a, b in zip(idx.tolist(), np.roll(idx, -1).tolist(), strict=True):
            la, lb = int(label[a]), int(label[b])
            if la == lb or max(la, lb) < 0:
                continue
            p = shapely.Point(ends[a])
            far = lines[(label != la) & (label != lb)]
            if not len(far):
                continue
            q = shapely.shortest_line(p, shapely.multilinestrings(far))
            xy = shapely.get_coordinates(q)
            d = xy[1] - xy[0]
            norm = float(np.hypot(*d))
            if norm == 0 or not rim.covers(q):
                continue
            e = d / norm * _BORDER_EPS_DEG * 10
            cuts.append(shapely.LineString([xy[0] - e, xy[1] + e]))
    if not cuts:
        return [piece]
    from shapely.ops import split

    parts: list[BaseGeometry] = []
    for poly in _parts(piece):
        parts.extend(_parts(split(poly, shapely.MultiLineString(cuts))))
    return parts


# --- detection --------------------------------------------------------------------------------


@dataclass
class _Found:
    problems: list[Problem]
    overlap_m2: float
    gap_m2: float
    outside_m2: float
    invalid: list[int]
    dirty: set[int]

    @property
    def clean(self) -> bool:
        return (not self.invalid and self.overlap_m2 <= CLEAN_M2 and self.gap_m2 <= CLEAN_M2
                and self.outside_m2 <= CLEAN_M2)


def _gaps(geoms: list[BaseGeometry], outline: BaseGeometry | None) -> list[shapely.Polygon]:
    union = shapely.union_all(np.asarray(geoms, dtype=object))
    if outline is not None:
        return _parts(shapely.difference(outline, union))
    holes = [shapely.Polygon(r) for p in _parts(union) for r in p.interiors]
    if not holes:
        return []
    return _parts(shapely.difference(shapely.union_all(holes), union))


def _detect(geoms: list[BaseGeometry], keys: Sequence[str], outline: BaseGeometry | None,
            invalid: list[tuple[int, str]], scale: _Scale, tolerance_m: float,
            sliver_m2: float | None, *, classify: bool = True) -> _Found:
    """Every overlap, gap and part outside the outline larger than ``NOISE_M2`` (pieces are
    flagged as slivers only when ``classify``: the repair does not need the flags)."""
    arr = np.asarray(geoms, dtype=object)
    problems: list[Problem] = []
    dirty: set[int] = set()
    for i, why in invalid:
        x, y = _point(geoms[i])
        problems.append(Problem("invalid", (keys[i],), float(scale.area(geoms[i])), x, y, why))
        dirty.add(i)
    outside_m2 = 0.0
    if outline is not None:
        shapely.prepare(outline)
        out_idx = np.flatnonzero(~shapely.covered_by(arr, outline))
        for i in out_idx.tolist():
            for piece in _parts(shapely.difference(geoms[i], outline)):
                a = float(scale.area(piece))
                if a > NOISE_M2:
                    outside_m2 += a
                    dirty.add(i)
                    problems.append(Problem("outside", (keys[i],), a, *_point(piece),
                                            detail="outside the outline"))
    tree = shapely.STRtree(arr)
    left, right = tree.query(arr, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    overlap_m2 = 0.0
    # neighbours that only touch (every pair of a clean tiling) need no overlay
    inner = ~shapely.touches(arr[left], arr[right]) if left.size else np.zeros(0, dtype=bool)
    left, right = left[inner], right[inner]
    if left.size:
        inter = shapely.intersection(arr[left], arr[right])
        areas = scale.area(inter)
        for n in np.flatnonzero(areas > NOISE_M2).tolist():
            i, j = int(left[n]), int(right[n])
            for piece in _parts(inter[n]):
                a = float(scale.area(piece))
                if a > NOISE_M2:
                    overlap_m2 += a
                    dirty.update((i, j))
                    pair = tuple(sorted((keys[i], keys[j])))
                    problems.append(Problem("overlap", pair, a, *_point(piece),
                                            sliver=classify and _is_sliver(piece, scale, tolerance_m,
                                                                           sliver_m2)))
    gap_m2 = 0.0
    tol_deg = max(tolerance_m, 0.0) / M_PER_DEG + _BORDER_EPS_DEG
    for piece in _gaps(geoms, outline):
        a = float(scale.area(piece))
        if a <= NOISE_M2:
            continue
        gap_m2 += a
        near = tree.query(piece, predicate="dwithin", distance=tol_deg).tolist()
        dirty.update(int(c) for c in near)
        problems.append(Problem("gap", tuple(sorted(keys[c] for c in near)), a, *_point(piece),
                                sliver=classify and _is_sliver(piece, scale, tolerance_m, sliver_m2)))
    return _Found(problems, overlap_m2, gap_m2, outside_m2, [i for i, _ in invalid], dirty)


def _check_input(polygons: Sequence[BaseGeometry], keys: Sequence[str],
                 outline: BaseGeometry | None) -> tuple[list[Polygonal], list[tuple[int, str]],
                                                        Polygonal | None]:
    """Valid polygonal versions of the inputs, and (index, reason) of each invalid one."""
    if len(polygons) != len(keys):
        raise TopologyError([Problem("bad_input", (), 0.0, None, None,
                                     f"{len(polygons)} polygons but {len(keys)} keys")])
    if not polygons:
        raise TopologyError([Problem("bad_input", (), 0.0, None, None, "no polygons")])
    problems: list[Problem] = []
    seen: set[str] = set()
    for k in keys:
        if k in seen:
            problems.append(Problem("bad_input", (k,), 0.0, None, None, "the key is not unique"))
        seen.add(k)
    valid: list[Polygonal] = []
    invalid: list[tuple[int, str]] = []
    for i, (g, k) in enumerate(zip(polygons, keys, strict=True)):
        if not isinstance(g, shapely.Polygon | shapely.MultiPolygon) or g.is_empty:
            got = "empty" if isinstance(g, BaseGeometry) and g.is_empty else type(g).__name__
            problems.append(Problem("not_polygonal", (k,), 0.0, None, None,
                                    f"expected a non-empty Polygon or MultiPolygon, got {got}"))
            valid.append(shapely.MultiPolygon())
            continue
        if g.has_z:
            g = shapely.force_2d(g)
        if g.is_valid:
            valid.append(g)
            continue
        why = explain_validity(g)
        fixed = polygons_only(shapely.make_valid(g, method="structure", keep_collapsed=False))
        if fixed.is_empty:
            problems.append(Problem("not_polygonal", (k,), 0.0, None, None,
                                    f"invalid ({why}) and nothing of it has area"))
        invalid.append((i, why))
        valid.append(_like(fixed, g))
    clean_outline: Polygonal | None = None
    if outline is not None:
        if not isinstance(outline, shapely.Polygon | shapely.MultiPolygon) or outline.is_empty:
            problems.append(Problem("bad_input", (), 0.0, None, None,
                                    "the outline must be a non-empty Polygon or MultiPolygon"))
        else:
            if outline.has_z:
                outline = shapely.force_2d(outline)
            clean_outline = outline if outline.is_valid else _like(
                shapely.make_valid(outline, method="structure", keep_collapsed=False), outline)
    if problems:
        raise TopologyError(problems)
    return valid, invalid, clean_outline


def find_problems(polygons: Sequence[Polygonal], *, keys: Sequence[str],
                  outline: Polygonal | None = None, tolerance_m: float = 0.5,
                  sliver_m2: float | None = None) -> list[Problem]:
    """Every problem :func:`repair_coverage` would repair (empty for a clean coverage)."""
    valid, invalid, outline = _check_input(polygons, keys, outline)
    found = _detect(list(valid), keys, outline, invalid, _Scale.at([*valid, *([outline] if outline else [])]),
                    tolerance_m, sliver_m2)
    return [] if found.clean else found.problems


# --- repair -----------------------------------------------------------------------------------


def _snap_dirty(geoms: list[BaseGeometry], dirty: set[int], keys: Sequence[str],
                outline: BaseGeometry | None, tol_deg: float) -> list[BaseGeometry]:
    """Move vertices of the dirty polygons onto nearby vertices of other polygons or the outline.

    Vertex clustering, not ``shapely.snap``: snap also inserts reference vertices into edges,
    which spreads one misplaced vertex into every neighbour. Here a vertex moves only to a
    vertex within ``tol_deg`` that belongs to another polygon (or the outline) and ranks
    higher: outline vertices first, then vertices shared by more polygons (the consensus of
    the neighbours), then the vertex of the polygon with the smaller key. Vertices of clean
    polygons never move; a move that would make a polygon invalid is not applied.
    """
    arr = np.asarray(geoms, dtype=object)
    coords, owner = shapely.get_coordinates(arr, return_index=True)
    rim = shapely.get_coordinates(outline) if outline is not None else np.empty((0, 2))
    allc = np.vstack([coords, rim])
    uniq, inv = np.unique(allc, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    n_u = len(uniq)
    keyrank = np.empty(len(geoms), dtype=np.int64)
    keyrank[np.argsort(np.asarray(keys, dtype=object), kind="stable")] = np.arange(len(geoms))
    on_rim = np.zeros(n_u, dtype=bool)
    on_rim[inv[len(coords):]] = True
    pairs = np.unique(np.column_stack([inv[:len(coords)], owner]), axis=0)
    degree = np.bincount(pairs[:, 0], minlength=n_u)
    best_key = np.full(n_u, len(geoms), dtype=np.int64)
    np.minimum.at(best_key, pairs[:, 0], keyrank[pairs[:, 1]])
    owners: dict[int, set[int]] = {}
    for u, g in pairs.tolist():
        owners.setdefault(u, set()).add(g)
    rank = np.lexsort((-best_key, degree, on_rim))        # ascending rank
    score = np.empty(n_u, dtype=np.int64)
    score[rank] = np.arange(n_u)
    dirty_arr = np.fromiter(dirty, dtype=np.int64)
    src = np.unique(pairs[np.isin(pairs[:, 1], dirty_arr), 0])
    src = src[~on_rim[src]]
    if not src.size:
        return list(geoms)
    pts = shapely.points(uniq)
    tree = shapely.STRtree(pts)
    s_idx, t_idx = tree.query(pts[src], predicate="dwithin", distance=tol_deg)
    s_idx = src[s_idx]
    target = np.arange(n_u)
    best_score = score.copy()
    for s, t in zip(s_idx.tolist(), t_idx.tolist(), strict=True):
        if s == t or score[t] <= best_score[s]:
            continue
        if not on_rim[t] and owners.get(t, set()) <= owners.get(s, set()):
            continue  # the polygon's own vertex: moving onto it would collapse an edge
        target[s], best_score[s] = t, score[t]
    for _ in range(8):   # chains: each step goes to a strictly higher rank
        nxt = target[target]
        if (nxt == target).all():
            break
        target = nxt
    moved = np.flatnonzero(target != np.arange(n_u))
    if not moved.size:
        return list(geoms)
    mapping = {tuple(uniq[u]): tuple(uniq[target[u]]) for u in moved.tolist()}
    out = list(geoms)
    for i in sorted(dirty, key=lambda n: keys[n]):
        g = geoms[i]

        def move(c: np.ndarray) -> np.ndarray:
            res = c.copy()
            for k, (x, y) in enumerate(c.tolist()):
                t = mapping.get((x, y))
                if t is not None:
                    res[k] = t
            return res

        snapped = shapely.remove_repeated_points(shapely.transform(g, move))
        if not shapely.equals_exact(snapped, g, 0) and snapped.is_valid and not snapped.is_empty:
            out[i] = _like(snapped, g)
    return out


def _clean(geoms: list[BaseGeometry], keys: Sequence[str], scale: _Scale) -> list[BaseGeometry]:
    """GEOS' coverage cleaner, run in local metres so that its "longest border" is measured in
    metres (in degrees an east–west border would count 1/cos φ too long), in key order (so
    the result does not depend on the input order; an exact tie goes to the polygon its
    spatial index meets first).

    Coordinates come back exactly: an input vertex maps back to its own input coordinates
    (looked up, not recomputed), a new node is converted back once — the same for every
    polygon that shares it, so shared edges stay identical."""
    order = sorted(range(len(geoms)), key=lambda n: keys[n])
    arr = np.asarray([geoms[n] for n in order], dtype=object)
    coords = shapely.get_coordinates(arr)
    origin = coords.min(axis=0) if len(coords) else np.zeros(2)
    k = np.array([scale.kx, scale.ky])
    back = {tuple(m): tuple(c) for m, c in zip(((coords - origin) * k).tolist(), coords.tolist(),
                                                strict=True)}

    def to_deg(c: np.ndarray) -> np.ndarray:
        res = c / k + origin
        for n, m in enumerate(c.tolist()):
            hit = back.get(tuple(m))
            if hit is not None:
                res[n] = hit
        return res

    metric = shapely.transform(arr, lambda c: (c - origin) * k)
    cleaned = shapely.coverage_clean(metric, snapping_distance=NODE_SNAP_DEG * scale.ky,
                                     gap_width=0.0, merge_strategy="longest_border")
    out: list[BaseGeometry] = list(geoms)
    for pos, n in enumerate(order):
        c = cleaned[pos]
        if c is None or c.is_empty:
            out[n] = shapely.MultiPolygon()
            continue
        g = shapely.transform(c, to_deg)
        out[n] = geoms[n] if shapely.equals(g, geoms[n]) else polygons_only(g)
    return out


class _Ledger:
    """Builds the repairs of one stage from the polygons before and after it."""

    def __init__(self, keys: Sequence[str], scale: _Scale) -> None:
        self.keys = keys
        self.scale = scale
        self.repairs: list[Repair] = []

    def add(self, kind: RepairKind, piece: BaseGeometry, *, changes: dict[str, float],
            gained_by: str | None, keys: tuple[str, ...] | None = None, sliver: bool = False,
            detail: str = "") -> None:
        x, y = _point(piece)
        named = {*changes, *([gained_by] if gained_by else [])}
        involved = keys if keys is not None else tuple(sorted(named))
        self.repairs.append(Repair(kind, involved, gained_by, float(self.scale.area(piece)), x, y,
                                   changes, sliver, detail))

    def moved(self, before: list[BaseGeometry], after: list[BaseGeometry], kind: RepairKind) -> None:
        """Attribute each change of the cleaner: a piece a polygon lost that another already
        held is an ``overlap_assigned``; what is left (node snapping, ≤ 1 mm) is reported per
        polygon as ``snapped_vertices``."""
        after_arr = np.asarray(after, dtype=object)
        tree = shapely.STRtree(after_arr)
        for i in sorted(range(len(before)), key=lambda n: self.keys[n]):
            if after[i] is before[i]:
                continue
            k = self.keys[i]
            net = float(self.scale.area(after[i]) - self.scale.area(before[i]))
            assigned = 0.0
            for part in _parts(shapely.difference(before[i], after[i])):
                hits = np.asarray([j for j in tree.query(part, predicate="intersects").tolist() if j != i],
                                  dtype=np.int64)
                if not hits.size:
                    continue
                inner = hits[~shapely.touches(part, after_arr[hits])]
                for j in sorted(inner.tolist(), key=lambda n: self.keys[n]):
                    held = shapely.intersection(part, after[j])
                    if not shapely.covered_by(held, before[j]):
                        held = shapely.intersection(held, before[j])
                    a = float(self.scale.area(held))
                    if a > NOISE_M2:
                        assigned += a
                        self.add(kind, held, changes={k: -a}, gained_by=self.keys[j],
                                 keys=tuple(sorted((k, self.keys[j]))))
            rest = net + assigned
            sym = shapely.symmetric_difference(before[i], after[i])
            if abs(rest) > NOISE_M2:
                self.add("snapped_vertices", sym, changes={k: rest}, gained_by=None, keys=(k,),
                         detail="node snapping while cleaning the coverage")


def repair_coverage(polygons: Sequence[Polygonal], *, keys: Sequence[str],
                    outline: Polygonal | None = None, tolerance_m: float = 0.5,
                    sliver_m2: float | None = None, strict: bool = False) -> CoverageRepair:
    """Repair a coverage of polygons (EPSG:4326) by the rules of the module docstring.

    ``keys`` name the polygons (unique; gap ties go to the smallest). ``outline``: the area the
    coverage must fill exactly (the county), or None. ``tolerance_m``: snapping distance and
    the width below which a piece is a sliver; ``sliver_m2``: pieces up to this area are
    slivers too. ``strict``: raise :class:`TopologyError` listing every problem instead of
    repairing (a clean coverage passes).
    """
    if not (tolerance_m >= 0 and math.isfinite(tolerance_m)):
        raise TopologyError([Problem("bad_input", (), 0.0, None, None,
                                     f"tolerance_m must be a finite number ≥ 0, got {tolerance_m}")])
    keys = [str(k) for k in keys]
    valid, invalid, outline = _check_input(polygons, keys, outline)
    scale = _Scale.at([*valid, *([outline] if outline is not None else [])])
    found = _detect(valid, keys, outline, invalid, scale, tolerance_m, sliver_m2, classify=strict)
    if found.clean:
        return CoverageRepair(list(polygons), [], [False] * len(polygons))
    if strict:
        raise TopologyError(found.problems)

    ledger = _Ledger(keys, scale)
    for i, why in invalid:
        ledger.add("made_valid", valid[i], changes={}, gained_by=keys[i], keys=(keys[i],), detail=why)

    tol_deg = tolerance_m / M_PER_DEG
    cur: list[BaseGeometry] = list(valid)
    if tol_deg > 0:
        snapped = _snap_dirty(cur, found.dirty, keys, outline, tol_deg)
        for i in sorted(range(len(cur)), key=lambda n: keys[n]):
            if snapped[i] is not cur[i]:
                sym = shapely.symmetric_difference(cur[i], snapped[i])
                if scale.area(sym) > NOISE_M2:
                    ledger.add("snapped_vertices", sym, gained_by=None, keys=(keys[i],),
                               changes={keys[i]: float(scale.area(snapped[i]) - scale.area(cur[i]))},
                               detail=f"vertices snapped to neighbours within {tolerance_m} m")
                else:
                    snapped[i] = cur[i]
        cur = snapped

    if outline is not None:
        cur = _clip(cur, outline, keys, ledger)
    cur = _islands(cur, keys, ledger)
    before = cur
    cur = _clean(cur, keys, scale)
    ledger.moved(before, cur, "overlap_assigned")
    if outline is not None:
        cur = _clip(cur, outline, keys, ledger)
    cur = _fill_gaps(cur, outline, keys, scale, tolerance_m, sliver_m2, ledger)
    cur = _drop_slivers(cur, valid, keys, scale, tolerance_m, sliver_m2, ledger)
    cur = _node(cur, valid)

    emptied = [i for i, g in enumerate(cur) if scale.area(g) <= NOISE_M2]
    if emptied:
        raise TopologyError([Problem("emptied", (keys[i],), float(scale.area(valid[i])),
                                     *_point(valid[i]),
                                     detail="nothing of this polygon is left after the repair "
                                            "(a duplicate, or wholly outside the outline)")
                             for i in emptied])
    out: list[Polygonal] = []
    changed: list[bool] = []
    for i, g in enumerate(cur):
        orig = polygons[i]
        if g is valid[i] and not any(i == n for n, _ in invalid):
            out.append(orig)
            changed.append(False)
        else:
            out.append(_like(g, orig))
            changed.append(True)
    return CoverageRepair(out, ledger.repairs, changed)


def _node(geoms: list[BaseGeometry], inputs: list[BaseGeometry]) -> list[BaseGeometry]:
    """No T-junction between a changed polygon and its neighbours.

    In the plane a T-junction is harmless; on the sphere (the database measures areas as
    ``geography``) the neighbour's edge U–V is one geodesic and the changed polygon's U–P–V two,
    and the sliver between them (≈ 0.02 m² along a 150 m edge) counts as overlap or gap. So,
    among the changed polygons and their neighbours: vertices closer than ``_BORDER_EPS_DEG``
    (0.1 mm; floating-point residue of separate overlays) merge onto the smallest (lon, lat) of
    them, then a vertex of one lying on another's edge is inserted into that edge. Shapes move
    by at most 0.2 mm; a step that would make a polygon invalid is not applied; no repair is
    listed."""
    changed = {i for i, g in enumerate(geoms) if g is not inputs[i]}
    if not changed:
        return geoms
    out = list(geoms)
    arr = np.asarray(out, dtype=object)
    tree = shapely.STRtree(arr)
    idx = np.fromiter(sorted(changed), dtype=np.int64)
    _a, b = tree.query(arr[idx], predicate="dwithin", distance=_BORDER_EPS_DEG)
    group = np.unique(np.concatenate([idx, b]))
    # 1. merge near-duplicate vertices (union-find over pairs closer than the epsilon)
    pts = np.unique(shapely.get_coordinates(arr[group]), axis=0)
    pt_tree = shapely.STRtree(shapely.points(pts))
    pa, pb = pt_tree.query(shapely.points(pts), predicate="dwithin", distance=_BORDER_EPS_DEG)
    parent = np.arange(len(pts))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    for x, y in zip(pa.tolist(), pb.tolist(), strict=True):
        if x != y:
            rx, ry = find(x), find(y)
            if rx != ry:   # np.unique sorted the points: the smaller index is the smaller point
                parent[max(rx, ry)] = min(rx, ry)
    roots = np.fromiter((find(x) for x in range(len(pts))), dtype=np.int64, count=len(pts))
    moved = np.flatnonzero(roots != np.arange(len(pts)))
    if moved.size:
        mapping = {tuple(pts[m]): tuple(pts[roots[m]]) for m in moved.tolist()}

        def merge(c: np.ndarray) -> np.ndarray:
            res = c.copy()
            for k, xy in enumerate(c.tolist()):
                t = mapping.get(tuple(xy))
                if t is not None:
                    res[k] = t
            return res

        for i in group.tolist():
            g = out[i]
            try:
                h = shapely.remove_repeated_points(shapely.transform(g, merge))
            except shapely.errors.GEOSException:
                continue
            if (not shapely.equals_exact(h, g, 0) and h.is_valid and not h.is_empty
                    and shapely.hausdorff_distance(h, g) <= 2 * _BORDER_EPS_DEG):
                out[i] = _like(h, g)
    # 2. insert the vertices of neighbours that lie on a polygon's edges
    arr = np.asarray(out, dtype=object)
    ga, gb = shapely.STRtree(arr[group]).query(arr[group], predicate="dwithin", distance=_BORDER_EPS_DEG)
    nbrs: dict[int, list[int]] = {}
    for x, y in zip(group[ga].tolist(), group[gb].tolist(), strict=True):
        if x != y:
            nbrs.setdefault(x, []).append(y)
    for i in sorted(nbrs):
        g = out[i]
        cand = np.unique(shapely.get_coordinates(arr[sorted(nbrs[i])]), axis=0)
        rim = g.boundary
        shapely.prepare(rim)
        on = cand[shapely.dwithin(shapely.points(cand), rim, _BORDER_EPS_DEG)]
        own = set(map(tuple, shapely.get_coordinates(g).tolist()))
        missing = [v for v in on.tolist() if tuple(v) not in own]
        if not missing:
            continue
        new = _snap_kept(g, missing)
        if new is None and len(missing) > 1:   # all at once failed: one by one
            h = g
            for v in missing:
                step = _snap_kept(h, [v])
                if step is not None:
                    h = step
            new = h if h is not g else None
        if new is not None:
            out[i] = _like(new, g)
    return out


def _snap_kept(g: BaseGeometry, points: list[list[float]]) -> BaseGeometry | None:
    """``g`` snapped to ``points`` within 0.1 mm, if that changes it, keeps it valid, and moves
    no point of it by more than 0.2 mm; else None."""
    noded = shapely.snap(g, shapely.multipoints(points), _BORDER_EPS_DEG)
    if not noded.is_valid:
        # two parts of one polygon meeting at a hair's angle can cross by 1e-16° once a vertex
        # is inserted: make_valid undoes that without changing the area
        noded = polygons_only(shapely.make_valid(noded, method="structure", keep_collapsed=False))
        if abs(noded.area - g.area) > 1e-15:   # deg², ~1e-5 m²
            return None
    if (not shapely.equals_exact(noded, g, 0) and noded.is_valid
            and shapely.hausdorff_distance(noded, g) <= 2 * _BORDER_EPS_DEG):
        return noded
    return None


def _islands(geoms: list[BaseGeometry], keys: Sequence[str], ledger: _Ledger) -> list[BaseGeometry]:
    """A polygon lying wholly inside another (an island drawn on top of its surroundings, with
    no hole cut for it) keeps its area: the surrounding polygon loses it. Under the overlap
    rule it would vanish — it borders nothing of its own. Exact duplicates are left alone (one
    of them then has nothing left, which is refused)."""
    arr = np.asarray(geoms, dtype=object)
    inner, outer = shapely.STRtree(arr).query(arr, predicate="covered_by")
    keep = inner != outer
    inner, outer = inner[keep], outer[keep]
    if not inner.size:
        return geoms
    dup = shapely.covers(arr[inner], arr[outer])
    inside: dict[int, set[int]] = {}
    for i, j in zip(inner[~dup].tolist(), outer[~dup].tolist(), strict=True):
        inside.setdefault(j, set()).add(i)
    out = list(geoms)
    for j in sorted(inside, key=lambda n: keys[n]):
        # only the outermost islands: one inside another is the other's business
        top = [i for i in inside[j] if not any(i in inside.get(o, ()) for o in inside[j])]
        for i in sorted(top, key=lambda n: keys[n]):
            a = float(ledger.scale.area(geoms[i]))
            ledger.add("overlap_assigned", geoms[i], changes={keys[j]: -a}, gained_by=keys[i],
                       keys=tuple(sorted((keys[i], keys[j]))),
                       detail=f"{keys[i]} lies wholly inside {keys[j]} and keeps its area")
        out[j] = polygons_only(shapely.difference(geoms[j], shapely.union_all([geoms[i] for i in top])))
    return out


def _clip(geoms: list[BaseGeometry], outline: BaseGeometry, keys: Sequence[str],
          ledger: _Ledger) -> list[BaseGeometry]:
    shapely.prepare(outline)
    out = list(geoms)
    arr = np.asarray(geoms, dtype=object)
    for i in np.flatnonzero(~shapely.covered_by(arr, outline)).tolist():
        outside = polygons_only(shapely.difference(geoms[i], outline))
        a = float(ledger.scale.area(outside))
        if a <= NOISE_M2:
            continue
        out[i] = polygons_only(shapely.intersection(geoms[i], outline))
        for piece in _parts(outside):
            pa = float(ledger.scale.area(piece))
            if pa > NOISE_M2 / 10:
                ledger.add("clipped_to_outline", piece, changes={keys[i]: -pa}, gained_by=None,
                           keys=(keys[i],))
    return out


def _fill_gaps(geoms: list[BaseGeometry], outline: BaseGeometry | None, keys: Sequence[str],
               scale: _Scale, tolerance_m: float, sliver_m2: float | None,
               ledger: _Ledger) -> list[BaseGeometry]:
    out = list(geoms)
    pieces = [p for p in _gaps(geoms, outline) if scale.area(p) > NOISE_M2]
    if not pieces:
        return out
    tree = shapely.STRtree(np.asarray(geoms, dtype=object))
    unfilled: list[Problem] = []
    for piece in sorted(pieces, key=lambda p: _point(p)):
        cands = sorted(tree.query(piece, predicate="dwithin", distance=10 * _BORDER_EPS_DEG).tolist(),
                       key=lambda n: keys[n])
        starts, ends, seg_m, on = _borders(piece, cands, out, scale)
        a = float(scale.area(piece))
        if not on:
            unfilled.append(Problem("gap", tuple(keys[c] for c in cands), a, *_point(piece),
                                    detail="no polygon borders this part along an edge"))
            continue
        length = {c: float(seg_m[m].sum()) for c, m in on.items()}
        winner = min(on, key=lambda c: (-round(length[c], 6), keys[c]))
        sharing = tuple(sorted(keys[c] for c in on))
        total = sum(length.values())
        if length[winner] >= GAP_SPLIT_SHARE * total or total <= GAP_SPLIT_MIN_M:
            shares = [(winner, piece)]
        else:  # a long sliver along many polygons: cut across, each part to its longest border
            shares = []
            for part in _split_across(piece, starts, ends, on):
                w, _ = _longest_border(part, sorted(on, key=lambda n: keys[n]), out, keys, scale)
                shares.append((w if w is not None else winner, part))
        for c, share in shares:
            sa = float(scale.area(share)) if len(shares) > 1 else a
            out[c] = polygons_only(shapely.union(out[c], share))
            hole = len(on) == 1 and any(
                shapely.Polygon(p.exterior).covers(share) for p in _parts(geoms[c]))
            ledger.add("hole_filled" if hole else "gap_filled", share, changes={keys[c]: sa},
                       gained_by=keys[c], keys=sharing,
                       sliver=_is_sliver(share, scale, tolerance_m, sliver_m2),
                       detail="" if len(shares) == 1 else
                       f"one of {len(shares)} parts of a gap cut across where its neighbours change")
    if unfilled:
        raise TopologyError(unfilled)
    return out


def _drop_slivers(geoms: list[BaseGeometry], inputs: list[BaseGeometry], keys: Sequence[str],
                  scale: _Scale, tolerance_m: float, sliver_m2: float | None,
                  ledger: _Ledger) -> list[BaseGeometry]:
    """Thin parts of the polygons a repair changed go to the neighbour with the longest border
    (a polygon no repair touched keeps all its parts); parts of at most ``NOISE_M2`` are
    floating-point residue of the overlays and are dropped."""
    out = list(geoms)
    multi = [i for i, g in enumerate(geoms) if g is not inputs[i] and len(_parts(g)) > 1]
    if not multi:
        return out
    tree = shapely.STRtree(np.asarray(geoms, dtype=object))
    for i in sorted(multi, key=lambda n: keys[n]):
        parts = _parts(out[i])
        kept = [p for p in parts if scale.area(p) > NOISE_M2]
        if kept and len(kept) < len(parts):   # residue of overlay (≤ 1 mm²): dropped unlisted
            out[i] = shapely.MultiPolygon(kept)
            parts = kept
        slivers = [p for p in parts if _is_sliver(p, scale, tolerance_m, sliver_m2)]
        if not slivers or len(slivers) == len(parts):
            continue
        for part in slivers:
            cands = [int(c) for c in tree.query(part, predicate="dwithin", distance=10 * _BORDER_EPS_DEG)
                     if c != i]
            winner, _ = _longest_border(part, sorted(cands, key=lambda n: keys[n]), out, keys, scale)
            if winner is None:
                continue
            a = float(scale.area(part))
            out[i] = polygons_only(shapely.difference(out[i], part))
            out[winner] = polygons_only(shapely.union(out[winner], part))
            ledger.add("sliver_dropped", part, changes={keys[i]: -a, keys[winner]: a},
                       gained_by=keys[winner], sliver=True)
    return out
