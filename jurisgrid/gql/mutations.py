"""The Mutation root of the editing API (issue 3). Thin: each field packs its arguments as plain
JSON and hands them to :func:`jurisgrid.editing.runner.run_edit` in a worker thread.

Common arguments: ``reason``, ``effectiveFrom`` (default now; a future instant schedules the
edit), ``expectedRevision`` (optimistic lock: the ``currentRevision`` the client saw) and
``dryRun`` (return the impact, write nothing). Every result is an ``EditResult`` union.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from jurisgrid.editing.revisions import current_revision
from jurisgrid.editing.runner import run_edit
from jurisgrid.errors import Conflict, JurisgridError
from jurisgrid.geo.crs import Crs
from jurisgrid.gql.edit_types import CancelResult, CancelSuccess, EditResult, failure, success
from jurisgrid.gql.geometry import CrsEnum
from jurisgrid.gql.scalars import GeoJSON

Reason = Annotated[str | None, strawberry.argument(description="why (recorded on the revision)")]
Effective = Annotated[datetime | None, strawberry.argument(
    description="when the change takes effect; default now, a future instant schedules it")]
Expected = Annotated[int | None, strawberry.argument(
    description="the currentRevision you saw; a ConflictError if a later revision changed a "
                "unit this edit changes")]
DryRun = Annotated[bool, strawberry.argument(description="return the impact, write nothing")]


async def edit(info: Info, op: str, args: dict[str, Any], reason: str | None,
               effective_from: datetime | None, expected_revision: int | None,
               dry_run: bool) -> Any:
    ctx = info.context
    args = {k: (v.value if isinstance(v, Crs) else v) for k, v in args.items() if v is not None}
    try:
        out = await run_in_threadpool(
            run_edit, ctx.engine, op, args, principal=ctx.principal, settings=ctx.settings.edit,
            reason=reason, effective_from=effective_from, expected_revision=expected_revision,
            dry_run=dry_run)
    except JurisgridError as exc:
        cur = await ctx.db(current_revision) if isinstance(exc, Conflict) else None
        return failure(exc, cur)
    return success(out, dry_run=dry_run)


@strawberry.type
class EditMutation:
    @strawberry.mutation(description="Cancel an edit scheduled for a future effectiveFrom, before "
                         "it takes effect. Whoever scheduled it may, and any admin.")
    async def cancel_scheduled_edit(self, info: Info, id: int, reason: Reason = None) -> CancelResult:
        from jurisgrid.editing.schedule import cancel

        ctx = info.context
        try:
            row = await run_in_threadpool(cancel, ctx.engine, id, principal=ctx.principal,
                                          reason=reason)
        except JurisgridError as exc:
            return failure(exc, await ctx.db(current_revision) if isinstance(exc, Conflict) else None)
        return CancelSuccess(scheduled_edit_id=row["id"], cancelled_at=row["cancelled_at"],
                             cancelled_by=row["cancelled_by"])

    @strawberry.mutation(description="Move grids to a zone (and so to its station).")
    async def reassign_grids(self, info: Info, grids: list[str], to_zone: str, reason: Reason = None,
                             effective_from: Effective = None, expected_revision: Expected = None,
                             dry_run: DryRun = False) -> EditResult:
        return await edit(info, "reassignGrids", {"grids": grids, "toZone": to_zone}, reason,
                          effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Move every grid of a community (村/社区) to a zone.")
    async def reassign_community(self, info: Info, community: str, to_zone: str, reason: Reason = None,
                                 effective_from: Effective = None, expected_revision: Expected = None,
                                 dry_run: DryRun = False) -> EditResult:
        return await edit(info, "reassignCommunity", {"community": community, "toZone": to_zone},
                          reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Move a zone, with its grids, to another station.")
    async def move_zone(self, info: Info, zone: str, to_station: str, reason: Reason = None,
                        effective_from: Effective = None, expected_revision: Expected = None,
                        dry_run: DryRun = False) -> EditResult:
        return await edit(info, "moveZone", {"zone": zone, "toStation": to_station}, reason,
                          effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Give a grid a new shape: neighbours lose what it now covers; "
                         "land it gives up goes to `giveTo` (or the edit is refused).")
    async def redraw_grid(self, info: Info, grid: str, geometry: GeoJSON,
                          give_to: str | None = None, repair: bool = False,
                          crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                          reason: Reason = None, effective_from: Effective = None,
                          expected_revision: Expected = None, dry_run: DryRun = False) -> EditResult:
        return await edit(info, "redrawGrid", {"grid": grid, "geometry": geometry, "giveTo": give_to,
                                               "repair": repair, "crs": Crs(crs)},
                          reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Cut a grid in two (or more) along a line crossing it.")
    async def split_grid(self, info: Info, grid: str, line: GeoJSON,
                         new_codes: list[str] | None = None,
                         crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                         reason: Reason = None, effective_from: Effective = None,
                         expected_revision: Expected = None, dry_run: DryRun = False) -> EditResult:
        return await edit(info, "splitGrid", {"grid": grid, "line": line, "newCodes": new_codes,
                                              "crs": Crs(crs)},
                          reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Merge adjacent grids of one community; the first keeps its code.")
    async def merge_grids(self, info: Info, grids: list[str], reason: Reason = None,
                          effective_from: Effective = None, expected_revision: Expected = None,
                          dry_run: DryRun = False) -> EditResult:
        return await edit(info, "mergeGrids", {"grids": grids}, reason, effective_from,
                          expected_revision, dry_run)

    @strawberry.mutation(description="Restore the state before a revision, as a new revision.")
    async def revert(self, info: Info, revision: int, reason: Reason = None,
                     expected_revision: Expected = None, dry_run: DryRun = False) -> EditResult:
        return await edit(info, "revert", {"revision": revision}, reason, None, expected_revision,
                          dry_run)
