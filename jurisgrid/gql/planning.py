"""Root fields of the planners' workbench (issue 12 items 2–3): ``planMetrics`` and
``comparePlans``. Thin: the figures are computed by jurisgrid/planning (compare, staffing,
metrics) over the scope read once per request (planning/source.read_context).

Scope: a station (``station``) or the whole county; by default the plans' station when every
plan named is of one station. A station-scoped token sees only its own station: without
``station`` it gets its station, asking another one, the county or another station's plan is
Forbidden. Plans are read through the plans storage (planning/stored.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import Connection
from strawberry.types import Info

from jurisgrid.auth.checks import require_plan_access
from jurisgrid.auth.principal import Principal
from jurisgrid.errors import Forbidden, InvalidInput
from jurisgrid.models import plans as store
from jurisgrid.planning import compare as cmp
from jurisgrid.planning.source import read_context
from jurisgrid.planning.stored import plan_alternative, plans_scope

Since = Annotated[datetime | None, strawberry.argument(
    description="incidents from this instant (inclusive); default: the sizing policy's window")]
Until = Annotated[datetime | None, strawberry.argument(
    description="incidents to this instant (exclusive); default: just after the latest incident")]
StationArg = Annotated[str | None, strawberry.argument(
    description="the station whose zones are planned (派出所 code); null: the plans' station when "
                "they are all of one, else the whole county (a station-scoped token: its own station)")]


@strawberry.type(description="How evenly one measure is spread over the zones of a plan.")
class MeasureBalance:
    measure: str = strawberry.field(description="population, households, incidents or workload")
    ideal: float = strawberry.field(description="the scope's total / the number of zones")
    worst: float = strawberry.field(description="max |zone total − ideal| / ideal (0.05 = 5 %)")
    worst_zone: str = strawberry.field(description="the zone with the worst deviation")
    cv: float = strawberry.field(description="coefficient of variation of the zone totals")
    range: float = strawberry.field(description="(max − min) / ideal")


@strawberry.type(description="Signed deviation of a zone's totals from the ideal (fractions).")
class ZoneDeviation:
    population: float
    households: float
    incidents: float
    workload: float


@strawberry.type(description="Incidents of one category in the window.")
class PlanCategoryCount:
    category: str
    count: int


@strawberry.type(description="One zone of a plan: totals, staffing under the sizing policy, shape.")
class PlanZone:
    zone: str
    name: str
    station: str
    kind: str = strawberry.field(description="urban | rural")
    has_office: bool
    grids: int
    grid_codes: list[str] = strawberry.field(description="the grids of the zone in this plan")
    population: float
    households: float
    incidents: float = strawberry.field(description="incidents in the window")
    incidents_by_category: list[PlanCategoryCount]
    workload: float = strawberry.field(description="the sizing policy's workload index per year")
    deviation: ZoneDeviation
    zone_class: str = strawberry.field(description="一类 / 二类 / 三类 under the sizing policy")
    incident_rate: float = strawberry.field(description="rate incidents per 1,000 residents per year")
    recommended_officers: int
    assigned_officers: int = strawberry.field(description="community officers (社区民警) assigned now")
    officers: int = strawberry.field(description="police officers assigned to the zone")
    officer_gap: int = strawberry.field(description="assigned − recommended (negative: missing)")
    pieces: int = strawberry.field(description="connected pieces (1: contiguous; 0: no grids)")
    area_km2: float
    perimeter_m: float
    polsby_popper: float = strawberry.field(description="4πA / P² (1 = a circle)")
    reock: float = strawberry.field(description="area / area of the minimum bounding circle")
    convex_hull: float = strawberry.field(description="area / area of the convex hull")
    seat_distance_mean_m: float | None = strawberry.field(
        description="population-weighted mean distance from the station seat to the grids (metres)")
    seat_distance_max_m: float | None = strawberry.field(
        description="farthest populated grid from the station seat (metres)")


@strawberry.type(description="A village (村/社区) whose grids lie in more than one zone.")
class SplitVillage:
    village: str
    zones: list[str]


@strawberry.type(description="What a plan changes against today's assignment.")
class PlanMoves:
    grids: int = strawberry.field(description="grids in another zone than today")
    grid_codes: list[str]
    population: float = strawberry.field(description="residents of the moved grids")
    households: float
    incidents: float = strawberry.field(description="incidents (in the window) of the moved grids")
    station_changes: int = strawberry.field(description="grids whose station changes")
    station_changed_grids: list[str]


@strawberry.type(description="A rule checked on a plan.")
class PlanRule:
    rule: str = strawberry.field(description="CONTIGUITY, STATION_BOUNDARIES, GRID_HOUSEHOLDS_OUT_OF_RANGE, "
                                             "ZONE_POPULATION_PER_OFFICER, ZONE_WITHOUT_COMMUNITY_OFFICER, "
                                             "OFFICE_UNDERSTAFFED")
    text: str
    passed: bool
    breaches: int


@strawberry.type(description="One breach of a rule by a zone or grid of a plan.")
class PlanBreach:
    rule: str
    level: str = strawberry.field(description="zone | grid")
    code: str
    value: float
    limit: float
    message: str


@strawberry.type(description="Every figure of one plan (or of today's assignment) over its scope.")
class PlanMetrics:
    plan: str = strawberry.field(description="the plan's id, or `live` for today's assignment")
    name: str
    station: str | None = strawberry.field(description="the scope: a station code, null = the county")
    policy_version: int
    since: datetime | None
    until: datetime | None
    zones: list[PlanZone]
    measures: list[MeasureBalance]
    contiguous: bool = strawberry.field(description="every zone with grids is one piece")
    polsby_popper_mean: float
    reock_mean: float
    convex_hull_mean: float
    split_villages: list[SplitVillage]
    moves: PlanMoves
    seat_distance_mean_m: float | None = strawberry.field(
        description="population-weighted mean distance from each grid's station seat (metres)")
    seat_distance_max_m: float | None
    rules: list[PlanRule]
    breaches: list[PlanBreach]


@strawberry.type(description="A grid whose zone differs between the plans compared.")
class ChangedGrid:
    grid: str
    zones: list[str] = strawberry.field(description="its zone in each plan, in the order compared "
                                        "(\"\": the plan has no such grid — one it reshaped away, "
                                        "or one only another plan has)")


@strawberry.type(description="Plans side by side over one scope, window and policy.")
class PlanComparison:
    plans: list[PlanMetrics]
    zones: list[str] = strawberry.field(description="every zone of any plan compared")
    changed_grids: list[ChangedGrid]
    csv: str = strawberry.field(description="one row per plan and zone, then one summary row per plan "
                                            "(zone `*`); the same as `jurisgrid plans compare --csv`")


@strawberry.input(description="A what-if: a grid given to another zone (nothing is stored).")
class GridMoveInput:
    grid: str
    to_zone: str


def _zone(r: cmp.PlanReport, code: str, grids: list[str]) -> PlanZone:
    d, s, info = r.zone(code)
    return PlanZone(
        zone=code, name=info.name, station=info.station, kind=info.kind, has_office=info.has_office,
        grids=d.units, grid_codes=grids, population=d.totals["population"], households=d.totals["households"],
        incidents=d.totals["incidents"],
        incidents_by_category=[PlanCategoryCount(category=c, count=n)
                               for c, n in sorted(s.incidents_by_category.items())],
        workload=d.totals["workload"], deviation=ZoneDeviation(**{m: d.deviation[m] for m in cmp.MEASURES}),
        zone_class=s.sizing.zone_class, incident_rate=s.sizing.incident_rate,
        recommended_officers=s.sizing.recommended_officers, assigned_officers=s.assigned_officers,
        officers=info.officers, officer_gap=s.officer_gap, pieces=d.pieces, area_km2=d.area_m2 / 1e6,
        perimeter_m=d.perimeter_m, polsby_popper=d.polsby_popper, reock=d.reock, convex_hull=d.convex_hull,
        seat_distance_mean_m=d.seat_distance_mean_m, seat_distance_max_m=d.seat_distance_max_m,
    )


def plan_metrics_type(ctx: cmp.Context, r: cmp.PlanReport) -> PlanMetrics:
    m = r.metrics
    mv = m.moves
    assert mv is not None  # every report is against the context's base
    by_zone: dict[str, list[str]] = {}
    for g, z in sorted(r.alternative.assignment.items()):
        by_zone.setdefault(str(z), []).append(g)
    return PlanMetrics(
        plan=r.alternative.key, name=r.alternative.name, station=ctx.scope, policy_version=ctx.policy_version,
        since=ctx.since, until=ctx.until, zones=[_zone(r, str(d.district), by_zone.get(str(d.district), []))
                                                 for d in m.districts],
        measures=[MeasureBalance(measure=s.measure, ideal=s.ideal, worst=s.worst,
                                 worst_zone=str(s.worst_district), cv=s.cv, range=s.range)
                  for s in m.measures.values()],
        contiguous=m.contiguous, polsby_popper_mean=m.polsby_popper_mean, reock_mean=m.reock_mean,
        convex_hull_mean=m.convex_hull_mean,
        split_villages=[SplitVillage(village=v.village, zones=[str(z) for z in v.districts])
                        for v in m.split_villages],
        moves=PlanMoves(grids=mv.units, grid_codes=list(mv.codes), population=mv.moved["population"],
                        households=mv.moved["households"], incidents=mv.moved["incidents"],
                        station_changes=mv.parent_changes, station_changed_grids=list(mv.parent_changed)),
        seat_distance_mean_m=r.seat_distance_mean_m, seat_distance_max_m=r.seat_distance_max_m,
        rules=[PlanRule(rule=c.rule, text=c.text, passed=c.passed, breaches=c.breaches) for c in r.rules],
        breaches=[PlanBreach(rule=b.rule, level=b.level, code=b.code, value=b.value, limit=b.limit,
                             message=b.message) for b in r.breaches],
    )


def planning_scope(principal: Principal, station: str | None) -> str | None:
    """The station a request may plan: a station-scoped token only its own (the default)."""
    own = principal.station_code
    if own is None:
        return station
    if station is None or station == own:
        return own
    raise Forbidden(f"{principal.actor} sees and plans only station {own}; asked for {station}",
                    details=[{"actor": principal.actor, "station": own, "asked": station}])


def require_county_wide(principal: Principal, what: str) -> None:
    """Refuse a station-scoped principal: ``what`` applies to every station alike."""
    if principal.station_code is not None:
        raise Forbidden(f"{principal.actor} is scoped to station {principal.station_code}; {what} applies "
                        "to the whole county: it needs a county-wide token",
                        details=[{"actor": principal.actor, "station": principal.station_code}])


def plan_id(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"not a plan id: {value!r}") from None


def read_plans(conn: Connection, principal: Principal, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The plans named, each readable by ``principal`` (NotFound / Forbidden otherwise)."""
    out = []
    for raw in ids:
        plan = store.get_plan(conn, plan_id(raw))
        require_plan_access(principal, plan, write=False)
        out.append(plan)
    return out


