""":func:`repair_coverage`: the rules of the package docstring, run in their order over the
steps of the sibling modules (detect, noding, assign), with one ledger and one metric scale for
the whole call."""

from __future__ import annotations

import math
from collections.abc import Sequence

import shapely
from shapely.geometry.base import BaseGeometry

from jurisgrid.geo.topology.assign import clip_to_outline, drop_slivers, fill_gaps, keep_islands
from jurisgrid.geo.topology.detect import check_input, detect
from jurisgrid.geo.topology.ledger import Ledger
from jurisgrid.geo.topology.measure import Scale, inner_point, like_input
from jurisgrid.geo.topology.model import NOISE_M2, CoverageRepair, Polygonal, Problem, TopologyError
from jurisgrid.geo.topology.noding import clean_coverage, node_junctions, snap_dirty
from jurisgrid.geo.validate import M_PER_DEG

__all__ = ["repair_coverage"]


def repair_coverage(polygons: Sequence[Polygonal], *, keys: Sequence[str],
                    outline: Polygonal | None = None, tolerance_m: float = 0.5,
                    sliver_m2: float | None = None, strict: bool = False) -> CoverageRepair:
    """Repair a coverage of polygons (EPSG:4326) by the rules of the package docstring.

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
    valid, invalid, outline = check_input(polygons, keys, outline)
    scale = Scale.at([*valid, *([outline] if outline is not None else [])])
    found = detect(valid, keys, outline, invalid, scale, tolerance_m, sliver_m2, classify=strict)
    if found.clean:
        return CoverageRepair(list(polygons), [], [False] * len(polygons))
    if strict:
        raise TopologyError(found.problems)

    ledger = Ledger(keys, scale)
    for i, why in invalid:
        ledger.add("made_valid", valid[i], changes={}, gained_by=keys[i], keys=(keys[i],), detail=why)

    tol_deg = tolerance_m / M_PER_DEG
    cur: list[BaseGeometry] = list(valid)
    if tol_deg > 0:
        snapped = snap_dirty(cur, found.dirty, keys, outline, tol_deg)
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
        cur = clip_to_outline(cur, outline, keys, ledger)
    cur = keep_islands(cur, keys, ledger)
    before = cur
    cur = clean_coverage(cur, keys, scale)
    ledger.moved(before, cur, "overlap_assigned")
    if outline is not None:
        cur = clip_to_outline(cur, outline, keys, ledger)
    cur = fill_gaps(cur, outline, keys, scale, tolerance_m, sliver_m2, ledger)
    cur = drop_slivers(cur, valid, keys, scale, tolerance_m, sliver_m2, ledger)
    cur = node_junctions(cur, valid)

    emptied = [i for i, g in enumerate(cur) if scale.area(g) <= NOISE_M2]
    if emptied:
        raise TopologyError([Problem("emptied", (keys[i],), float(scale.area(valid[i])),
                                     *inner_point(valid[i]),
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
            out.append(like_input(g, orig))
            changed.append(True)
    return CoverageRepair(out, ledger.repairs, changed)
