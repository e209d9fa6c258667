"""``responsibleFor`` and ``responsibleForMany``: who is responsible for a place."""

from __future__ import annotations

import dataclasses
from typing import Any

import strawberry
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import CoordinateError, Crs, check_lonlat_array, to_wgs84_array
from jurisgrid.gql.counties import require_in_scope, visible
from jurisgrid.gql.geometry import CrsEnum
from jurisgrid.gql.inputs import point_to_wgs84
from jurisgrid.gql.nodes import (
    Community,
    Grid,
    Person,
    Sector,
    Station,
    Township,
    Zone,
)
from jurisgrid.gql.scalars import (
    BooleanColumn,
    Coordinates,
    FloatColumn,
    StringColumn,
    parse_coordinates,
)
from jurisgrid.gql.source import loaders, read
from jurisgrid.models import responsible as rq
from jurisgrid.models.neighbours import grids_near
from jurisgrid.models.source import LIVE, Source

RULE = ("A point belongs to the grid with the smallest code among the grids within 1e-7° "
        "(about 1 cm) of it; it is on a boundary when it lies within that distance of the "
        "winning grid's boundary.")


@strawberry.type(description="A person responsible for the place, with the role they hold there.")
class Officer:
    person: Person
    role: str


@strawberry.type
class NearestGrid:
    grid: Grid
    distance_m: float


@strawberry.type(description="A grid near the point, across a boundary: who answers just over there.")
class NeighbourGrid:
    grid: Grid = strawberry.field(description="the grid (its zone and station through it)")
    distance_m: float = strawberry.field(description="distance from the point in metres (its local frame)")


MAX_NEIGHBOUR_M = 1_000.0


def _near(conn: Connection, src: Source, lon: float, lat: float, within_m: float,
          exclude: str | None) -> list[tuple[dict, float]]:
    return grids_near(conn, lon=lon, lat=lat, within_m=within_m, exclude_code=exclude, source=src)


@strawberry.type(description="Who is responsible for a point. " + RULE)
class Responsibility:
    on_boundary: bool
    distance_to_boundary_m: float | None
    grid: Grid | None
    zone: Zone | None
    station: Station | None
    community: Community | None
    township: Township | None
    sector: Sector | None
    officers: list[Officer]
    nearest: NearestGrid | None = strawberry.field(
        description="Set when the point is in no grid: the nearest grid and how far it is.")
    # where the question was asked (WGS 84) and of which source: for `neighbours`
    lon_wgs84: strawberry.Private[float] = 0.0
    lat_wgs84: strawberry.Private[float] = 0.0
    source: strawberry.Private[Source] = LIVE

    @strawberry.field(description=(
        "The other grids within `withinM` metres of the point (default 5, at most 1,000), "
        "nearest first: on or near a boundary, who is responsible just across it."))
    async def neighbours(self, info: Info, within_m: float = 5.0) -> list[NeighbourGrid]:
        if not 0 < within_m <= MAX_NEIGHBOUR_M:
            raise InvalidInput(f"withinM must be more than 0 and at most {MAX_NEIGHBOUR_M:g} metres")
        own = self.grid.row["code"] if self.grid is not None else None
        found = await read(info, self.source, _near, self.lon_wgs84, self.lat_wgs84, within_m, own)
        # a county-scoped token: only the grids of its county (across a county border: none)
        return [NeighbourGrid(grid=Grid(row=row), distance_m=d) for row, d in found
                if await visible(info, "grid", self.source, row)]


@strawberry.type(description="Answers for many points, as columns in input order; "
                 "null where a point is in no grid. A county-scoped token is answered for its "
                 "county only: a point in (or, in no grid, nearest to) a grid of another county "
                 "has null codes and `outsideScope` true.")
