"""Checking the input and finding its problems: the inputs made valid and polygonal (or refused
with every reason, bad input), then every overlap, gap and part outside the outline larger
than ``NOISE_M2``. :func:`find_problems` is that alone; the repair starts from it (rule 0: a
coverage found clean is returned untouched; the polygons found in a problem are the ones
snapping may move)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from jurisgrid.geo.topology.measure import (
    BORDER_EPS_DEG,
    Scale,
    inner_point,
    is_sliver,
    like_input,
    polygon_parts,
)
from jurisgrid.geo.topology.model import CLEAN_M2, NOISE_M2, Polygonal, Problem, TopologyError
from jurisgrid.geo.validate import M_PER_DEG, polygons_only

__all__ = ["Found", "check_input", "detect", "find_problems", "gap_pieces"]


@dataclass
class Found:
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


def gap_pieces(geoms: list[BaseGeometry], outline: BaseGeometry | None) -> list[shapely.Polygon]:
    union = shapely.union_all(np.asarray(geoms, dtype=object))
    if outline is not None:
        return polygon_parts(shapely.difference(outline, union))
    holes = [shapely.Polygon(r) for p in polygon_parts(union) for r in p.interiors]
    if not holes:
        return []
    return polygon_parts(shapely.difference(shapely.union_all(holes), union))


def detect(geoms: list[BaseGeometry], keys: Sequence[str], outline: BaseGeometry | None,
            invalid: list[tuple[int, str]], scale: Scale, tolerance_m: float,
            sliver_m2: float | None, *, classify: bool = True) -> Found:
    """Every overlap, gap and part outside the outline larger than ``NOISE_M2`` (pieces are
    flagged as slivers only when ``classify``: the repair does not need the flags)."""
    arr = np.asarray(geoms, dtype=object)
    problems: list[Problem] = []
    dirty: set[int] = set()
    for i, why in invalid:
        x, y = inner_point(geoms[i])
        problems.append(Problem("invalid", (keys[i],), float(scale.area(geoms[i])), x, y, why))
        dirty.add(i)
    outside_m2 = 0.0
    if outline is not None:
        shapely.prepare(outline)
        out_idx = np.flatnonzero(~shapely.covered_by(arr, outline))
        for i in out_idx.tolist():
            for piece in polygon_parts(shapely.difference(geoms[i], outline)):
                a = float(scale.area(piece))
                if a > NOISE_M2:
                    outside_m2 += a
                    dirty.add(i)
                    problems.append(Problem("outside", (keys[i],), a, *inner_point(piece),
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
            for piece in polygon_parts(inter[n]):
                a = float(scale.area(piece))
                if a > NOISE_M2:
                    overlap_m2 += a
                    dirty.update((i, j))
                    pair = tuple(sorted((keys[i], keys[j])))
                    problems.append(Problem("overlap", pair, a, *inner_point(piece),
                                            sliver=classify and is_sliver(piece, scale, tolerance_m,
                                                                           sliver_m2)))
    gap_m2 = 0.0
    tol_deg = max(tolerance_m, 0.0) / M_PER_DEG + BORDER_EPS_DEG
    for piece in gap_pieces(geoms, outline):
        a = float(scale.area(piece))
        if a <= NOISE_M2:
            continue
        gap_m2 += a
        near = tree.query(piece, predicate="dwithin", distance=tol_deg).tolist()
        dirty.update(int(c) for c in near)
        problems.append(Problem("gap", tuple(sorted(keys[c] for c in near)), a, *inner_point(piece),
                                sliver=classify and is_sliver(piece, scale, tolerance_m, sliver_m2)))
    return Found(problems, overlap_m2, gap_m2, outside_m2, [i for i, _ in invalid], dirty)


def check_input(polygons: Sequence[BaseGeometry], keys: Sequence[str],
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
        valid.append(like_input(fixed, g))
    clean_outline: Polygonal | None = None
    if outline is not None:
        if not isinstance(outline, shapely.Polygon | shapely.MultiPolygon) or outline.is_empty:
            problems.append(Problem("bad_input", (), 0.0, None, None,
                                    "the outline must be a non-empty Polygon or MultiPolygon"))
        else:
            if outline.has_z:
                outline = shapely.force_2d(outline)
            clean_outline = outline if outline.is_valid else like_input(
                shapely.make_valid(outline, method="structure", keep_collapsed=False), outline)
    if problems:
        raise TopologyError(problems)
    return valid, invalid, clean_outline


def find_problems(polygons: Sequence[Polygonal], *, keys: Sequence[str],
                  outline: Polygonal | None = None, tolerance_m: float = 0.5,
                  sliver_m2: float | None = None) -> list[Problem]:
    """Every problem :func:`repair_coverage` would repair (empty for a clean coverage)."""
    valid, invalid, outline = check_input(polygons, keys, outline)
    found = detect(list(valid), keys, outline, invalid, Scale.at([*valid, *([outline] if outline else [])]),
                    tolerance_m, sliver_m2)
    return [] if found.clean else found.problems
