"""Plans side by side (issue 12 items 2 and 3): every figure of one or more assignments of the same
scope, against the same base, window and policy.

An ``Alternative`` is one assignment grid → zone with its zones (live, a stored plan, or an
in-memory what-if); ``Context`` is what they share (units, adjacency, policy, window, seats, the
base). An alternative whose units are not the scope's grids — a plan that reshapes grids —
carries its own context (its grids, their figures, the base over them: planning/stored.py).
``evaluate`` gives one alternative's ``PlanReport`` — ``metrics.plan_metrics`` (totals,
deviations, contiguity, compactness, split villages, moves, seat distances), the staffing of
every zone and the rule checks (``staffing``); ``compare`` lines several up zone by zone and
names the grids whose zone differs between them. Pure: ``source.read_context`` builds the context
from the database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from jurisgrid.analytics.policy import Policy
from jurisgrid.errors import InvalidInput
from jurisgrid.planning.geometry import Adjacency
from jurisgrid.planning.metrics import DistrictMetrics, PlanMetrics, plan_metrics
from jurisgrid.planning.staffing import (
    Breach,
    RuleCheck,
    ZoneInfo,
    ZoneStaffing,
    check_rules,
    workload_weights,
    zone_staffing,
)
from jurisgrid.planning.units import UnitSet, assignment_array

MEASURES = ("population", "households", "incidents", "workload")


@dataclass(frozen=True)
class Alternative:
    key: str  # "live", or a plan's id
    name: str
    assignment: Mapping[str, str]  # every grid of the scope → its zone
    zones: Mapping[str, ZoneInfo]  # every zone of the scope, with or without grids
    context: Context | None = None  # its own units, when they are not the scope's grids
    # with its own units: what moved zone counted point by point (population, households,
    # incidents and incidents.<CATEGORY>), as its units cannot all be matched to the base's
    moved: Mapping[str, float] | None = None


@dataclass(frozen=True)
class Context:
    units: UnitSet
    adjacency: Adjacency
    policy: Policy
    policy_version: int
    since: datetime | None
    until: datetime | None
    window_days: float
    seats: Mapping[str, tuple[float, float]]  # station → lon/lat (stations with a seat)
    base: Alternative  # moves and station changes are counted against it (today's plan)
    scope: str | None = None  # the station code, None for the county


@dataclass(frozen=True)
class PlanReport:
    alternative: Alternative
    metrics: PlanMetrics
    staffing: list[ZoneStaffing]  # per zone, in the order of ``metrics.districts``
    rules: list[RuleCheck]
    breaches: list[Breach]
    seat_distance_mean_m: float | None  # population-weighted over the whole scope
    seat_distance_max_m: float | None

    def zone(self, code: str) -> tuple[DistrictMetrics, ZoneStaffing, ZoneInfo]:
        for d, s in zip(self.metrics.districts, self.staffing, strict=True):
            if d.district == code:
                return d, s, self.alternative.zones[code]
        raise KeyError(code)


@dataclass(frozen=True)
class ChangedGrid:
    grid: str
    zones: tuple[str, ...]  # its zone in each alternative, in order


@dataclass(frozen=True)
class Comparison:
    reports: list[PlanReport]
    zones: list[str]  # every zone of any alternative, sorted
    changed: list[ChangedGrid]  # grids whose zone differs between the alternatives


def _check(ctx: Context, alt: Alternative) -> list[str]:
    labels = [str(z) for z in assignment_array(ctx.units, alt.assignment)]
    unknown = sorted(set(labels) - set(alt.zones))
    if unknown:
        raise InvalidInput(f"{alt.name}: grids assigned to unknown zone(s) {', '.join(unknown[:5])}")
    return labels


def evaluate(ctx: Context, alt: Alternative) -> PlanReport:
    """Every figure of ``alt`` (issue 12 item 2), over its own context when it has one."""
    ctx = alt.context or ctx
    labels = _check(ctx, alt)
    base_labels = _check(ctx, ctx.base)
    parent = {z: info.station for z, info in ctx.base.zones.items()}
    parent.update({z: info.station for z, info in alt.zones.items()})
    seats = {z: ctx.seats[info.station] for z, info in alt.zones.items() if info.station in ctx.seats}
    weights = workload_weights(ctx.policy, ctx.units, ctx.window_days)
    m = plan_metrics(ctx.units, labels, districts=sorted(alt.zones), measures=list(MEASURES),
                     workload=weights, adjacency=ctx.adjacency, base=base_labels, parent_of=parent,
                     seats=seats)
    if alt.moved is not None and m.moves is not None:
        moved = {k: float(alt.moved.get(k, 0.0)) for k in m.moves.moved}
        if "workload" in moved:
            moved["workload"] = sum(w * float(alt.moved.get(k, 0.0)) for k, w in weights.items())
        m = replace(m, moves=replace(m.moves, moved=moved))
    staffing = zone_staffing(ctx.units, labels, alt.zones, ctx.policy, ctx.window_days)
    rules, breaches = check_rules(ctx.units, labels, alt.zones, ctx.policy, m)
    weighted = [(d.seat_distance_mean_m, d.totals["population"]) for d in m.districts
                if d.seat_distance_mean_m is not None]
    pop = sum(w for _, w in weighted)
    mean = sum(v * w for v, w in weighted) / pop if pop > 0 else None
    worst = max((d.seat_distance_max_m for d in m.districts if d.seat_distance_max_m is not None),
                default=None)
    return PlanReport(alt, m, staffing, rules, breaches, mean, worst)


def compare(ctx: Context, alts: Sequence[Alternative]) -> Comparison:
    """``alts`` side by side (issue 12 item 3)."""
    if not alts:
        raise InvalidInput("name at least one plan (or include the live state)")
    keys = [a.key for a in alts]
    if len(set(keys)) != len(keys):
        raise InvalidInput("each plan may be compared once")
    reports = [evaluate(ctx, a) for a in alts]
    zones = sorted({z for a in alts for z in a.zones})
    changed = []
    # a grid only some alternatives have (one a plan reshapes) has no zone ("") in the others
    extra = sorted({c for a in alts for c in a.assignment} - set(ctx.units.codes))
    for code in [*ctx.units.codes, *extra]:
        got = tuple(str(a.assignment.get(code, "")) for a in alts)
        if len(set(got)) > 1:
            changed.append(ChangedGrid(code, got))
    return Comparison(reports, zones, changed)


CSV_COLUMNS = (
    "plan", "zone", "name", "station", "grids", "population", "households", "incidents", "workload",
    "population_deviation", "incidents_deviation", "workload_deviation", "zone_class",
    "recommended_officers", "assigned_officers", "officer_gap", "pieces", "polsby_popper", "reock",
    "convex_hull", "seat_distance_mean_m", "seat_distance_max_m",
)


def _round(v: float | None, digits: int = 4) -> float | str:
    return "" if v is None else round(v, digits)


def comparison_rows(c: Comparison) -> list[dict[str, object]]:
    """One row per plan and zone (a zone missing from a plan is left out of that plan's rows),
    then one summary row per plan (zone ``*``: worst |deviation|, means, moves)."""
    rows: list[dict[str, object]] = []
    for r in c.reports:
        for d, s in zip(r.metrics.districts, r.staffing, strict=True):
            info = r.alternative.zones[str(d.district)]
            rows.append({
                "plan": r.alternative.key, "zone": d.district, "name": info.name, "station": info.station,
                "grids": d.units, "population": round(d.totals["population"]),
                "households": round(d.totals["households"]), "incidents": round(d.totals["incidents"]),
                "workload": round(d.totals["workload"], 1),
                "population_deviation": _round(d.deviation["population"]),
                "incidents_deviation": _round(d.deviation["incidents"]),
                "workload_deviation": _round(d.deviation["workload"]),
                "zone_class": s.sizing.zone_class, "recommended_officers": s.sizing.recommended_officers,
                "assigned_officers": s.assigned_officers, "officer_gap": s.officer_gap, "pieces": d.pieces,
                "polsby_popper": _round(d.polsby_popper), "reock": _round(d.reock),
                "convex_hull": _round(d.convex_hull),
                "seat_distance_mean_m": _round(d.seat_distance_mean_m, 0),
                "seat_distance_max_m": _round(d.seat_distance_max_m, 0),
            })
    for r in c.reports:
        m = r.metrics
        rows.append({
            "plan": r.alternative.key, "zone": "*", "name": r.alternative.name, "station": "",
            "grids": m.moves.units if m.moves else 0,  # in the summary row: grids moved
            "population": "", "households": "", "incidents": "", "workload": "",
            "population_deviation": _round(m.measures["population"].worst),
            "incidents_deviation": _round(m.measures["incidents"].worst),
            "workload_deviation": _round(m.measures["workload"].worst),
            "zone_class": "", "recommended_officers": sum(s.sizing.recommended_officers for s in r.staffing),
            "assigned_officers": sum(s.assigned_officers for s in r.staffing),
            "officer_gap": sum(s.officer_gap for s in r.staffing),
            "pieces": sum(d.pieces for d in m.districts), "polsby_popper": _round(m.polsby_popper_mean),
            "reock": _round(m.reock_mean), "convex_hull": _round(m.convex_hull_mean),
            "seat_distance_mean_m": _round(r.seat_distance_mean_m, 0),
            "seat_distance_max_m": _round(r.seat_distance_max_m, 0),
        })
    return rows


def comparison_csv(c: Comparison) -> str:
    """``comparison_rows`` as CSV (UTF-8 text; the summary rows' ``grids`` is the grids moved)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(comparison_rows(c))
    return buf.getvalue()


def with_moves(alt: Alternative, moves: Mapping[str, str], *, key: str | None = None,
               name: str | None = None) -> Alternative:
    """``alt`` with some grids given to other zones (a what-if, nothing stored)."""
    unknown_g = sorted(set(moves) - set(alt.assignment))
    if unknown_g:
        raise InvalidInput(f"grid(s) not in the scope: {', '.join(unknown_g[:5])}")
    unknown_z = sorted(set(moves.values()) - set(alt.zones))
    if unknown_z:
        raise InvalidInput(f"zone(s) not in the scope: {', '.join(unknown_z[:5])}")
    return Alternative(key or alt.key, name or alt.name, {**alt.assignment, **moves}, alt.zones,
                       alt.context, None if moves else alt.moved)
