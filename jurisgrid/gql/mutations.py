"""The Mutation root of the editing API (issue 3). Thin: each field hands its arguments, as
plain JSON, to :func:`jurisgrid.editing.runner.run_edit` in a worker thread, which parses them
into the operation's typed command (editing/commands.py) — the same path as ``jurisgrid edit``
and the grid import.

Every edit mutation takes ``options: EditOptions`` (gql/edit_options.py): ``reason``,
``effectiveFrom`` (default now; a future instant schedules the edit), ``expectedRevision``
(optimistic lock: the ``currentRevision`` the client saw) and ``dryRun`` (return the impact,
write nothing); the four separate arguments of the same names are deprecated aliases. Every
result is an ``EditResult`` union.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from jurisgrid.editing.plans import in_plan
from jurisgrid.editing.revisions import current_revision
from jurisgrid.editing.runner import run_edit
from jurisgrid.editing.schedule import cancel
from jurisgrid.errors import Conflict, InvalidInput, JurisgridError
from jurisgrid.geo.crs import Crs
from jurisgrid.gql.edit_options import DryRun, EditOptions, Effective, Expected, Options, Reason, resolve
from jurisgrid.gql.edit_types import CancelResult, CancelSuccess, EditResult, failure, success
from jurisgrid.gql.geometry import CrsEnum
from jurisgrid.gql.scalars import GeoJSON

__all__ = ["DryRun", "Effective", "Expected", "Options", "Reason", "edit"]


async def edit(info: Info, op: str, args: dict[str, Any], options: EditOptions | None,
               reason: str | None = None, effective_from: datetime | None = None,
               expected_revision: int | None = None, dry_run: bool | None = None) -> Any:
    """Run ``op`` with ``args`` (camelCase JSON; nulls dropped) under the resolved options."""
    ctx = info.context
    args = {k: (v.value if isinstance(v, Crs) else v) for k, v in args.items() if v is not None}
    try:
        opts = resolve(options, reason=reason, effective_from=effective_from,
                       expected_revision=expected_revision, dry_run=dry_run)
        if opts.plan is not None:  # into a plan instead of live data (editing/plans.py)
            out = await run_in_threadpool(in_plan, ctx.engine, opts.plan, op, args,
                                          principal=ctx.principal, settings=ctx.settings.edit,
                                          reason=opts.reason, dry_run=opts.dry_run)
            return success(out, dry_run=opts.dry_run)
        out = await run_in_threadpool(
            run_edit, ctx.engine, op, args, principal=ctx.principal, settings=ctx.settings.edit,
            reason=opts.reason, effective_from=opts.effective_from,
            expected_revision=opts.expected_revision, dry_run=opts.dry_run)
    except JurisgridError as exc:
        cur = await ctx.db(current_revision) if isinstance(exc, Conflict) else None
        return failure(exc, cur)
    return success(out, dry_run=opts.dry_run)


@strawberry.type
class EditMutation:
    @strawberry.mutation(description="Cancel an edit scheduled for a future effectiveFrom, before "
                         "it takes effect. Whoever scheduled it may, and any admin.")
    async def cancel_scheduled_edit(
            self, info: Info, id: int,
            reason: Annotated[str | None, strawberry.argument(description="why")] = None,
    ) -> CancelResult:
        ctx = info.context
        try:
            row = await run_in_threadpool(cancel, ctx.engine, id, principal=ctx.principal,
                                          reason=reason)
        except JurisgridError as exc:
            return failure(exc, await ctx.db(current_revision) if isinstance(exc, Conflict) else None)
        return CancelSuccess(scheduled_edit_id=row["id"], cancelled_at=row["cancelled_at"],
                             cancelled_by=row["cancelled_by"])

    @strawberry.mutation(description="Move grids to a zone (and so to its station).")
    async def reassign_grids(self, info: Info, grids: list[str], to_zone: str,
                             options: Options = None, reason: Reason = None,
                             effective_from: Effective = None, expected_revision: Expected = None,
                             dry_run: DryRun = None) -> EditResult:
        return await edit(info, "reassignGrids", {"grids": grids, "toZone": to_zone}, options,
                          reason=reason, effective_from=effective_from,
                          expected_revision=expected_revision, dry_run=dry_run)

    @strawberry.mutation(description="Move every grid of a community (村/社区) to a zone.")
    async def reassign_community(self, info: Info, community: str, to_zone: str,
                                 options: Options = None, reason: Reason = None,
                                 effective_from: Effective = None, expected_revision: Expected = None,
                                 dry_run: DryRun = None) -> EditResult:
        return await edit(info, "reassignCommunity", {"community": community, "toZone": to_zone},
                          options, reason=reason, effective_from=effective_from,
                          expected_revision=expected_revision, dry_run=dry_run)

    @strawberry.mutation(description="Move a zone, with its grids, to another station.")
    async def move_zone(self, info: Info, zone: str, to_station: str, options: Options = None,
                        reason: Reason = None, effective_from: Effective = None,
                        expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "moveZone", {"zone": zone, "toStation": to_station}, options,
                          reason=reason, effective_from=effective_from,
                          expected_revision=expected_revision, dry_run=dry_run)

    @strawberry.mutation(description="Give a grid a new shape: neighbours lose what it now covers; "
                         "land it gives up goes to `giveTo` (or the edit is refused).")
    async def redraw_grid(self, info: Info, grid: str, geometry: GeoJSON,
                          give_to: str | None = None, repair: bool = False,
                          crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                          options: Options = None, reason: Reason = None,
                          effective_from: Effective = None, expected_revision: Expected = None,
                          dry_run: DryRun = None) -> EditResult:
        return await edit(info, "redrawGrid", {"grid": grid, "geometry": geometry, "giveTo": give_to,
                                               "repair": repair, "crs": Crs(crs)}, options,
                          reason=reason, effective_from=effective_from,
                          expected_revision=expected_revision, dry_run=dry_run)

    @strawberry.mutation(description="Cut a grid in two (or more) along a line crossing it.")
    async def split_grid(self, info: Info, grid: str, line: GeoJSON,
                         new_codes: list[str] | None = None,
                         crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
                         options: Options = None, reason: Reason = None,
                         effective_from: Effective = None, expected_revision: Expected = None,
                         dry_run: DryRun = None) -> EditResult:
        return await edit(info, "splitGrid", {"grid": grid, "line": line, "newCodes": new_codes,
                                              "crs": Crs(crs)}, options,
                          reason=reason, effective_from=effective_from,
                          expected_revision=expected_revision, dry_run=dry_run)

    @strawberry.mutation(description="Merge adjacent grids of one community; the first keeps its code.")
    async def merge_grids(self, info: Info, grids: list[str], options: Options = None,
                          reason: Reason = None, effective_from: Effective = None,
                          expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "mergeGrids", {"grids": grids}, options, reason=reason,
                          effective_from=effective_from, expected_revision=expected_revision,
                          dry_run=dry_run)

    @strawberry.mutation(description="Restore the state before a revision, as a new revision "
                         "(options.effectiveFrom is refused: a revert takes effect now).")
    async def revert(self, info: Info, revision: int, options: Options = None,
                     reason: Reason = None, expected_revision: Expected = None,
                     dry_run: DryRun = None) -> EditResult:
        if options is not None and options.effective_from is not None:
            return failure(InvalidInput("a revert takes effect now: options.effectiveFrom is not "
                                        "accepted", details=[{"field": "options.effectiveFrom"}]))
        return await edit(info, "revert", {"revision": revision}, options, reason=reason,
                          expected_revision=expected_revision, dry_run=dry_run)
