"""The node types of the schema, built from plain rows; relations resolve through the
request's DataLoaders so that nested queries cost one statement per level, not per row.
Relations, geometry and officers are read from the source the node's row came from
(models/source.py: live, or as of an instant), to any depth."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from jurisgrid.gql.geometry import geometry_field
from jurisgrid.gql.sizing_stats import UnitStats, ZoneSizing, unit_stats, zone_sizing
from jurisgrid.gql.source import current_only, loaders, of_row
from jurisgrid.models.rows import Row
from jurisgrid.models.source import LIVE


async def _one(info: Info, table: str, unit_id: int | None, of: Row) -> Row | None:
    """The ``table`` row ``unit_id`` that ``of`` (the row asking) refers to, from its source."""
    if unit_id is None:
        return None
    src = of_row(of)
    if src == LIVE:
        ld = info.context.loaders
        return ld.known(table, unit_id) or await loaders(info).rows(table).load(unit_id)
    return await loaders(info).rows(table, src).load(unit_id)


async def _many(info: Info, table: str, ids: list[int], of: Row) -> list[Row]:
    found = await loaders(info).rows(table, of_row(of)).load_many(ids)
    return [r for r in found if r is not None]


async def _children(info: Info, table: str, fk: str, of: Row) -> list[Row]:
    """The ``table`` rows whose ``fk`` is the row ``of``, from its source."""
    return await loaders(info).children(table, fk, of_row(of)).load(of["id"])


async def _req(info: Info, table: str, unit_id: int, of: Row) -> Row:
    """A row a foreign key guarantees."""
    row = await _one(info, table, unit_id, of)
    if row is None:  # only if the row vanished between two statements of this request
        raise LookupError(f"{table} {unit_id} not found")
    return row


def _role(rows: list[Row], role: str | None = None) -> list[Row]:
    """Assignments (in force under their source: models/source.py) with this role."""
    return rows if role is None else [r for r in rows if r["role"] == role]


@strawberry.interface(description="A unit with a stable public code.")
class Unit:
    row: strawberry.Private[Row]
    # plain attributes, copied from the row: a field with a resolver method costs strawberry
    # about 20 µs per value (a quarter of a single-point answer), a plain attribute almost nothing
    code: str = strawberry.field(
        default="", description="Stable public identifier (national code where one exists).")
    name: str = strawberry.field(default="")

    def __post_init__(self) -> None:
        self.code = self.row["code"]
        self.name = self.row["name"]

    @strawberry.field(description="Population, addresses, area, staff, and incidents in "
                      "[since, until) (open ends: all incidents) — gql/sizing_stats.py. Current "
                      "or under a plan: under a unit read with asOf it is an error, not today's "
                      "figures.")
    async def stats(self, info: Info, since: datetime | None = None,
                    until: datetime | None = None) -> UnitStats:
        current_only("stats", self.row)
        return await unit_stats(info, type(self).__name__.lower(), self.row["id"], since, until,
                                of_row(self.row))


@strawberry.type(description="县 — the area a bureau covers; its outline bounds everything.")
class County(Unit):
    outline = geometry_field("county", description="The county outline (repaired, valid).")

    @strawberry.field(description="What was repaired in the source outline on import.")
    def repairs(self) -> list[str]:
        return list(self.row["repairs"])

    @strawberry.field(description="IANA time zone of the county's local times (incident "
                      "exports, the web map), e.g. Asia/Shanghai.")
    def time_zone(self) -> str:
        return str(self.row["time_zone"])

    @strawberry.field
    async def sectors(self, info: Info) -> list[Sector]:
        return [Sector(row=r) for r in await _children(info, "sector", "county_id", self.row)]

    @strawberry.field
    async def townships(self, info: Info) -> list[Township]:
        rows = await _children(info, "township", "county_id", self.row)
        return [Township(row=r) for r in rows]


@strawberry.type(description="片区 — a group of stations that respond together.")
class Sector(Unit):
    @strawberry.field
    async def county(self, info: Info) -> County:
        return County(row=await _req(info, "county", self.row["county_id"], self.row))

    @strawberry.field
    async def stations(self, info: Info) -> list[Station]:
        rows = await _children(info, "station", "sector_id", self.row)
        return [Station(row=r) for r in rows]


@strawberry.type(description="乡镇/街道 — township-level unit (9-digit code).")
class Township(Unit):
    geometry = geometry_field("township")
    seat = geometry_field("township", "seat", "The township seat (point).")

    @strawberry.field(description="street (街道), town (镇) or township (乡).")
    def kind(self) -> str:
        return self.row["kind"]

    @strawberry.field
    async def county(self, info: Info) -> County:
        return County(row=await _req(info, "county", self.row["county_id"], self.row))

    @strawberry.field
    async def communities(self, info: Info) -> list[Community]:
        rows = await _children(info, "community", "township_id", self.row)
        return [Community(row=r) for r in rows]


@strawberry.type(description="村/社区 — village or urban community (12-digit code).")
class Community(Unit):
    geometry = geometry_field("community")

    @strawberry.field(description="community (社区) or village (村).")
    def kind(self) -> str:
        return self.row["kind"]

    @strawberry.field
    async def township(self, info: Info) -> Township:
        return Township(row=await _req(info, "township", self.row["township_id"], self.row))

    @strawberry.field
    async def grids(self, info: Info) -> list[Grid]:
        return [Grid(row=r) for r in await _children(info, "grid", "community_id", self.row)]

    @strawberry.field(description="Zones covering this community (normally one).")
    async def zones(self, info: Info) -> list[Zone]:
        grids = await _children(info, "grid", "community_id", self.row)
        zone_ids = sorted({g["zone_id"] for g in grids})
        return [Zone(row=r) for r in await _many(info, "zone", zone_ids, self.row)]

    @strawberry.field(description="辅警 assigned to this village or community.")
    async def auxiliaries(self, info: Info) -> list[Assignment]:
        rows = await _children(info, "assignment", "community_id", self.row)
        return [Assignment(row=r) for r in _role(rows, "auxiliary")]


@strawberry.type(description="派出所 — a police station.")
class Station(Unit):
    geometry = geometry_field("station", description="Jurisdiction: the union of its zones.")
    seat = geometry_field("station", "seat", "Where the station sits (point).")

    @strawberry.field(description="urban (城区), central (中心场镇) or rural.")
    def kind(self) -> str:
        return self.row["kind"]

    @strawberry.field
    def address(self) -> str | None:
        return self.row["address"]

    @strawberry.field
    def phone(self) -> str | None:
        return self.row["phone"]

    @strawberry.field
    async def sector(self, info: Info) -> Sector:
        return Sector(row=await _req(info, "sector", self.row["sector_id"], self.row))

    @strawberry.field
    async def zones(self, info: Info) -> list[Zone]:
        return [Zone(row=r) for r in await _children(info, "zone", "station_id", self.row)]

    @strawberry.field(description="Personnel assignments of the station in force now "
                      "(or at the instant the station was read as of).")
    async def personnel(self, info: Info, role: str | None = None) -> list[Assignment]:
        rows = await _children(info, "assignment", "station_id", self.row)
        return [Assignment(row=r) for r in _role(rows, role)]


@strawberry.type(description="警务责任区 — a community-policing responsibility zone.")
class Zone(Unit):
    geometry = geometry_field("zone", description="The union of its grids.")

    @strawberry.field(description="urban or rural.")
    def kind(self) -> str:
        return self.row["kind"]

    @strawberry.field(description="Whether the zone has a 警务室 (police office).")
    def has_office(self) -> bool:
        return self.row["has_office"]

    @strawberry.field
    async def station(self, info: Info) -> Station:
        return Station(row=await _req(info, "station", self.row["station_id"], self.row))

    @strawberry.field
    async def grids(self, info: Info) -> list[Grid]:
        return [Grid(row=r) for r in await _children(info, "grid", "zone_id", self.row)]

    @strawberry.field
    async def communities(self, info: Info) -> list[Community]:
        grids = await _children(info, "grid", "zone_id", self.row)
        ids = sorted({g["community_id"] for g in grids})
        return [Community(row=r) for r in await _many(info, "community", ids, self.row)]

    @strawberry.field(description="Class, workload and recommended officers under the current "
                      "sizing policy; window default: the policy's windowDays up to the latest incident. "
                      "Current or under a plan: under a zone read with asOf it is an error.")
    async def sizing(self, info: Info, since: datetime | None = None,
                     until: datetime | None = None) -> ZoneSizing:
        current_only("sizing figures", self.row)
        return await zone_sizing(info, self.row["id"], since, until, of_row(self.row))

    @strawberry.field(description="社区民警 — the zone's community officers.")
    async def officers(self, info: Info) -> list[Assignment]:
        rows = await _children(info, "assignment", "zone_id", self.row)
        return [Assignment(row=r) for r in _role(rows, "community_officer")]


@strawberry.type(description="网格 — the atomic unit of coverage (15-digit code).")
class Grid(Unit):
    geometry = geometry_field("grid")

    @strawberry.field
    async def zone(self, info: Info) -> Zone:
        return Zone(row=await _req(info, "zone", self.row["zone_id"], self.row))

    @strawberry.field
    async def station(self, info: Info) -> Station:
        zone = await _one(info, "zone", self.row["zone_id"], self.row)
        assert zone is not None
        return Station(row=await _req(info, "station", zone["station_id"], self.row))

    @strawberry.field
    async def community(self, info: Info) -> Community:
        return Community(row=await _req(info, "community", self.row["community_id"], self.row))

    @strawberry.field(description="网格员 of this grid.")
    async def grid_workers(self, info: Info) -> list[Assignment]:
        rows = await _children(info, "assignment", "grid_id", self.row)
        return [Assignment(row=r) for r in _role(rows, "grid_worker")]

    @strawberry.field(description="Address points in this grid (at most `first`). Under a grid "
                      "read with asOf: the current points within the grid's shape then.")
    async def address_points(self, info: Info, first: int = 100) -> list[AddressPoint]:
        n = info.context.page_size(first)
        loader = loaders(info).points("address_point", first=n, src=of_row(self.row))
        return [AddressPoint(row=r) for r in await loader.load(self.row["id"])]

    @strawberry.field(description="Incidents in this grid, optionally in [since, until). Under a "
                      "grid read with asOf: the incidents within the grid's shape then.")
    async def incidents(self, info: Info, first: int = 100, since: datetime | None = None,
                        until: datetime | None = None) -> list[Incident]:
        n = info.context.page_size(first)
        loader = loaders(info).points("incident", first=n, since=since, until=until,
                                      src=of_row(self.row))
        return [Incident(row=r) for r in await loader.load(self.row["id"])]


@strawberry.type(description="标准地址 — a standard address with its actual population.")
class AddressPoint:
    row: strawberry.Private[Row]
    location = geometry_field("address_point", description="The point.")

    @strawberry.field
    def code(self) -> str:
        return self.row["code"]

    @strawberry.field
    def address(self) -> str:
        return self.row["address"]

    @strawberry.field(description="户数")
    def households(self) -> int:
        return self.row["households"]

    @strawberry.field(description="实有人口")
    def population(self) -> int:
        return self.row["population"]

    @strawberry.field(description="实有房屋")
    def houses(self) -> int:
        return self.row["houses"]

    @strawberry.field(description="实有单位")
    def units(self) -> int:
        return self.row["units"]

    @strawberry.field
    async def grid(self, info: Info) -> Grid | None:
        row = await _one(info, "grid", self.row["grid_id"], self.row)
        return Grid(row=row) if row else None


@strawberry.type(description="警情 — a reported incident.")
class Incident:
    row: strawberry.Private[Row]
    location = geometry_field("incident", description="The point.")

    @strawberry.field
    def code(self) -> str:
        return self.row["code"]

    @strawberry.field(description="Category code: CRIMINAL, PUBLIC_ORDER, DISPUTE, TRAFFIC, FIRE, "
                      "ASSISTANCE, OTHER.")
    def category(self) -> str:
        return self.row["category"]

    @strawberry.field
    def occurred_at(self) -> datetime:
        return self.row["occurred_at"]

    @strawberry.field
    async def grid(self, info: Info) -> Grid | None:
        row = await _one(info, "grid", self.row["grid_id"], self.row)
        return Grid(row=row) if row else None


@strawberry.type(description="人员 — a member of staff.")
class Person:
    row: strawberry.Private[Row]
    # plain attributes, copied from the row (as Unit.code/name): every single-point answer
    # names about five officers, and a resolver method per value would cost each ~20 µs
    code: str = strawberry.field(default="")
    name: str = strawberry.field(default="")
    phone: str | None = strawberry.field(default=None)

    def __post_init__(self) -> None:
        self.code = self.row["code"]
        self.name = self.row["name"]
        self.phone = self.row["phone"]

    @strawberry.field
    async def assignments(self, info: Info) -> list[Assignment]:
        rows = await _children(info, "assignment", "person_id", self.row)
        return [Assignment(row=r) for r in _role(rows)]


@strawberry.type(description="A person's assignment to a station, and possibly a zone, "
                 "community or grid.")
class Assignment:
    row: strawberry.Private[Row]

    @strawberry.field(description="chief 所长, instructor 教导员, deputy_chief 副所长, officer 民警, "
                      "community_officer 社区民警, auxiliary 辅警, grid_worker 网格员.")
    def role(self) -> str:
        return self.row["role"]

    @strawberry.field
    def valid_from(self) -> datetime:
        return self.row["valid_from"]

    @strawberry.field
    def valid_to(self) -> datetime | None:
        return self.row["valid_to"]

    @strawberry.field
    async def person(self, info: Info) -> Person:
        return Person(row=await _req(info, "person", self.row["person_id"], self.row))

    @strawberry.field
    async def station(self, info: Info) -> Station:
        return Station(row=await _req(info, "station", self.row["station_id"], self.row))

    @strawberry.field
    async def zone(self, info: Info) -> Zone | None:
        row = await _one(info, "zone", self.row["zone_id"], self.row)
        return Zone(row=row) if row else None

    @strawberry.field
    async def community(self, info: Info) -> Community | None:
        row = await _one(info, "community", self.row["community_id"], self.row)
        return Community(row=row) if row else None

    @strawberry.field
    async def grid(self, info: Info) -> Grid | None:
        row = await _one(info, "grid", self.row["grid_id"], self.row)
        return Grid(row=row) if row else None


NODE_TYPES: dict[str, Any] = {
    "county": County, "sector": Sector, "township": Township, "community": Community,
    "station": Station, "zone": Zone, "grid": Grid, "address_point": AddressPoint,
    "incident": Incident, "person": Person,
}
