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
    changed_area: GeoJSON | None
    reverts: int | None
    reverted_by: int | None


@strawberry.type(description="An edit waiting for its effectiveFrom (and what became of it).")
class ScheduledEdit:
    id: int
    operation: str
    args: JSON
    actor: str
    reason: str | None
    effective_from: datetime
    applied_revision: int | None = strawberry.field(description="set once it took effect")
    cancelled_at: datetime | None
    cancelled_by: str | None = strawberry.field(
        description="who cancelled it (cancelScheduledEdit); `system` when it no longer applied "
                    "when due (see error)")
    cancel_reason: str | None
    error: str | None
    status: str = strawberry.field(
        description="pending, applied, cancelled, failed (see errorCode/error: e.g. FORBIDDEN when "
                    "the scheduler's station scope no longer covers the units, or its token was "
                    "revoked) or conflict (a later committed edit changed the same units: see "
                    "conflicts; the scheduled edit is not applied, so the later edit is kept)")
    error_code: str | None = strawberry.field(description="the error's code, e.g. FORBIDDEN, CONFLICT")
    conflicts: list[JSON] | None = strawberry.field(
        description="on a conflict: the units and the revisions that changed them after it was "
                    "scheduled, as {kind, code, revision}")
    station_code: str | None = strawberry.field(
        description="the scheduler's station scope, checked again when it takes effect (null: "
                    "county-wide)")
    base_revision: int | None = strawberry.field(
        description="the revision it was validated on; later changes to the same units conflict")


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

    @strawberry.field(description="Edits scheduled for a future effectiveFrom (and what became of "
                      "them); `pending: true` lists only those still waiting.")
    async def scheduled_edits(self, info: Info, pending: bool = False) -> list[ScheduledEdit]:
        rows = await info.context.db(history.scheduled, pending_only=pending)
        return [ScheduledEdit(**r) for r in rows]


# -- asOf on the read queries ------------------------------------------------------------------
AS_OF_TABLES = ("grid", "zone", "station", "community")


def _edit_settings(info: Info) -> Any:
    return info.context.settings.edit


async def by_code_as_of(info: Info, table: str, code: str, as_of: datetime) -> Any:
    from jurisgrid.gql import asof
    from jurisgrid.gql.nodes import NODE_TYPES

    _check_table(table)
    row = await asof.by_code(info, table, code, asof.instant(as_of))
    return NODE_TYPES[table](row=row) if row else None


async def list_as_of(info: Info, table: str, f: Any, first: int | None, after: str | None,
                     as_of: datetime) -> Any:
    """A page of units as of an instant, every filter applied to the versions then in force
    (spatial ones to the geometry then, parents by their code then)."""
    from jurisgrid.gql import asof
    from jurisgrid.gql.connections import Connection, Edge, PageInfo, decode_cursor, encode_cursor
    from jurisgrid.gql.nodes import NODE_TYPES
    from jurisgrid.models import asof as q

    _check_table(table)
    at = asof.instant(as_of)
    ctx = info.context
    n = ctx.page_size(first if first is not None else ctx.settings.api.page_size_default)
    rows = await asof.run_at(info, at, q.page, table, f, first=n, after=decode_cursor(after))
    edges = [Edge(cursor=encode_cursor(r["code"]), node=NODE_TYPES[table](row=r)) for r in rows[:n]]

    async def count() -> int:
        return await asof.run_at(info, at, q.count, table, f)

    return Connection(edges=edges, page_info=PageInfo(has_next_page=len(rows) > n,
                                                      end_cursor=edges[-1].cursor if edges else None),
                      count_fn=count)


def _check_table(table: str) -> None:
    from jurisgrid.errors import InvalidInput

    if table not in AS_OF_TABLES:
        raise InvalidInput(f"asOf is kept for {', '.join(AS_OF_TABLES)}, not {table}")


async def responsible_as_of(info: Info, lon: float, lat: float, as_of: datetime) -> Any:
    """responsibleFor as of an instant: grid, zone, station, community and officers then — as
    as-of nodes, so that what is nested under them is as of the same instant."""
    from starlette.concurrency import run_in_threadpool

    from jurisgrid.editing.asof import as_of_call
    from jurisgrid.editing.asof import responsible_as_of as query
    from jurisgrid.gql import asof
    from jurisgrid.gql import responsible as resp
    from jurisgrid.gql.nodes import Community, Grid, Person, Sector, Station, Township, Zone
    from jurisgrid.models.asof import tagged

    at = asof.instant(as_of)
    u = await run_in_threadpool(as_of_call, info.context.engine, at, query, lon=lon, lat=lat,
                                as_of=at, settings=_edit_settings(info))
    station, community = u["station"], u["community"]
    srow = await asof.row(info, "sector", station["sector_id"], at) if station else None
    trow = await asof.row(info, "township", community["township_id"], at) if community else None

    def wrap(cls: Any, row: Any) -> Any:
        return cls(row=tagged(row, at)) if row is not None else None

    officers = [resp.Officer(person=Person(row=tagged(
        {k: o[k] for k in ("id", "code", "name", "phone")}, at)), role=o["role"]) for o in u["officers"]]
    return resp.Responsibility(
        on_boundary=u["on_boundary"], distance_to_boundary_m=u["boundary_m"],
        grid=wrap(Grid, u["grid"]), zone=wrap(Zone, u["zone"]), station=wrap(Station, station),
        community=wrap(Community, community), township=wrap(Township, trow),
        sector=wrap(Sector, srow), officers=officers, nearest=None)