class ResponsibilityBatch:
    count: int
    resolved: int
    grid_codes: StringColumn
    zone_codes: StringColumn
    station_codes: StringColumn
    community_codes: StringColumn
    on_boundary: BooleanColumn
    nearest_grid_codes: StringColumn
    nearest_distance_m: FloatColumn
    outside_scope: BooleanColumn = strawberry.field(description=(
        "True where the point lies outside the county the token is scoped to (its codes are "
        "then null, not another county's); always false for a deployment-wide token."))


def _prime(info: Info, table: str, row: dict | None) -> dict | None:
    if row is not None:
        info.context.loaders.prime(table, row)
    return row


async def responsible_for(info: Info, lon: float, lat: float, crs: Crs,
                          src: Source = LIVE) -> Responsibility:
    """Live: from the in-memory index (~0.05 ms of CPU: fine on the event loop). Any other
    source: one statement (models/responsible.py); the units named are rows of that source,
    so what is nested under them is read from it too."""
    wlon, wlat = point_to_wgs84(lon, lat, crs)
    if src == LIVE:
        snap = await rq.grid_index_cache.current(info.context.engine)
        ans = snap.answer(wlon, wlat)
        u = {k: _prime(info, k, v) for k, v in ans.units.items()}
    else:
        ans = await read(info, src, _answer, wlon, wlat)
        u = ans.units
    if info.context.principal.county_code is not None:  # (a coroutine saved on the hot path)
        await require_in_scope(info, u["township"])
    nearest = None
    if u["grid"] is None and ans.nearest_id is not None and ans.nearest_m is not None:
        grid_row = await loaders(info).rows("grid", src).load(ans.nearest_id)
        # a county-scoped token is not pointed at another county's grid
        if grid_row is not None and await visible(info, "grid", src, grid_row):
            nearest = NearestGrid(grid=Grid(row=grid_row), distance_m=ans.nearest_m)
    officers = []
    for o in ans.officers:
        person = {"id": o["id"], "code": o["code"], "name": o["name"], "phone": o["phone"]}
        if src == LIVE:
            _prime(info, "person", person)
        officers.append(Officer(person=Person(row=src.tag(person)), role=o["role"]))

    def wrap(cls: Any, key: str) -> Any:
        return cls(row=u[key]) if u[key] is not None else None

    return Responsibility(
        on_boundary=ans.on_boundary, distance_to_boundary_m=ans.boundary_m,
        grid=wrap(Grid, "grid"), zone=wrap(Zone, "zone"), station=wrap(Station, "station"),
        community=wrap(Community, "community"), township=wrap(Township, "township"),
        sector=wrap(Sector, "sector"), officers=officers, nearest=nearest,
        lon_wgs84=wlon, lat_wgs84=wlat, source=src,
    )


def _answer(conn: Connection, src: Source, lon: float, lat: float) -> rq.PointAnswer:
    return rq.responsible_for(conn, lon=lon, lat=lat, source=src)


async def responsible_for_many(info: Info, points: object, crs: Crs) -> ResponsibilityBatch:
    limit = info.context.settings.api.batch_max_points
    try:
        coords = parse_coordinates(points)
        if len(coords) > limit:
            raise InvalidInput(f"too many points: {len(coords)} (at most {limit} per request)")
        check_lonlat_array(coords)
    except CoordinateError as exc:
        raise InvalidInput(str(exc)) from None
    wgs = to_wgs84_array(crs, coords) if len(coords) else coords
    snap = await rq.grid_index_cache.current(info.context.engine)
    ans = await run_in_threadpool(snap.resolve, wgs[:, 0], wgs[:, 1],
                                  info.context.principal.county_code)
    # a shallow copy of the columns: dataclasses.asdict would deep-copy 100,000-item lists
    return ResponsibilityBatch(**{f.name: getattr(ans, f.name) for f in dataclasses.fields(ans)})


__all__ = [
    "Coordinates",
    "CrsEnum",
    "Responsibility",
    "ResponsibilityBatch",
    "responsible_for",
    "responsible_for_many",
]
