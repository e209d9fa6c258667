"""The units of a planning scope as plain arrays (one row per unit, in a fixed order).

Everything in ``planning`` indexes units by position in a ``UnitSet``; codes are only for input
and answers. Construction checks the arrays agree, so later code can trust the shapes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from jurisgrid.errors import InvalidInput

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class UnitSet:
    """Units (grids, block groups …) with lon/lat polygons and additive measures.

    ``measures`` maps a name (``population``, ``households``, ``incidents`` …) to one
    non-negative number per unit. ``village`` is the community/village key of each unit (whole-
    village rules), ``points`` a representative lon/lat per unit for seat distances (defaults to
    a point inside each polygon).
    """

    codes: tuple[str, ...]
    geoms: NDArray[Any]
    measures: Mapping[str, Any]  # arrays after construction (FloatArray)
    village: tuple[str | None, ...] | None = None
    points: FloatArray | None = None
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.codes)
        if n == 0:
            raise InvalidInput("no units")
        if len(set(self.codes)) != n:
            dup = sorted({c for c in self.codes if self.codes.count(c) > 1})[:5]
            raise InvalidInput(f"unit codes repeat: {', '.join(dup)}")
        geoms = np.asarray(self.geoms, dtype=object)
        if geoms.shape != (n,):
            raise InvalidInput(f"{geoms.shape[0] if geoms.ndim else 0} geometries for {n} units")
        kinds = shapely.get_type_id(geoms)
        if not np.isin(kinds, (3, 6)).all():  # Polygon, MultiPolygon
            bad = self.codes[int(np.flatnonzero(~np.isin(kinds, (3, 6)))[0])]
            raise InvalidInput(f"unit {bad} has no polygon geometry")
        object.__setattr__(self, "geoms", geoms)
        ms: dict[str, FloatArray] = {}
        for name, values in self.measures.items():
            a = np.asarray(values, dtype=float)
            if a.shape != (n,):
                raise InvalidInput(f"measure {name!r} has {a.size} values for {n} units")
            if not np.isfinite(a).all() or (a < 0).any():
                raise InvalidInput(f"measure {name!r} must be finite and non-negative")
            ms[name] = a
        object.__setattr__(self, "measures", ms)
        if self.village is not None and len(self.village) != n:
            raise InvalidInput(f"{len(self.village)} village keys for {n} units")
        if self.points is not None:
            p = np.asarray(self.points, dtype=float)
            if p.shape != (n, 2):
                raise InvalidInput(f"points must be {n} lon/lat pairs")
            object.__setattr__(self, "points", p)
        object.__setattr__(self, "index", {c: i for i, c in enumerate(self.codes)})

    def __len__(self) -> int:
        return len(self.codes)

    def measure(self, name: str, workload: Mapping[str, float] | None = None) -> FloatArray:
        """A stored measure, or ``workload``: the caller's weighted sum of stored measures."""
        if name == "workload" and "workload" not in self.measures:
            if not workload:
                raise InvalidInput("measure 'workload' needs weights, e.g. "
                                   "{'incidents': 1, 'population': 0.01}")
            out = np.zeros(len(self))
            for m, w in workload.items():
                if m not in self.measures:
                    raise InvalidInput(f"workload weight on unknown measure {m!r}")
                out += float(w) * self.measures[m]
            return out
        if name not in self.measures:
            raise InvalidInput(f"unknown measure {name!r}; known: {', '.join(sorted(self.measures))}")
        return self.measures[name]

    def positions(self, codes: Sequence[str], what: str = "unit") -> list[int]:
        """Positions of ``codes``; an unknown code is a clear error naming it."""
        missing = [c for c in codes if c not in self.index]
        if missing:
            raise InvalidInput(f"unknown {what}(s): {', '.join(map(str, missing[:5]))}")
        return [self.index[c] for c in codes]

    def unit_points(self) -> FloatArray:
        if self.points is not None:
            return self.points
        return shapely.get_coordinates(shapely.point_on_surface(self.geoms))


def assignment_array(units: UnitSet, assignment: Mapping[str, Any] | Sequence[Any]) -> list[Any]:
    """An assignment as one district key per unit (from a code → district mapping or a sequence
    in unit order); every unit must have one."""
    if isinstance(assignment, Mapping):
        missing = [c for c in units.codes if c not in assignment]
        if missing:
            raise InvalidInput(f"{len(missing)} unit(s) without a district, e.g. {missing[0]}")
        extra = [c for c in assignment if c not in units.index]
        if extra:
            raise InvalidInput(f"assignment names unknown unit(s): {', '.join(map(str, extra[:5]))}")
        return [assignment[c] for c in units.codes]
    out = list(assignment)
    if len(out) != len(units):
        raise InvalidInput(f"assignment has {len(out)} entries for {len(units)} units")
    if any(d is None for d in out):
        raise InvalidInput("every unit needs a district")
    return out
