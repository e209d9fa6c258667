"""Relay-style connections (first/after, last/before, pageInfo, totalCount) with a server-side
cap; cursors are keyset positions (models/filters.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.types import Info

from jurisgrid.errors import InvalidInput

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="more items after this page (paging forwards; false when paging backwards)")
    end_cursor: str | None
    has_previous_page: bool = strawberry.field(
        default=False,
        description="more items before this page (paging backwards with last/before; "
                    "false when paging forwards)")
    start_cursor: str | None = None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type(description="Sums over the items (null where the figure does not apply: "
                 "incidents have no population, address points no area).")
class Sums:
    population: int | None = None
    households: int | None = None
    incidents: int | None = None
    area_km2: float | None = strawberry.field(default=None, description="on the ground")


@strawberry.type(description="Averages per item (null where the figure does not apply).")
class Averages:
    population: float | None = None
    households: float | None = None
    incidents: float | None = None
    area_km2: float | None = strawberry.field(default=None, description="on the ground")


@strawberry.type(description="count, sum and avg over a list's filtered items (all pages).")
class Aggregates:
    key: str | None = strawberry.field(
        default=None, description="the group: the field's value or the parent unit's code "
                                  "(null without groupBy, or for items without one)")
    count: int = 0
    sum: Sums = strawberry.field(default_factory=Sums)
    avg: Averages = strawberry.field(default_factory=Averages)


@strawberry.enum(description="What groupedAggregates groups by: a field of the listed type, or a "
                 "parent unit (by its code).")
class GroupBy(Enum):
    KIND = "kind"
    CATEGORY = "category"
    HAS_OFFICE = "hasOffice"
    CODE = "code"
    NAME = "name"
    GRID = "grid"
    ZONE = "zone"
    STATION = "station"
    SECTOR = "sector"
    COMMUNITY = "community"
    TOWNSHIP = "township"


AggregateFn = Callable[[str | None, frozenset[str]], Awaitable[list[dict[str, Any]]]]
_MEASURE_FIELDS = {"population": "population", "households": "households",
                   "incidents": "incidents", "areaKm2": "areaKm2"}


def _wanted(info: Info) -> frozenset[str]:
    """The measures selected under sum/avg (only those are computed)."""
    out: set[str] = set()
    for f in info.selected_fields:
        for sub in f.selections:
            if getattr(sub, "name", None) in ("sum", "avg"):
                out |= {getattr(x, "name", "") for x in getattr(sub, "selections", [])}
    return frozenset(out & set(_MEASURE_FIELDS))


def _aggregates(r: dict[str, Any]) -> Aggregates:
    s, a = r["sum"], r["avg"]

    def i(v: float | None) -> int | None:
        return None if v is None else round(v)

    return Aggregates(key=r["key"], count=r["count"],
                      sum=Sums(population=i(s.get("population")), households=i(s.get("households")),
                               incidents=i(s.get("incidents")), area_km2=s.get("areaKm2")),
                      avg=Averages(population=a.get("population"), households=a.get("households"),
                                   incidents=a.get("incidents"), area_km2=a.get("areaKm2")))


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count_fn: strawberry.Private[Callable[[], Awaitable[int]]]
    aggregate_fn: strawberry.Private[AggregateFn | None] = None

    @strawberry.field(description="count, and sum/avg of population, households, incidents and "
                      "area over all items matching the filters (one statement; population, "
                      "households and incidents of units are current only).")
    async def aggregates(self, info: Info) -> Aggregates:
        if self.aggregate_fn is None:
            raise InvalidInput("this list has no aggregates")
        return _aggregates((await self.aggregate_fn(None, _wanted(info)))[0])

    @strawberry.field(description="aggregates per group of the matching items, ordered by key "
                      "(at most 10,000 groups).")
    async def grouped_aggregates(self, info: Info, group_by: GroupBy) -> list[Aggregates]:
        if self.aggregate_fn is None:
            raise InvalidInput("this list has no aggregates")
        return [_aggregates(r) for r in await self.aggregate_fn(group_by.value, _wanted(info))]

    @strawberry.field(description="All items matching the filters (one extra COUNT query).")
    async def total_count(self) -> int:
        return await self.count_fn()

    @strawberry.field(description="The nodes of this page, without edges.")
    def nodes(self) -> list[T]:
        return [e.node for e in self.edges]
