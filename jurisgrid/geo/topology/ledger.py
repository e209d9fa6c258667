"""The repair's ledger: each step's changes written down as :class:`Repair` records (what,
where, how much, who gained it), including the attribution of what the coverage cleaner moved
— the pieces one polygon lost to another, and the node snapping left over."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from jurisgrid.geo.topology.measure import Scale, inner_point, polygon_parts
from jurisgrid.geo.topology.model import NOISE_M2, Repair, RepairKind

__all__ = ["Ledger"]


class Ledger:
    """Builds the repairs of one stage from the polygons before and after it."""

    def __init__(self, keys: Sequence[str], scale: Scale) -> None:
        self.keys = keys
        self.scale = scale
        self.repairs: list[Repair] = []

    def add(self, kind: RepairKind, piece: BaseGeometry, *, changes: dict[str, float],
            gained_by: str | None, keys: tuple[str, ...] | None = None, sliver: bool = False,
            detail: str = "") -> None:
        x, y = inner_point(piece)
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
            for part in polygon_parts(shapely.difference(before[i], after[i])):
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
