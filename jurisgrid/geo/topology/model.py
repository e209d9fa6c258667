"""The public types of the coverage repair: what a repair and a problem report, the error that
refuses a coverage, the result, and the two area thresholds every step uses. The rules
themselves are in the package docstring (``jurisgrid/geo/topology/__init__.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import shapely

__all__ = ["CLEAN_M2", "NOISE_M2", "CoverageRepair", "Polygonal", "Problem", "ProblemKind", "Repair",
           "RepairKind", "TopologyError"]

CLEAN_M2 = 0.01      # the database's invariant tolerance (models/invariants.AREA_TOLERANCE_M2)
NOISE_M2 = 1e-6      # pieces below 1 mm² are floating-point residue of the overlay, not data

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
