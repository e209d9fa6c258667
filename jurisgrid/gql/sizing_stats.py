"""``stats`` of every unit and ``sizing`` of a zone (issue 4), batched per request: one
statement per level and kind of figure (address figures, incidents, series, personnel), however
many units a query asks for."""

from __future__ import annotations

import asyncio
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from jurisgrid.analytics import report
from jurisgrid.analytics.sizing import ZoneFigures, size_zone
from jurisgrid.models import aggregates as agg
from jurisgrid.models.plan_source import under
from jurisgrid.models.policy import PolicyVersion, current_policy
from jurisgrid.models.source import LIVE, Source


@strawberry.enum(
    description="Length of a period of an incident series (local calendar of the "
    "sizing policy's time zone; weeks start on Monday)."
)
class Interval(Enum):
    MONTH = "month"
    WEEK = "week"


def _loader(info: Info, key: tuple[Any, ...], fn: Any, level: str, source: Source = LIVE,
            **kw: Any) -> Any:
    """A batch loader of ``fn`` at ``level`` under ``source`` (live, or a plan: its key is part
    of the loader's)."""
    ctx = info.context

    async def load(ids: list[int]) -> list[Any]:
        found = await ctx.db(fn, level, ids, source=source, **kw)
        return [found[i] for i in ids]

    return ctx.loaders.batch((*key, source.key), load)


async def policy_of(info: Info) -> PolicyVersion:
    async def load(keys: list[int]) -> list[PolicyVersion]:
        pv = await info.context.db(current_policy)
        return [pv for _ in keys]

    return await info.context.loaders.batch(("sizing_policy",), load).load(0)


@strawberry.type(description="Incidents of one category.")
class CategoryCount:
    category: str
    count: int


@strawberry.type(description="Incidents in one period; `start` is the local start of the period.")
class PeriodCount:
    start: datetime
    count: int


async def _incident_counts(
    info: Info, level: str, unit_id: int, since: datetime | None, until: datetime | None,
    source: Source = LIVE,
) -> agg.IncidentCounts:
    loader = _loader(
        info, ("incidents", level, since, until), agg.incident_counts, level, source,
        since=since, until=until
    )
    return await loader.load(unit_id)


@strawberry.type(description="Incidents of a unit in the window of its `stats`.")
class IncidentStats:
    level: strawberry.Private[str]
    unit_id: strawberry.Private[int]
    since: strawberry.Private[datetime | None]
    until: strawberry.Private[datetime | None]
    source: strawberry.Private[Source]
    # plain attributes: a resolver per value costs strawberry ~20 µs (see nodes.Unit)
    total: int
    by_category: list[CategoryCount] = strawberry.field(
        description="Counts per category (categories with incidents only)."
    )

    @strawberry.field(description="Counts per month or week (periods with incidents only), in "
                      "the local calendar of the unit's county (`County.timeZone`; the sizing "
                      "policy's `timeZone` where the unit has no county).")
    async def series(self, info: Info, interval: Interval = Interval.MONTH) -> list[PeriodCount]:
        tz = (await policy_of(info)).policy.time_zone
        key = ("series", self.level, self.since, self.until, interval.value, tz)
        loader = _loader(
            info,
            key,
            agg.incident_series,
            self.level,
            self.source,
            interval=interval.value,
            time_zone=tz,
            since=self.since,
            until=self.until,
        )
        return [PeriodCount(start=s, count=n) for s, n in await loader.load(self.unit_id)]


@strawberry.type(
    description="Actual population (实有人口), addresses, area, incidents and staff of a "
    "unit, from the stored memberships."
)
class UnitStats:
    level: strawberry.Private[str]
    unit_id: strawberry.Private[int]
    since: strawberry.Private[datetime | None]
    until: strawberry.Private[datetime | None]
    source: strawberry.Private[Source]
    grids: int = strawberry.field(description="Grids in the unit.")
    households: int = strawberry.field(description="户数")
    population: int = strawberry.field(description="实有人口")
    houses: int = strawberry.field(description="实有房屋")
    units: int = strawberry.field(description="实有单位")
    address_count: int = strawberry.field(description="Standard address points (标准地址).")
    area_km2: float = strawberry.field(description="Area in km² (on the WGS 84 ellipsoid, sum of the grids).")
    density: float | None = strawberry.field(description="Residents per km².")
    officers: int = strawberry.field(
        description="Police officers (民警, any police role) currently assigned to the unit itself: "
        "a zone's, a station's (and its zones'), a sector's or county's stations'; grids and "
        "communities have police only when assigned to them directly."
    )
    community_officers: int = strawberry.field(description="社区民警 among the officers.")
    auxiliaries: int = strawberry.field(description="辅警 assigned.")
    grid_workers: int = strawberry.field(description="网格员 assigned.")
    population_per_officer: float | None = strawberry.field(
        description="Population per officer (null without officers)."
    )

    @strawberry.field(description="Incidents in the window per officer (null without officers).")
    async def incidents_per_officer(self, info: Info) -> float | None:
        if not self.officers:
            return None
        return (
            await _incident_counts(info, self.level, self.unit_id, self.since, self.until,
                                   self.source)
        ).total / self.officers

    @strawberry.field(description="Incidents in [since, until).")
    async def incidents(self, info: Info) -> IncidentStats:
        c = await _incident_counts(info, self.level, self.unit_id, self.since, self.until,
                                   self.source)
        return IncidentStats(
            level=self.level,
            unit_id=self.unit_id,
            since=self.since,
            until=self.until,
            source=self.source,
            total=c.total,
            by_category=[CategoryCount(category=k, count=v) for k, v in sorted(c.by_category.items())],
        )


