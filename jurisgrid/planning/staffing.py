"""Sizing and rule checks of an assignment (issue 12 item 2): what a plan means for staffing.

Pure, like ``metrics``: the caller gives the units (with ``incidents.<CATEGORY>`` measures counted
in a window), the assignment, each zone's attributes and officers, and the sizing policy. Per
zone: workload, class and recommended officers under the policy — the same rule as
``analytics.sizing.size_zone``, applied to the plan's totals — the officers assigned and the gap.
Rule checks: every zone one piece, station boundaries fixed (no grid changes station against the
base), households per grid within the policy's range, and the staffing norms of
``analytics.compliance`` (residents per community officer, a zone without one, an understaffed
警务室) evaluated on the plan's zone totals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from jurisgrid.analytics.policy import Policy
from jurisgrid.analytics.sizing import ZoneFigures, ZoneSizing, size_zone
from jurisgrid.errors import InvalidInput
from jurisgrid.planning.metrics import PlanMetrics
from jurisgrid.planning.units import UnitSet

CATEGORY_PREFIX = "incidents."

RULES = {
    "CONTIGUITY": "every zone is one connected piece",
    "STATION_BOUNDARIES": "no grid changes station against the base",
    "GRID_HOUSEHOLDS_OUT_OF_RANGE": "a grid's households are outside the policy's range",
    "ZONE_POPULATION_PER_OFFICER": "a zone's population per community officer is above the norm",
    "ZONE_WITHOUT_COMMUNITY_OFFICER": "a zone has no community officer (社区民警)",
    "OFFICE_UNDERSTAFFED": "a 警务室 has fewer officers than the minimum",
}


@dataclass(frozen=True)
class ZoneInfo:
    """What a zone is, apart from its grids: its station, kind (urban/rural), whether it has a
    警务室, and the officers assigned to it (police officers, of them community officers)."""

    code: str
    name: str
    station: str
    kind: str
    has_office: bool
    officers: int = 0
    community_officers: int = 0


@dataclass(frozen=True)
class ZoneStaffing:
    zone: str
    incidents_by_category: dict[str, int]
    sizing: ZoneSizing
    assigned_officers: int  # community officers assigned (the norm counts those)
    officer_gap: int  # assigned − recommended (negative: officers missing)


@dataclass(frozen=True)
class Breach:
    rule: str
    level: str  # zone | grid
    code: str
    value: float
    limit: float
    message: str


@dataclass(frozen=True)
class RuleCheck:
    rule: str
    text: str
    passed: bool
    breaches: int


def categories(units: UnitSet) -> list[str]:
    """The incident categories the units carry (``incidents.<CATEGORY>`` measures), sorted."""
    return sorted(m[len(CATEGORY_PREFIX):] for m in units.measures if m.startswith(CATEGORY_PREFIX))


def workload_weights(policy: Policy, units: UnitSet, window_days: float) -> dict[str, float]:
    """Per-unit weights giving the policy's workload as a ``workload`` measure: each category's
    weight × incidents per year, plus the population weight × residents."""
    if window_days <= 0:
        raise InvalidInput("the window must be longer than zero days")
    w = {f"{CATEGORY_PREFIX}{c}": policy.weight(c) * 365.0 / window_days for c in categories(units)}
    w["population"] = policy.population_weight
    return w


def zone_staffing(units: UnitSet, labels: Sequence[str], zones: Mapping[str, ZoneInfo], policy: Policy,
                  window_days: float) -> list[ZoneStaffing]:
    """Per zone of ``zones`` (sorted by code): incidents by category, sizing, officers and gap."""
    order = sorted(zones)
    pos = {z: i for i, z in enumerate(order)}
    unknown = sorted({lab for lab in labels if lab not in pos})
    if unknown:
        raise InvalidInput(f"assignment uses unknown zone(s): {', '.join(unknown[:5])}")
    idx = np.array([pos[lab] for lab in labels])
    k = len(order)
    pop = np.bincount(idx, weights=units.measure("population"), minlength=k)
    by_cat = {c: np.bincount(idx, weights=units.measure(f"{CATEGORY_PREFIX}{c}"), minlength=k)
              for c in categories(units)}
    out = []
    for i, z in enumerate(order):
        info = zones[z]
        counts = {c: round(float(v[i])) for c, v in by_cat.items() if v[i] > 0}
        if info.kind not in policy.population_per_officer:
            raise InvalidInput(f"zone {z} has kind {info.kind!r}, which the policy does not size")
        f = ZoneFigures(info.kind, info.has_office, round(float(pop[i])), counts, window_days,
                        info.community_officers)
        s = size_zone(policy, f)
        out.append(ZoneStaffing(z, counts, s, info.community_officers,
                                info.community_officers - s.recommended_officers))
    return out


def check_rules(units: UnitSet, labels: Sequence[str], zones: Mapping[str, ZoneInfo], policy: Policy,
                metrics: PlanMetrics, *,
                station_boundaries: bool = True) -> tuple[list[RuleCheck], list[Breach]]:
    """Every rule of ``RULES`` checked; the breaches ordered by rule and code. The station rule
    needs ``metrics.moves`` (a base with its stations); without one it is left out, as it is when
    ``station_boundaries`` is false."""
    out: list[Breach] = []
    for d in metrics.districts:
        if d.pieces > 1:
            out.append(Breach("CONTIGUITY", "zone", str(d.district), d.pieces, 1,
                              f"zone {d.district} is in {d.pieces} pieces"))
    if station_boundaries and metrics.moves is not None:
        for code in metrics.moves.parent_changed:
            out.append(Breach("STATION_BOUNDARIES", "grid", code, 1, 0,
                              f"grid {code} changes station (zone {labels[units.index[code]]})"))
    lo, hi = policy.grid_households_min, policy.grid_households_max
    hh = units.measure("households")
    for code, h in zip(units.codes, hh.tolist(), strict=True):
        if not lo <= h <= hi:
            out.append(Breach("GRID_HOUSEHOLDS_OUT_OF_RANGE", "grid", code, h, lo if h < lo else hi,
                              f"grid {code}: {h:.0f} households, range {lo}–{hi}"))
    for d in metrics.districts:
        z = zones[str(d.district)]
        pop = d.totals.get("population", 0.0)
        norm = policy.population_per_officer[z.kind]
        if z.community_officers == 0:
            out.append(Breach("ZONE_WITHOUT_COMMUNITY_OFFICER", "zone", z.code, 0, 1,
                              f"{z.name}: no community officer for {pop:.0f} residents"))
        elif pop / z.community_officers > norm:
            v = pop / z.community_officers
            out.append(Breach("ZONE_POPULATION_PER_OFFICER", "zone", z.code, v, norm,
                              f"{z.name}: {v:.0f} residents per community officer "
                              f"({z.community_officers} for {pop:.0f}), norm {norm:.0f} ({z.kind})"))
        if z.has_office and z.officers < policy.min_officers_per_office:
            out.append(Breach("OFFICE_UNDERSTAFFED", "zone", z.code, z.officers,
                              policy.min_officers_per_office,
                              f"{z.name}: 警务室 with {z.officers} officer(s), "
                              f"minimum {policy.min_officers_per_office}"))
    out.sort(key=lambda b: (b.rule, b.code))
    with_station = station_boundaries and metrics.moves is not None
    checked = [r for r in RULES if r != "STATION_BOUNDARIES" or with_station]
    counts = {r: sum(1 for b in out if b.rule == r) for r in checked}
    return [RuleCheck(r, RULES[r], counts[r] == 0, counts[r]) for r in checked], out
