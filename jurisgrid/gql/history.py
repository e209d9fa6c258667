"""History queries: ``currentRevision``, ``revisions`` (with the changed area as GeoJSON) and
``scheduledEdits``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from jurisgrid.editing.revisions import current_revision
from jurisgrid.gql.scalars import GeoJSON
from jurisgrid.models import history


@strawberry.type(description="One committed change: who, when, why, what.")
class Revision:
    id: int
    actor: str
    role: str | None
    at: datetime
    effective_from: datetime
    reason: str | None
    kind: str = strawberry.field(description="the mutation that made it, e.g. reassignGrids")
    summary: JSON = strawberry.field(
        description="codes of the grids/zones/stations changed and the numbers moved")
    changed_area: GeoJSON | None  # type: ignore[valid-type]
    reverts: int | None
    reverted_by: int | None


@strawberry.type(description="An edit waiting for its effectiveFrom.")
class ScheduledEdit:
    id: int
    operation: str
    args: JSON
    actor: str
    reason: str | None
    effective_from: datetime
    applied_revision: int | None
    cancelled_at: datetime | None
    error: str | None


def _revision(r: dict[str, Any]) -> Revision:
    return Revision(**r)


@strawberry.type
class HistoryQuery:
    @strawberry.field(description="The newest revision id: send it as expectedRevision.")
    async def current_revision(self, info: Info) -> int:
        return await info.context.db(current_revision)

    @strawberry.field(description="Revisions, newest first; `before` pages by id.")
    async def revisions(self, info: Info, first: int = 50, before: int | None = None,
                        since: datetime | None = None, until: datetime | None = None,
                        actor: str | None = None, kind: str | None = None,
                        code: str | None = None) -> list[Revision]:
        n = info.context.page_size(first)
        rows = await info.context.db(history.revisions, first=n, before=before, since=since,
                                     until=until, actor=actor, kind=kind, code=code)
        return [_revision(r) for r in rows]

    @strawberry.field(description="Edits scheduled for a future effectiveFrom (and what became of them).")
    async def scheduled_edits(self, info: Info) -> list[ScheduledEdit]:
        return [ScheduledEdit(**r) for r in await info.context.db(history.scheduled)]


# -- asOf on the read queries ------------------------------------------------------------------
AS_OF_TABLES = ("grid", "zone", "station", "community")


def _edit_settings(info: Info) -> Any:
    return info.context.settings.edit


async def by_code_as_of(info: Info, table: str, code: str, as_of: datetime) -> Any:
    from starlette.concurrency import run_in_threadpool

    from jurisgrid.editing.asof import as_of_call, units_as_of
    from jurisgrid.gql.nodes import NODE_TYPES

    _check_table(table)
    rows = await run_in_threadpool(as_of_call, info.context.engine, as_of, units_as_of, table, as_of,
                                   codes=[code], settings=_edit_settings(info))
    return NODE_TYPES[table](row=rows[0]) if rows else None


async def list_as_of(info: Info, table: str, f: Any, first: int | None, after: str | None,
                     as_of: datetime) -> Any:
    """A page of units as of an instant; filters: code, codes and the parent filter."""
    from starlette.concurrency import run_in_threadpool

    from jurisgrid.editing.asof import as_of_call, units_as_of
    from jurisgrid.errors import InvalidInput
    from jurisgrid.gql.connections import Connection, Edge, PageInfo, decode_cursor, encode_cursor
    from jurisgrid.gql.nodes import NODE_TYPES

    _check_table(table)
    if f.bbox or f.intersects is not None or f.within or f.search or f.via_zone_station:
        raise InvalidInput("with asOf, lists filter by code, codes and parent only")
    ctx = info.context
    n = ctx.page_size(first if first is not None else ctx.settings.api.page_size_default)
    parent = None
    for fk, (ptable, pcode) in f.parents.items():
        prow = await by_code_as_of(info, ptable, pcode, as_of) if ptable in AS_OF_TABLES else None
        parent = (fk, prow.row["id"] if prow else -1)
    codes = [f.code] if f.code is not None else f.codes
    rows = await run_in_threadpool(as_of_call, ctx.engine, as_of, units_as_of, table, as_of,
                                   codes=codes, parent=parent, settings=_edit_settings(info))
    start = decode_cursor(after)
    if start is not None:
        rows = [r for r in rows if r["code"] > start]
    page = rows[:n]
    edges = [Edge(cursor=encode_cursor(r["code"]), node=NODE_TYPES[table](row=r)) for r in page]

    async def count() -> int:
        return len(rows)

    return Connection(edges=edges, page_info=PageInfo(has_next_page=len(rows) > n,
                                                      end_cursor=edges[-1].cursor if edges else None),
                      count_fn=count)


def _check_table(table: str) -> None:
    from jurisgrid.errors import InvalidInput

    if table not in AS_OF_TABLES:
        raise InvalidInput(f"asOf is kept for {', '.join(AS_OF_TABLES)}, not {table}")


async def responsible_as_of(info: Info, lon: float, lat: float, as_of: datetime) -> Any:
    """responsibleFor as of an instant: grid, zone, station, community and officers then."""
    from starlette.concurrency import run_in_threadpool

    from jurisgrid.editing.asof import as_of_call
    from jurisgrid.editing.asof import responsible_as_of as query
    from jurisgrid.gql import responsible as resp
    from jurisgrid.gql.nodes import Community, Grid, Person, Station, Zone

    u = await run_in_threadpool(as_of_call, info.context.engine, as_of, query, lon=lon, lat=lat,
                                as_of=as_of, settings=_edit_settings(info))
    station = u["station"]
    sector = township = None
    if station is not None:
        from jurisgrid.gql.nodes import Sector

        srow = await info.context.loaders.rows("sector").load(station["sector_id"])
        sector = Sector(row=srow) if srow else None
    if u["community"] is not None:
        from jurisgrid.gql.nodes import Township

        trow = await info.context.loaders.rows("township").load(u["community"]["township_id"])
        township = Township(row=trow) if trow else None

    def wrap(cls: Any, key: str) -> Any:
        return cls(row=u[key]) if u[key] is not None else None

    officers = [resp.Officer(person=Person(row={k: o[k] for k in ("id", "code", "name", "phone")}),
                             role=o["role"]) for o in u["officers"]]
    return resp.Responsibility(
        on_boundary=u["on_boundary"], distance_to_boundary_m=u["boundary_m"],
        grid=wrap(Grid, "grid"), zone=wrap(Zone, "zone"), station=wrap(Station, "station"),
        community=wrap(Community, "community"), township=township, sector=sector,
        officers=officers, nearest=None)
