"""The steps that give pieces of area to polygons, each written in the ledger: clipping to the
outline (rule 3), islands drawn on top keeping their area (rule 4, before the cleaner), gaps
to the neighbour sharing the longest border — a long sliver cut across first (rule 5) — and
the thin parts of a changed polygon to their neighbour (rule 6)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import split

from jurisgrid.geo.topology.detect import gap_pieces
from jurisgrid.geo.topology.ledger import Ledger
from jurisgrid.geo.topology.measure import (
    BORDER_EPS_DEG,
    Scale,
    borders,
    inner_point,
    is_sliver,
    longest_border,
    polygon_parts,
)
from jurisgrid.geo.topology.model import NOISE_M2, Problem, TopologyError
from jurisgrid.geo.validate import polygons_only

__all__ = ["GAP_SPLIT_MIN_M", "GAP_SPLIT_SHARE", "clip_to_outline", "drop_slivers", "fill_gaps",
           "keep_islands"]

GAP_SPLIT_SHARE = 1 / 3          # a gap goes whole to a neighbour with this share of its border
GAP_SPLIT_MIN_M = 50.0           # … or when its border with polygons is at most this long


def clip_to_outline(geoms: list[BaseGeometry], outline: BaseGeometry, keys: Sequence[str],
          ledger: Ledger) -> list[BaseGeometry]:
    shapely.prepare(outline)
    out = list(geoms)
    arr = np.asarray(geoms, dtype=object)
    for i in np.flatnonzero(~shapely.covered_by(arr, outline)).tolist():
        outside = polygons_only(shapely.difference(geoms[i], outline))
        a = float(ledger.scale.area(outside))
        if a <= NOISE_M2:
            continue
        out[i] = polygons_only(shapely.intersection(geoms[i], outline))
        for piece in polygon_parts(outside):
            pa = float(ledger.scale.area(piece))
            if pa > NOISE_M2 / 10:
                ledger.add("clipped_to_outline", piece, changes={keys[i]: -pa}, gained_by=None,
                           keys=(keys[i],))
    return out


def keep_islands(geoms: list[BaseGeometry], keys: Sequence[str], ledger: Ledger) -> list[BaseGeometry]:
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


def fill_gaps(geoms: list[BaseGeometry], outline: BaseGeometry | None, keys: Sequence[str],
               scale: Scale, tolerance_m: float, sliver_m2: float | None,
               ledger: Ledger) -> list[BaseGeometry]:
    out = list(geoms)
    pieces = [p for p in gap_pieces(geoms, outline) if scale.area(p) > NOISE_M2]
    if not pieces:
        return out
    tree = shapely.STRtree(np.asarray(geoms, dtype=object))
    unfilled: list[Problem] = []
    for piece in sorted(pieces, key=lambda p: inner_point(p)):
        cands = sorted(tree.query(piece, predicate="dwithin", distance=10 * BORDER_EPS_DEG).tolist(),
                       key=lambda n: keys[n])
        starts, ends, seg_m, on = borders(piece, cands, out, scale)
        a = float(scale.area(piece))
        if not on:
            unfilled.append(Problem("gap", tuple(keys[c] for c in cands), a, *inner_point(piece),
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
                w, _ = longest_border(part, sorted(on, key=lambda n: keys[n]), out, keys, scale)
                shares.append((w if w is not None else winner, part))
        for c, share in shares:
            sa = float(scale.area(share)) if len(shares) > 1 else a
            out[c] = polygons_only(shapely.union(out[c], share))
            hole = len(on) == 1 and any(
                shapely.Polygon(p.exterior).covers(share) for p in polygon_parts(geoms[c]))
            ledger.add("hole_filled" if hole else "gap_filled", share, changes={keys[c]: sa},
                       gained_by=keys[c], keys=sharing,
                       sliver=is_sliver(share, scale, tolerance_m, sliver_m2),
                       detail="" if len(shares) == 1 else
                       f"one of {len(shares)} parts of a gap cut across where its neighbours change")
    if unfilled:
        raise TopologyError(unfilled)
    return out


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
    rim = shapely.buffer(piece, BORDER_EPS_DEG)
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
            e = d / norm * BORDER_EPS_DEG * 10
            cuts.append(shapely.LineString([xy[0] - e, xy[1] + e]))
    if not cuts:
        return [piece]

    parts: list[BaseGeometry] = []
    for poly in polygon_parts(piece):
        parts.extend(polygon_parts(split(poly, shapely.MultiLineString(cuts))))
    return parts


def drop_slivers(geoms: list[BaseGeometry], inputs: list[BaseGeometry], keys: Sequence[str],
                  scale: Scale, tolerance_m: float, sliver_m2: float | None,
                  ledger: Ledger) -> list[BaseGeometry]:
    """Thin parts of the polygons a repair changed go to the neighbour with the longest border
    (a polygon no repair touched keeps all its parts); parts of at most ``NOISE_M2`` are
    floating-point residue of the overlays and are dropped."""
    out = list(geoms)
    multi = [i for i, g in enumerate(geoms) if g is not inputs[i] and len(polygon_parts(g)) > 1]
    if not multi:
        return out
    tree = shapely.STRtree(np.asarray(geoms, dtype=object))
    for i in sorted(multi, key=lambda n: keys[n]):
        parts = polygon_parts(out[i])
        kept = [p for p in parts if scale.area(p) > NOISE_M2]
        if kept and len(kept) < len(parts):   # residue of overlay (≤ 1 mm²): dropped unlisted
            out[i] = shapely.MultiPolygon(kept)
            parts = kept
        slivers = [p for p in parts if is_sliver(p, scale, tolerance_m, sliver_m2)]
        if not slivers or len(slivers) == len(parts):
            continue
        for part in slivers:
            cands = [int(c) for c in tree.query(part, predicate="dwithin", distance=10 * BORDER_EPS_DEG)
                     if c != i]
            winner, _ = longest_border(part, sorted(cands, key=lambda n: keys[n]), out, keys, scale)
            if winner is None:
                continue
            a = float(scale.area(part))
            out[i] = polygons_only(shapely.difference(out[i], part))
            out[winner] = polygons_only(shapely.union(out[winner], part))
            ledger.add("sliver_dropped", part, changes={keys[i]: -a, keys[winner]: a},
                       gained_by=keys[winner], sliver=True)
    return out