def _moves(moves: Sequence[GridMoveInput] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in moves or ():
        if m.grid in out:
            raise InvalidInput(f"grid {m.grid} is moved twice")
        out[m.grid] = m.to_zone
    return out


@strawberry.type
class PlanningQuery:
    @strawberry.field(description="Every figure of today's zones over a scope — per zone (totals, deviation, "
                                  "class, recommended vs assigned officers, contiguity, compactness, seat "
                                  "distance) and per plan (deviations, split villages, moves, rule checks); "
                                  "with `moves`, of a what-if (nothing is stored).")
    async def plan_metrics(
        self, info: Info,
        plan: Annotated[strawberry.ID | None, strawberry.argument(
            description="a stored plan's id; null: today's assignment (live)")] = None,
        station: StationArg = None, since: Since = None, until: Until = None,
        moves: Annotated[list[GridMoveInput] | None, strawberry.argument(
            description="grids given to other zones for a what-if on top (nothing is stored)")] = None,
    ) -> PlanMetrics:
        principal = info.context.principal
        given = _moves(moves)

        def run(conn: Connection) -> PlanMetrics:
            stored = read_plans(conn, principal, [plan]) if plan is not None else []
            scope = planning_scope(principal, station if station is not None or not stored
                                   else plans_scope(stored))
            ctx = read_context(conn, scope, since=since, until=until)
            alt = plan_alternative(conn, ctx, stored[0]) if stored else ctx.base
            if given:
                key = "what-if" if alt.key == "live" else f"{alt.key}+what-if"
                alt = cmp.with_moves(alt, given, key=key, name=key)
            return plan_metrics_type(ctx, cmp.evaluate(ctx, alt))

        return await info.context.db(run)

    @strawberry.field(description="Plans side by side over one scope, window and policy: the figures of "
                                  "each (as `planMetrics`), the grids whose zone differs, and a CSV.")
    async def compare_plans(
        self, info: Info,
        plans: Annotated[list[strawberry.ID] | None, strawberry.argument(
            description="stored plans' ids, in the order to show them")] = None,
        station: StationArg = None, since: Since = None, until: Until = None,
        include_live: Annotated[bool, strawberry.argument(
            description="put today's assignment first")] = True,
        what_ifs: Annotated[list[list[GridMoveInput]] | None, strawberry.argument(
            description="what-ifs on today's assignment, one list of moves each (nothing is stored)")] = None,
    ) -> PlanComparison:
        principal = info.context.principal
        extra = [_moves(w) for w in what_ifs or ()]

        def run(conn: Connection) -> PlanComparison:
            stored = read_plans(conn, principal, plans or [])
            scope = planning_scope(principal, station if station is not None or not stored
                                   else plans_scope(stored))
            ctx = read_context(conn, scope, since=since, until=until)
            alts: list[cmp.Alternative] = [ctx.base] if include_live else []
            alts += [plan_alternative(conn, ctx, p) for p in stored]
            alts += [cmp.with_moves(ctx.base, m, key=f"what-if-{i + 1}", name=f"what-if {i + 1}")
                     for i, m in enumerate(extra)]
            return comparison_type(ctx, cmp.compare(ctx, alts))

        return await info.context.db(run)


def comparison_type(ctx: cmp.Context, c: cmp.Comparison) -> PlanComparison:
    return PlanComparison(
        plans=[plan_metrics_type(ctx, r) for r in c.reports], zones=c.zones,
        changed_grids=[ChangedGrid(grid=g.grid, zones=list(g.zones)) for g in c.changed],
        csv=cmp.comparison_csv(c),
    )