async def unit_stats(
    info: Info, level: str, unit_id: int, since: datetime | None, until: datetime | None,
    source: Source = LIVE,
) -> UnitStats:
    """Address figures and personnel of a unit (two batched loads; both are cheap), from the
    live data or as a plan has them (models/plan_source.py)."""
    agg.check_window(since, until)
    a, p = await asyncio.gather(
        _loader(info, ("address", level), agg.address_stats, level, source).load(unit_id),
        _loader(info, ("personnel", level), agg.personnel, level, source).load(unit_id),
    )
    return UnitStats(
        level=level,
        unit_id=unit_id,
        since=since,
        until=until,
        source=source,
        grids=a.grids,
        households=a.households,
        population=a.population,
        houses=a.houses,
        units=a.units,
        address_count=a.addresses,
        area_km2=a.area_km2,
        density=a.density,
        officers=p.officers,
        community_officers=p.community_officers,
        auxiliaries=p.auxiliaries,
        grid_workers=p.grid_workers,
        population_per_officer=a.population / p.officers if p.officers else None,
    )


@strawberry.type(description="A zone sized under the current sizing policy.")
class ZoneSizing:
    zone_class: str = strawberry.field(
        description="一类 (most demanding), 二类 or 三类: the more "
        "demanding of populationClass and incidentRateClass"
    )
    population_class: str
    incident_rate_class: str
    incident_rate: float = strawberry.field(
        description="incidents of the policy's rate categories per 1,000 residents per year"
    )
    workload: float = strawberry.field(
        description="Σ weight × incidents per year + population weight × population"
    )
    recommended_officers: int
    community_officers: int
    policy_version: int
    since: datetime
    until: datetime


async def zone_sizing(info: Info, zone_id: int, since: datetime | None, until: datetime | None,
                      source: Source = LIVE) -> ZoneSizing:
    ctx = info.context

    def compute(conn: Any, ids: list[int]) -> dict[int, ZoneSizing]:
        pv = current_policy(conn)
        window = report.resolve_window(conn, pv.policy, since, until)
        zones = [
            dict(r)
            for r in conn.exec_driver_sql(
                under("SELECT id, kind, has_office FROM zone WHERE id = ANY(%(ids)s)", source),
                {"ids": ids, **source.sql_args()},
            ).mappings()
        ]
        stats = agg.address_stats(conn, "zone", ids, source=source)
        counts = agg.incident_counts(conn, "zone", ids, since=window.since, until=window.until,
                                     source=source)
        staff = agg.personnel(conn, "zone", ids, source=source)
        out = {}
        for z in zones:
            i = z["id"]
            f = ZoneFigures(
                z["kind"],
                z["has_office"],
                stats[i].population,
                counts[i].by_category,
                window.days,
                staff[i].community_officers,
            )
            s = size_zone(pv.policy, f)
            out[i] = ZoneSizing(
                zone_class=s.zone_class,
                population_class=s.population_class,
                incident_rate_class=s.incident_rate_class,
                incident_rate=s.incident_rate,
                workload=s.workload,
                recommended_officers=s.recommended_officers,
                community_officers=f.community_officers,
                policy_version=pv.version,
                since=window.since,
                until=window.until,
            )
        return out

    async def load(ids: list[int]) -> list[ZoneSizing]:
        found = await ctx.db(compute, ids)
        return [found[i] for i in ids]

    return await ctx.loaders.batch(("zone_sizing", since, until, source.key), load).load(zone_id)
