"""The Query root: the county, lists with spatial and text filters, lookups by code, and
``responsibleFor`` / ``responsibleForMany``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import Crs
from jurisgrid.gql import filters as power_filters
from jurisgrid.gql import json_lists
from jurisgrid.gql import responsible as resp
from jurisgrid.gql.connections import Connection, Edge, PageInfo
from jurisgrid.gql.counties import scoped_county, visible
from jurisgrid.gql.execution import DIRECT_ROOTS, NotDirect
from jurisgrid.gql.geometry import CrsEnum
from jurisgrid.gql.inputs import WithinDistance, spatial_filter
from jurisgrid.gql.nodes import (
    NODE_TYPES,
    AddressPoint,
    Community,
    Grid,
    Incident,
    Person,
    Sector,
    Station,
    Township,
    Zone,
)
from jurisgrid.gql.scalars import Coordinates, GeoJSON
from jurisgrid.gql.source import loaders, read, source_for, with_plan
from jurisgrid.models import aggregate_lists, listing
from jurisgrid.models.json_lists import page_json
from jurisgrid.models.listing import ListFilter
from jurisgrid.models.source import LIVE, Source


@dataclass
class Power:
    """The query-power arguments of a list (gql/filters.py): ``filter``, ``orderBy`` and
    backward paging (``last``/``before``)."""

    filter: Any = None
    order_by: list[Any] | None = None
    last: int | None = None
    before: str | None = None
    crs: Crs = Crs.WGS84


async def _connection(info: Info, table: str, f: ListFilter, first: int | None,
                      after: str | None, as_of: datetime | Source | None = None,
                      power: Power | None = None) -> Any:
    """A page of ``table`` under the source ``as_of`` asks for, every filter applied to the
    rows of that source (spatial ones to its geometry, parents by their code there) — as a
    :class:`Connection`, or as the JSON of the whole selection from one statement when the
    selection allows it (gql/json_lists.py)."""
    ctx = info.context
    f.county = scoped_county(info, f.county)
    src = source_for(as_of)
    p = power or Power()
    if p.last is not None and (first is not None or after is not None):
        raise InvalidInput("page forwards (first/after) or backwards (last/before), not both")
    if p.before is not None and p.last is None:
        raise InvalidInput("before needs last")
    backwards = p.last is not None
    n = ctx.page_size(p.last if backwards else
                      first if first is not None else ctx.settings.api.page_size_default)
    f.filter = power_filters.to_filter(table, p.filter, p.crs)
    window = listing.Window(size=n, after=after, before=p.before, backwards=backwards,
                            order=power_filters.to_order(table, p.order_by, p.crs))
    if json_lists.applies(info) and (shape := json_lists.shape_of(info, table, window)):
        return json_lists.fragment(await read(info, src, page_json, table, f, window, shape))
    rows = await read(info, src, listing.page, table, f, first=n, window=window)
    more = len(rows) > n
    rows = rows[:n][::-1] if backwards else rows[:n]
    cls = NODE_TYPES[table]
    edges = []
    for r in rows:
        if src == LIVE:
            ctx.loaders.prime(table, r)
        edges.append(Edge(cursor=r[listing.CURSOR], node=cls(row=r)))

    async def count() -> int:
        return await read(info, src, listing.count, table, f)

    async def aggregate(group: str | None, wanted: frozenset[str]) -> list[dict[str, Any]]:
        return await read(info, src, aggregate_lists.aggregate, table, f, group, wanted)

    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=more and not backwards,
                           end_cursor=edges[-1].cursor if edges else None,
                           has_previous_page=more and backwards,
                           start_cursor=edges[0].cursor if edges else None),
        count_fn=count,
        aggregate_fn=aggregate,
    )


async def _by_code(info: Info, table: str, code: str,
                   as_of: datetime | Source | None = None) -> Any:
    src = source_for(as_of)
    row = await loaders(info).by_code(table, src).load(code)
    if row is None or not await visible(info, table, src, row):
        return None
    if src == LIVE:
        info.context.loaders.prime(table, row)
    return NODE_TYPES[table](row=row)


def _filters(bbox: list[float] | None, intersects: Any, within_distance: WithinDistance | None,
             crs: Crs, **rest: Any) -> ListFilter:
    return spatial_filter(bbox=bbox, intersects=intersects, within=within_distance,
                          crs=Crs(crs), **rest)


BBox = Annotated[list[float] | None,
                 strawberry.argument(description="[minLon, minLat, maxLon, maxLat] in `crs`")]
Intersects = Annotated[GeoJSON | None,
                       strawberry.argument(description="GeoJSON geometry in `crs`")]
AsOf = Annotated[datetime | None, strawberry.argument(
    description="answer as of this instant (history; a future instant sees scheduled edits) — "
                "relations, geometry and officers nested under the answer too; stats and "
                "sizing are current only (an error under asOf)")]
PlanArg = Annotated[strawberry.ID | None, strawberry.argument(
    description="answer as plan <id> has it (a stored draft: plans), as if it were live — "
                "relations, geometry and officers nested under the answer too; not with asOf")]
FILTER_ARG = strawberry.argument(description="typed filter: comparisons on any field, and/or/not, "
                                 "spatial tests (GeoJSON in `crs`); ANDed with the other arguments")
ORDER_ARG = strawberry.argument(description="sort terms, then by code; default: by code")
Last = Annotated[int | None, strawberry.argument(
    description="page backwards: the last items (before `before`), at most the page-size cap; "
                "not with first/after")]
Before = Annotated[str | None, strawberry.argument(
    description="the cursor of the first item of the next page (pageInfo.startCursor), with last")]
Search = Annotated[str | None,
                   strawberry.argument(description="code prefix or part of the name/address")]
CountyArg = Annotated[str | None, strawberry.argument(
    description="only the units of this county (code); a county-scoped token sees only its own")]


@strawberry.type
class Query:
    # -- lookups by code -------------------------------------------------------------------
    @strawberry.field
    async def sector(self, info: Info, code: str) -> Sector | None:
        return await _by_code(info, "sector", code)

    @strawberry.field
    async def township(self, info: Info, code: str) -> Township | None:
        return await _by_code(info, "township", code)

    @strawberry.field
    async def community(self, info: Info, code: str, as_of: AsOf = None,
                        plan: PlanArg = None) -> Community | None:
        return await _by_code(info, "community", code, await with_plan(info, as_of, plan))

    @strawberry.field
    async def station(self, info: Info, code: str, as_of: AsOf = None,
                        plan: PlanArg = None) -> Station | None:
        return await _by_code(info, "station", code, await with_plan(info, as_of, plan))

    @strawberry.field
    async def zone(self, info: Info, code: str, as_of: AsOf = None,
                        plan: PlanArg = None) -> Zone | None:
        return await _by_code(info, "zone", code, await with_plan(info, as_of, plan))

    @strawberry.field
    async def grid(self, info: Info, code: str, as_of: AsOf = None,
                        plan: PlanArg = None) -> Grid | None:
        return await _by_code(info, "grid", code, await with_plan(info, as_of, plan))

    @strawberry.field
    async def address_point(self, info: Info, code: str) -> AddressPoint | None:
        return await _by_code(info, "address_point", code)

    @strawberry.field
    async def incident(self, info: Info, code: str) -> Incident | None:
        return await _by_code(info, "incident", code)

    @strawberry.field
    async def person(self, info: Info, code: str) -> Person | None:
        return await _by_code(info, "person", code)

    # -- lists -----------------------------------------------------------------------------
    @strawberry.field
    async def sectors(self, info: Info, first: int | None = None, after: str | None = None,
                      county: CountyArg = None,
                      code: str | None = None, codes: list[str] | None = None,
                      search: Search = None,
                    filter: Annotated[power_filters.SectorFilter | None, FILTER_ARG] = None,
                    order_by: Annotated[list[power_filters.SectorOrderBy] | None, ORDER_ARG] = None,
                    last: Last = None, before: Before = None) -> Connection[Sector]:
        f = ListFilter(code=code, codes=codes, search=search)
        f.county = county
        return await _connection(info, "sector", f, first, after,
                                 power=Power(filter, order_by, last, before, Crs(Crs.WGS84)))

    @strawberry.field
    async def townships(self, info: Info, first: int | None = None, after: str | None = None,
                        county: CountyArg = None,
                        bbox: BBox = None, intersects: Intersects = None,
                        within_distance: WithinDistance | None = None,
                        crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                        code: str | None = None, codes: list[str] | None = None,
                        search: Search = None,
                    filter: Annotated[power_filters.TownshipFilter | None, FILTER_ARG] = None,
                    order_by: Annotated[list[power_filters.TownshipOrderBy] | None, ORDER_ARG] = None,
                    last: Last = None, before: Before = None) -> Connection[Township]:
        f = _filters(bbox, intersects, within_distance, crs, code=code, codes=codes, search=search)
        f.county = county
        return await _connection(info, "township", f, first, after,
                                 power=Power(filter, order_by, last, before, Crs(crs)))

    @strawberry.field
    async def communities(self, info: Info, first: int | None = None, after: str | None = None,
                          county: CountyArg = None,
                          bbox: BBox = None, intersects: Intersects = None,
                          within_distance: WithinDistance | None = None,
                          crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                          code: str | None = None, codes: list[str] | None = None,
                          search: Search = None,
                          township: str | None = None,
                    as_of: AsOf = None, plan: PlanArg = None,
                    filter: Annotated[power_filters.CommunityFilter | None, FILTER_ARG] = None,
                    order_by: Annotated[list[power_filters.CommunityOrderBy] | None, ORDER_ARG] = None,
                    last: Last = None, before: Before = None) -> Connection[Community]:
        parents = {"township_id": ("township", township)} if township else {}
        f = _filters(bbox, intersects, within_distance, crs, code=code, codes=codes,
                     search=search, parents=parents)
        f.county = county
        return await _connection(info, "community", f, first, after,
                                 await with_plan(info, as_of, plan),
                                 power=Power(filter, order_by, last, before, Crs(crs)))

    @strawberry.field
    async def stations(self, info: Info, first: int | None = None, after: str | None = None,
                       county: CountyArg = None,
                       bbox: BBox = None, intersects: Intersects = None,
                       within_distance: WithinDistance | None = None,
                       crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                       code: str | None = None, codes: list[str] | None = None,
                       search: Search = None,
                       sector: str | None = None,
                    as_of: AsOf = None, plan: PlanArg = None,
                    filter: Annotated[power_filters.StationFilter | None, FILTER_ARG] = None,
                    order_by: Annotated[list[power_filters.StationOrderBy] | None, ORDER_ARG] = None,
                    last: Last = None, before: Before = None) -> Connection[Station]:
        parents = {"sector_id": ("sector", sector)} if sector else {}
        f = _filters(bbox, intersects, within_distance, crs, code=code, codes=codes,
                     search=search, parents=parents)
        f.county = county
        return await _connection(info, "station", f, first, after,
                                 await with_plan(info, as_of, plan),
                                 power=Power(filter, order_by, last, before, Crs(crs)))

    @strawberry.field
    async def zones(self, info: Info, first: int | None = None, after: str | None = None,
                    county: CountyArg = None,
                    bbox: BBox = None, intersects: Intersects = None,
                    within_distance: WithinDistance | None = None,
                    crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                    code: str | None = None, codes: list[str] | None = None,
                    search: Search = None, station: str | None = None,
                    as_of: AsOf = None, plan: PlanArg = None,
                    filter: Annotated[power_filters.ZoneFilter | None, FILTER_ARG] = None,
                    order_by: Annotated[list[power_filters.ZoneOrderBy] | None, ORDER_ARG] = None,
                    last: Last = None, before: Before = None) -> Connection[Zone]:
        parents = {"station_id": ("station", station)} if station else {}
        f = _filters(bbox, intersects, within_distance, crs, code=code, codes=codes,
                     search=search, parents=parents)
        f.county = county
        return await _connection(info, "zone", f, first, after,
                                 await with_plan(info, as_of, plan),
                                 power=Power(filter, order_by, last, before, Crs(crs)))

    @strawberry.field
    async def grids(self, info: Info, first: int | None = None, after: str | None = None,
                    county: CountyArg = None,
                    bbox: BBox = None, intersects: Intersects = None,
                    within_distance: WithinDistance | None = None,
                    crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                    code: str | None = None, codes: list[str] | None = None,
                    search: Search = None, zone: str | None = None,
                    community: str | None = None,
                    station: str | None = None,
                    as_of: AsOf = None, plan: PlanArg = None,
                    filter: Annotated[power_filters.GridFilter | None, FILTER_ARG] = None,
                    order_by: Annotated[list[power_filters.GridOrderBy] | None, ORDER_ARG] = None,
                    last: Last = None, before: Before = None) -> Connection[Grid]:
        parents = {}
        if zone:
            parents["zone_id"] = ("zone", zone)
        if community:
            parents["community_id"] = ("community", community)
        f = _filters(bbox, intersects, within_distance, crs, code=code, codes=codes,
                     search=search, parents=parents, via_zone_station=station)
        f.county = county
        return await _connection(info, "grid", f, first, after,
                                 await with_plan(info, as_of, plan),
                                 power=Power(filter, order_by, last, before, Crs(crs)))

    @strawberry.field
    async def address_points(self, info: Info, first: int | None = None,
                             county: CountyArg = None,
                             after: str | None = None,
                             bbox: BBox = None,
                             intersects: Intersects = None,
                             within_distance: WithinDistance | None = None,
                             crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                             code: str | None = None, codes: list[str] | None = None,
                             search: Search = None,
                             grid: str | None = None,
                    filter: Annotated[power_filters.AddressPointFilter | None, FILTER_ARG] = None,
                    order_by: Annotated[list[power_filters.AddressPointOrderBy] | None, ORDER_ARG] = None,
                    last: Last = None, before: Before = None) -> Connection[AddressPoint]:
        parents = {"grid_id": ("grid", grid)} if grid else {}
        f = _filters(bbox, intersects, within_distance, crs, code=code, codes=codes,
                     search=search, parents=parents)
        f.county = county
        return await _connection(info, "address_point", f, first, after,
                                 power=Power(filter, order_by, last, before, Crs(crs)))

    @strawberry.field
    async def incidents(self, info: Info, first: int | None = None, after: str | None = None,
                        county: CountyArg = None,
                        bbox: BBox = None, intersects: Intersects = None,
                        within_distance: WithinDistance | None = None,
                        crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                        code: str | None = None, codes: list[str] | None = None,
                        category: str | None = None, since: datetime | None = None,
                        until: datetime | None = None,
                        grid: str | None = None,
                    filter: Annotated[power_filters.IncidentFilter | None, FILTER_ARG] = None,
                    order_by: Annotated[list[power_filters.IncidentOrderBy] | None, ORDER_ARG] = None,
                    last: Last = None, before: Before = None) -> Connection[Incident]:
        parents = {"grid_id": ("grid", grid)} if grid else {}
        f = _filters(bbox, intersects, within_distance, crs, code=code, codes=codes,
                     parents=parents, category=category, since=since, until=until)
        f.county = county
        return await _connection(info, "incident", f, first, after,
                                 power=Power(filter, order_by, last, before, Crs(crs)))

    @strawberry.field
    async def persons(self, info: Info, first: int | None = None, after: str | None = None,
                      county: CountyArg = None,
                      code: str | None = None, codes: list[str] | None = None,
                      search: Search = None,
                    filter: Annotated[power_filters.PersonFilter | None, FILTER_ARG] = None,
                    order_by: Annotated[list[power_filters.PersonOrderBy] | None, ORDER_ARG] = None,
                    last: Last = None, before: Before = None) -> Connection[Person]:
        f = ListFilter(code=code, codes=codes, search=search)
        f.county = county
        return await _connection(info, "person", f, first, after,
                                 power=Power(filter, order_by, last, before, Crs(Crs.WGS84)))

    # -- who is responsible here? ----------------------------------------------------------
    @strawberry.field(description="Who is responsible for this point. " + resp.RULE)
    async def responsible_for(self, info: Info, lon: float, lat: float,
                              crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                              as_of: AsOf = None, plan: PlanArg = None) -> resp.Responsibility:
        # live (no asOf, no plan: the hot path) without a coroutine through with_plan
        src = LIVE if as_of is None and plan is None else source_for(await with_plan(info, as_of, plan))
        return await resp.responsible_for(info, lon, lat, Crs(crs), src)

    @strawberry.field(description="Up to 100,000 points in one request, answered in input order.")
    async def responsible_for_many(self, info: Info, points: Coordinates,
                                   crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                                   ) -> resp.ResponsibilityBatch:
        return await resp.responsible_for_many(info, points, Crs(crs))


class _ContextOnly:
    """All that :func:`resp.responsible_for` reads of its ``Info``: the context."""

    __slots__ = ("context",)

    def __init__(self, context: Any) -> None:
        self.context = context


async def _responsible_for_live(context: Any, args: dict[str, Any]) -> resp.Responsibility:
    """``responsibleFor`` of live data as a direct root (gql/execution.py): the resolver above
    without strawberry's wrapper; ``asOf`` or ``plan`` go through the resolver."""
    if args.get("asOf") is not None or args.get("plan") is not None:
        raise NotDirect
    return await resp.responsible_for(_ContextOnly(context), args["lon"], args["lat"],  # type: ignore[arg-type]
                                      Crs(args["crs"]), LIVE)


DIRECT_ROOTS["responsibleFor"] = _responsible_for_live
