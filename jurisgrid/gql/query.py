"""The Query root: the county, lists with spatial and text filters, lookups by code, and
``responsibleFor`` / ``responsibleForMany``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from jurisgrid.geo.crs import Crs
from jurisgrid.gql import responsible as resp
from jurisgrid.gql.connections import Connection, Edge, PageInfo, decode_cursor, encode_cursor
from jurisgrid.gql.geometry import CrsEnum
from jurisgrid.gql.inputs import WithinDistance, spatial_filter
from jurisgrid.gql.nodes import (
    NODE_TYPES,
    AddressPoint,
    Community,
    County,
    Grid,
    Incident,
    Person,
    Sector,
    Station,
    Township,
    Zone,
)
from jurisgrid.gql.scalars import Coordinates, GeoJSON
from jurisgrid.gql.source import loaders, read, source_for
from jurisgrid.models import listing
from jurisgrid.models.listing import ListFilter
from jurisgrid.models.source import LIVE


async def _connection(info: Info, table: str, f: ListFilter, first: int | None,
                      after: str | None, as_of: datetime | None = None) -> Connection[Any]:
    """A page of ``table`` under the source ``as_of`` asks for, every filter applied to the
    rows of that source (spatial ones to its geometry, parents by their code there)."""
    ctx = info.context
    src = source_for(as_of)
    n = ctx.page_size(first if first is not None else ctx.settings.api.page_size_default)
    rows = await read(info, src, listing.page, table, f, first=n, after=decode_cursor(after))
    cls = NODE_TYPES[table]
    edges = []
    for r in rows[:n]:
        if src == LIVE:
            ctx.loaders.prime(table, r)
        edges.append(Edge(cursor=encode_cursor(r["code"]), node=cls(row=r)))

    async def count() -> int:
        return await read(info, src, listing.count, table, f)

    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=len(rows) > n,
                           end_cursor=edges[-1].cursor if edges else None),
        count_fn=count,
    )


async def _by_code(info: Info, table: str, code: str, as_of: datetime | None = None) -> Any:
    src = source_for(as_of)
    row = await loaders(info).by_code(table, src).load(code)
    if row is None:
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
Search = Annotated[str | None,
                   strawberry.argument(description="code prefix or part of the name/address")]


@strawberry.type
class Query:
    @strawberry.field(description="The county this database covers.")
    async def county(self, info: Info) -> County | None:
        rows = await read(info, LIVE, listing.page, "county", ListFilter(), first=1)
        return County(row=rows[0]) if rows else None

    # -- lookups by code -------------------------------------------------------------------
    @strawberry.field
    async def sector(self, info: Info, code: str) -> Sector | None:
        return await _by_code(info, "sector", code)

    @strawberry.field
    async def township(self, info: Info, code: str) -> Township | None:
        return await _by_code(info, "township", code)

    @strawberry.field
    async def community(self, info: Info, code: str, as_of: AsOf = None) -> Community | None:
        return await _by_code(info, "community", code, as_of)

    @strawberry.field
    async def station(self, info: Info, code: str, as_of: AsOf = None) -> Station | None:
        return await _by_code(info, "station", code, as_of)

    @strawberry.field
    async def zone(self, info: Info, code: str, as_of: AsOf = None) -> Zone | None:
        return await _by_code(info, "zone", code, as_of)

    @strawberry.field
    async def grid(self, info: Info, code: str, as_of: AsOf = None) -> Grid | None:
        return await _by_code(info, "grid", code, as_of)

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
                      code: str | None = None, codes: list[str] | None = None,
                      search: Search = None) -> Connection[Sector]:
        f = ListFilter(code=code, codes=codes, search=search)
        return await _connection(info, "sector", f, first, after)

    @strawberry.field
    async def townships(self, info: Info, first: int | None = None, after: str | None = None,
                        bbox: BBox = None, intersects: Intersects = None,
                        within_distance: WithinDistance | None = None,
                        crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                        code: str | None = None, codes: list[str] | None = None,
                        search: Search = None) -> Connection[Township]:
        f = _filters(bbox, intersects, within_distance, crs, code=code, codes=codes, search=search)
        return await _connection(info, "township", f, first, after)

    @strawberry.field
    async def communities(self, info: Info, first: int | None = None, after: str | None = None,
                          bbox: BBox = None, intersects: Intersects = None,
                          within_distance: WithinDistance | None = None,
                          crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                          code: str | None = None, codes: list[str] | None = None,
                          search: Search = None,
                          township: str | None = None,
                    as_of: AsOf = None) -> Connection[Community]:
        parents = {"township_id": ("township", township)} if township else {}
        f = _filters(bbox, intersects, within_distance, crs, code=code, codes=codes,
                     search=search, parents=parents)
        return await _connection(info, "community", f, first, after, as_of)

    @strawberry.field
    async def stations(self, info: Info, first: int | None = None, after: str | None = None,
                       bbox: BBox = None, intersects: Intersects = None,
                       within_distance: WithinDistance | None = None,
                       crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                       code: str | None = None, codes: list[str] | None = None,
                       search: Search = None,
                       sector: str | None = None,
                    as_of: AsOf = None) -> Connection[Station]:
        parents = {"sector_id": ("sector", sector)} if sector else {}
        f = _filters(bbox, intersects, within_distance, crs, code=code, codes=codes,
                     search=search, parents=parents)
        return await _connection(info, "station", f, first, after, as_of)

    @strawberry.field
    async def zones(self, info: Info, first: int | None = None, after: str | None = None,
                    bbox: BBox = None, intersects: Intersects = None,
                    within_distance: WithinDistance | None = None,
                    crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                    code: str | None = None, codes: list[str] | None = None,
                    search: Search = None, station: str | None = None,
                    as_of: AsOf = None) -> Connection[Zone]:
        parents = {"station_id": ("station", station)} if station else {}
        f = _filters(bbox, intersects, within_distance, crs, code=code, codes=codes,
                     search=search, parents=parents)
        return await _connection(info, "zone", f, first, after, as_of)

    @strawberry.field
    async def grids(self, info: Info, first: int | None = None, after: str | None = None,
                    bbox: BBox = None, intersects: Intersects = None,
                    within_distance: WithinDistance | None = None,
                    crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                    code: str | None = None, codes: list[str] | None = None,
                    search: Search = None, zone: str | None = None,
                    community: str | None = None,
                    station: str | None = None,
                    as_of: AsOf = None) -> Connection[Grid]:
        parents = {}
        if zone:
            parents["zone_id"] = ("zone", zone)
        if community:
            parents["community_id"] = ("community", community)
        f = _filters(bbox, intersects, within_distance, crs, code=code, codes=codes,
                     search=search, parents=parents, via_zone_station=station)
        return await _connection(info, "grid", f, first, after, as_of)

    @strawberry.field
    async def address_points(self, info: Info, first: int | None = None,
                             after: str | None = None,
                             bbox: BBox = None,
                             intersects: Intersects = None,
                             within_distance: WithinDistance | None = None,
                             crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                             code: str | None = None, codes: list[str] | None = None,
                             search: Search = None,
                             grid: str | None = None) -> Connection[AddressPoint]:
        parents = {"grid_id": ("grid", grid)} if grid else {}
        f = _filters(bbox, intersects, within_distance, crs, code=code, codes=codes,
                     search=search, parents=parents)
        return await _connection(info, "address_point", f, first, after)

    @strawberry.field
    async def incidents(self, info: Info, first: int | None = None, after: str | None = None,
                        bbox: BBox = None, intersects: Intersects = None,
                        within_distance: WithinDistance | None = None,
                        crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                        code: str | None = None, codes: list[str] | None = None,
                        category: str | None = None, since: datetime | None = None,
                        until: datetime | None = None,
                        grid: str | None = None) -> Connection[Incident]:
        parents = {"grid_id": ("grid", grid)} if grid else {}
        f = _filters(bbox, intersects, within_distance, crs, code=code, codes=codes,
                     parents=parents, category=category, since=since, until=until)
        return await _connection(info, "incident", f, first, after)

    @strawberry.field
    async def persons(self, info: Info, first: int | None = None, after: str | None = None,
                      code: str | None = None, codes: list[str] | None = None,
                      search: Search = None) -> Connection[Person]:
        f = ListFilter(code=code, codes=codes, search=search)
        return await _connection(info, "person", f, first, after)

    # -- who is responsible here? ----------------------------------------------------------
    @strawberry.field(description="Who is responsible for this point. " + resp.RULE)
    async def responsible_for(self, info: Info, lon: float, lat: float,
                              crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                              as_of: AsOf = None) -> resp.Responsibility:
        return await resp.responsible_for(info, lon, lat, Crs(crs), source_for(as_of))

    @strawberry.field(description="Up to 100,000 points in one request, answered in input order.")
    async def responsible_for_many(self, info: Info, points: Coordinates,
                                   crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                                   ) -> resp.ResponsibilityBatch:
        return await resp.responsible_for_many(info, points, Crs(crs))
