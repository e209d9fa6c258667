"""Plans in GraphQL (issue 12): ``plans`` / ``plan(id)``; ``createPlan``, ``updatePlan``,
``copyPlan``, ``deletePlan``; ``editPlan`` (any edit operation, into a plan) and
``assignPlanGrids``; ``publishPlan`` and ``rebasePlan``. Reads take ``plan:`` next to ``asOf``
(gql/source.py). Thin: each field calls models/plans.py or editing/plans.py / editing/publish.py
in a worker thread; expected failures are typed results, as for the edit mutations.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, cast

import strawberry
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from strawberry.scalars import JSON
from strawberry.types import Info

from jurisgrid.auth.checks import require_plan_access
from jurisgrid.editing import plans as planning
from jurisgrid.editing import publish
from jurisgrid.editing.revisions import current_revision
from jurisgrid.errors import Conflict, InvalidInput, JurisgridError, NotFound
from jurisgrid.gql.edit_types import (
    ConflictError,
    ForbiddenError,
    Impact,
    NotFoundError,
    RevisionRef,
    ValidationError,
    _warning,
    failure,
)
from jurisgrid.gql.source import plan_id_arg
from jurisgrid.models import plans as store

__all__ = ["PlanMutation", "PlanQuery"]


@strawberry.type(description="What a plan may change: the county, a sector or a station.")
class PlanScope:
    kind: str = strawberry.field(description="county, sector or station")
    code: str | None = strawberry.field(description="the sector's or station's code")


@strawberry.type(description="One edit made in a plan (its own history).")
class PlanEdit:
    id: int
    operation: str
    args: JSON
    actor: str
    role: str | None
    reason: str | None
    at: datetime
    summary: JSON


@strawberry.type(description="A grid whose zone the plan changes.")
class PlanGridMove:
    grid: str
    from_zone: str | None = strawberry.field(description="its live zone (null: new in the plan)")
    to_zone: str | None = strawberry.field(description="its zone in the plan (null: removed)")


@strawberry.type(description="A stored draft of the jurisdiction (a scenario), branched from the "
                 "live data, an instant or another plan. Read anything with `plan: <id>` to see "
                 "it as if it were live; publish it as one revision.")
class Plan:
    row: strawberry.Private[dict[str, Any]]
    id: strawberry.ID
    name: str
    description: str | None
    scope: PlanScope
    base_kind: str = strawberry.field(description="what it was branched from: live, asOf or plan")
    base_at: datetime | None = strawberry.field(description="the instant it was branched as of")
    base_plan: strawberry.ID | None = strawberry.field(description="the plan it was copied from")
    base_revision: int = strawberry.field(
        description="the newest live revision it is up to date with: publishing conflicts with "
                    "later revisions that changed a unit the plan changes (rebasePlan)")
    reshapes: bool = strawberry.field(description="its grids differ in shape or code from live")
    status: str = strawberry.field(description="draft, scheduled (to be published) or published")
    scheduled_edit_id: int | None
    published_revision: int | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def of(row: dict[str, Any]) -> Plan:
        return Plan(row=row, id=strawberry.ID(str(row["id"])), name=row["name"],
                    description=row["description"],
                    scope=PlanScope(kind=row["scope_kind"], code=row["scope_code"]),
                    base_kind=row["base_kind"], base_at=row["base_at"],
                    base_plan=None if row["base_plan"] is None else strawberry.ID(str(row["base_plan"])),
                    base_revision=row["base_revision"], reshapes=row["reshapes"],
                    status=row["status"], scheduled_edit_id=row["scheduled_edit"],
                    published_revision=row["published_revision"], created_by=row["created_by"],
                    created_at=row["created_at"], updated_at=row["updated_at"])

    @strawberry.field(description="Its own edit history, oldest first.")
    async def edits(self, info: Info) -> list[PlanEdit]:
        rows = await info.context.db(store.plan_edits, self.row["id"])
        return [PlanEdit(**r) for r in rows]

    @strawberry.field(description="The grids whose zone it changes (against the live data).")
    async def moves(self, info: Info) -> list[PlanGridMove]:
        rows = await info.context.db(store.changed_grids, self.row["id"])
        return [PlanGridMove(grid=r["code"], from_zone=r["from_zone"], to_zone=r["to_zone"])
                for r in rows]

    @strawberry.field(description="grid code → zone code under the plan, for its scope's grids.")
    async def assignment(self, info: Info) -> JSON:
        return await info.context.db(store.load_assignment, self.row["id"])

    @strawberry.field(description="Rows it overrides, per table (grid, zone, station, …).")
    async def overlay(self, info: Info) -> JSON:
        return await info.context.db(store.overlay_counts, self.row["id"])


@strawberry.type(description="The plan, as stored.")
class PlanSuccess:
    plan: Plan


@strawberry.type(description="The plan was deleted.")
class PlanDeleted:
    id: strawberry.ID


@strawberry.type(description="An edit made in a plan (or, dry run, what it would do there).")
class PlanEditSuccess:
    plan: Plan
    edit_id: int | None = strawberry.field(description="its entry in the plan's history")
    dry_run: bool
    impact: Impact = strawberry.field(description="what the edit does to the plan's state")
    overlay: JSON = strawberry.field(description="rows the plan overrides afterwards, per table")
    repairs: list[str]


@strawberry.type(description="The plan published: one revision now, or one scheduled edit.")
class PublishSuccess:
    plan: Plan
    revision: RevisionRef | None = strawberry.field(description="the revision (published now)")
    scheduled_id: int | None = strawberry.field(description="the scheduled edit (effectiveFrom)")
    impact: Impact


_ERRORS = ValidationError | ConflictError | ForbiddenError | NotFoundError
PlanResult = Annotated[PlanSuccess | _ERRORS, strawberry.union("PlanResult")]
PlanDeleteResult = Annotated[PlanDeleted | _ERRORS, strawberry.union("PlanDeleteResult")]
PlanEditResult = Annotated[PlanEditSuccess | _ERRORS, strawberry.union("PlanEditResult")]
PublishResult = Annotated[PublishSuccess | _ERRORS, strawberry.union("PublishResult")]


@strawberry.input(description="What a new plan starts from: the live data (neither), the "
                  "state as of an instant (`asOf`), or another plan (`plan`).")
class PlanFrom:
    as_of: datetime | None = None
    plan: strawberry.ID | None = None


@strawberry.input(description="county (no code), sector or station (with its code)")
class PlanScopeInput:
    kind: str
    code: str | None = None


def _impact(i: Any) -> Impact:
    return Impact(grids=i.grids, zones=i.zones, stations=i.stations, population=i.population,
                  households=i.households, incidents=i.incidents, address_points=i.address_points,
                  warnings=[_warning(w) for w in i.warnings])


async def _guard(info: Info, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a worker thread; a domain error becomes its typed result."""
    try:
        return await run_in_threadpool(fn)
    except JurisgridError as exc:
        cur = await info.context.db(current_revision) if isinstance(exc, Conflict) else None
        return failure(exc, cur)


def _in_tx(info: Info, fn: Callable[[Connection], Any]) -> Any:
    with info.context.engine.begin() as conn:
        return fn(conn)


def _visible(info: Info, plan: dict[str, Any]) -> dict[str, Any]:
    require_plan_access(info.context.principal, plan, write=False)
    return plan


PlanIdArg = Annotated[strawberry.ID, strawberry.argument(description="the plan's id")]
NameArg = Annotated[str, strawberry.argument(description="the plan's name (unique, any case)")]
NewNameArg = Annotated[str | None, strawberry.argument(description="a new name (unique, any case)")]
DescriptionArg = Annotated[str | None, strawberry.argument(
    description="what the plan is for (an empty one clears it)")]
ReasonArg = Annotated[str | None, strawberry.argument(description="why (recorded in the plan's "
                                                                 "history or on the revision)")]
DryRunArg = Annotated[bool, strawberry.argument(
    description="return what the edit would do to the plan's state, store nothing")]


@strawberry.type
class PlanQuery:
    @strawberry.field(description="Plans (scenarios), newest first; a station-scoped token sees "
                      "its own station's plans.")
    async def plans(self, info: Info) -> list[Plan]:
        rows = await info.context.db(store.list_plans, station=info.context.principal.station_code)
        return [Plan.of(r) for r in rows]

    @strawberry.field(description="One plan by id.")
    async def plan(self, info: Info, id: PlanIdArg) -> Plan | None:
        pid = plan_id_arg(id)

        def one(conn: Connection) -> dict[str, Any] | None:
            try:
                return store.get_plan(conn, pid)
            except NotFound:
                return None

        row = await info.context.db(one)
        return Plan.of(_visible(info, row)) if row is not None else None


@strawberry.type
class PlanMutation:
    @strawberry.mutation(description="Branch a new plan (planners and admins) over a scope from "
                         "the live data, an instant or another plan. Live data is not touched.")
    async def create_plan(self, info: Info, name: NameArg,
                          scope: Annotated[PlanScopeInput, strawberry.argument(
                              description="what the plan may change: county, sector or station")],
                          description: DescriptionArg = None,
                          from_: Annotated[PlanFrom | None, strawberry.argument(
                              name="from", description="live data (default), asOf an instant or "
                              "a plan")] = None
                          ) -> PlanResult:
        ctx = info.context
        base = from_ or PlanFrom()

        def run(conn: Connection) -> PlanSuccess:
            sc = store.Scope(scope.kind, scope.code)
            pid = planning.create(conn, name=name, description=description, scope=sc,
                                  principal=ctx.principal, as_of=base.as_of,
                                  from_plan=None if base.plan is None else plan_id_arg(base.plan))
            return PlanSuccess(plan=Plan.of(store.get_plan(conn, pid)))

        return await _guard(info, lambda: _in_tx(info, run))

    @strawberry.mutation(description="Rename and/or re-describe a plan.")
    async def update_plan(self, info: Info, id: PlanIdArg, name: NewNameArg = None,
                          description: DescriptionArg = None) -> PlanResult:
        ctx = info.context

        def run(conn: Connection) -> PlanSuccess:
            pid = plan_id_arg(id)
            require_plan_access(ctx.principal, store.get_plan(conn, pid), write=True)
            return PlanSuccess(plan=Plan.of(store.update_plan(conn, pid, name=name,
                                                              description=description)))

        return await _guard(info, lambda: _in_tx(info, run))

    @strawberry.mutation(description="Copy a plan into a new draft (same changes, same base).")
    async def copy_plan(self, info: Info, id: PlanIdArg, name: NameArg,
                        description: DescriptionArg = None) -> PlanResult:
        ctx = info.context

        def run(conn: Connection) -> PlanSuccess:
            pid = plan_id_arg(id)
            require_plan_access(ctx.principal, store.get_plan(conn, pid), write=True)
            new = store.copy_plan(conn, pid, name=name, description=description,
                                  actor=ctx.principal.actor)
            return PlanSuccess(plan=Plan.of(store.get_plan(conn, new)))

        return await _guard(info, lambda: _in_tx(info, run))

    @strawberry.mutation(description="Delete a plan, its changes and its history.")
    async def delete_plan(self, info: Info, id: PlanIdArg) -> PlanDeleteResult:
        ctx = info.context

        def run(conn: Connection) -> PlanDeleted:
            pid = plan_id_arg(id)
            require_plan_access(ctx.principal, store.get_plan(conn, pid), write=True)
            store.delete_plan(conn, pid)
            return PlanDeleted(id=strawberry.ID(str(pid)))

        return await _guard(info, lambda: _in_tx(info, run))

    @strawberry.mutation(description="Run an edit operation (reassignGrids, reassignCommunity, "
                         "moveZone, createZone, retireZone, splitGrid, …: the edit mutations' "
                         "names, arguments as they take them) in a plan instead of live data. A "
                         "dry run shows what it would do to the plan's state (cumulative).")
    async def edit_plan(self, info: Info, plan: PlanIdArg,
                        operation: Annotated[str, strawberry.argument(
                            description="an edit mutation's name, e.g. reassignGrids")],
                        args: Annotated[JSON, strawberry.argument(
                            description="its arguments as an object, e.g. {grids, toZone}")],
                        reason: ReasonArg = None, dry_run: DryRunArg = False) -> PlanEditResult:
        ctx = info.context

        def run() -> PlanEditSuccess:
            pid = plan_id_arg(plan)
            if not isinstance(args, dict):
                raise InvalidInput("args must be an object of the operation's arguments")
            out = planning.edit_plan(ctx.engine, pid, operation, args, principal=ctx.principal,
                                     settings=ctx.settings.edit, reason=reason, dry_run=dry_run)
            return _edit_success(ctx.engine, out, dry_run)

        return await _guard(info, run)

    @strawberry.mutation(description="Set grid → zone for many grids in a plan at once (an "
                         "object {gridCode: zoneCode}): one plan edit.")
    async def assign_plan_grids(self, info: Info, plan: PlanIdArg,
                                assignment: Annotated[JSON, strawberry.argument(
                                    description="{gridCode: zoneCode, …}")],
                                reason: ReasonArg = None, dry_run: DryRunArg = False
                                ) -> PlanEditResult:
        ctx = info.context

        def run() -> PlanEditSuccess:
            pid = plan_id_arg(plan)
            if not isinstance(assignment, dict):
                raise InvalidInput("assignment must be an object {gridCode: zoneCode}")
            with ctx.engine.begin() as conn:
                out = planning.write_assignment(conn, pid, assignment, principal=ctx.principal,
                                                settings=ctx.settings.edit, reason=reason,
                                                dry_run=dry_run)
            return _edit_success(ctx.engine, out, dry_run)

        return await _guard(info, run)

    @strawberry.mutation(description="Publish a plan as ONE revision now, or — with a future "
                         "effectiveFrom — as ONE scheduled edit (the plan is then read-only until "
                         "it takes effect or is cancelled). Editors (in scope) and admins only. "
                         "A ConflictError names the units changed live since the plan's base "
                         "revision: rebasePlan, then publish again. One revert undoes it.")
    async def publish_plan(self, info: Info, id: PlanIdArg, reason: ReasonArg = None,
                           effective_from: Annotated[datetime | None, strawberry.argument(
                               description="default now; a future instant schedules it")] = None
                           ) -> PublishResult:
        ctx = info.context

        def run() -> PublishSuccess:
            pid = plan_id_arg(id)
            out = publish.publish_plan(ctx.engine, pid, principal=ctx.principal,
                                       settings=ctx.settings.edit, reason=reason,
                                       effective_from=effective_from)
            rev = out.revision
            with ctx.engine.connect() as conn:
                row = store.get_plan(conn, pid)
            return PublishSuccess(
                plan=Plan.of(row), scheduled_id=out.scheduled_id, impact=_impact(out.impact),
                revision=None if rev is None else RevisionRef(
                    id=rev.id, at=rev.at, actor=rev.actor, reason=rev.reason,
                    effective_from=rev.effective_from))

        return await _guard(info, run)

    @strawberry.mutation(description="Bring a plan up to date with the live data: its changes are "
                         "kept, re-applied on today's state; its base revision becomes the newest.")
    async def rebase_plan(self, info: Info, id: PlanIdArg) -> PlanResult:
        ctx = info.context

        def run(conn: Connection) -> PlanSuccess:
            pid = plan_id_arg(id)
            planning.rebase_plan(conn, pid, principal=ctx.principal)
            return PlanSuccess(plan=Plan.of(store.get_plan(conn, pid)))

        return await _guard(info, lambda: _in_tx(info, run))


def _edit_success(engine: Any, out: planning.PlanEditOutcome, dry_run: bool) -> PlanEditSuccess:
    with engine.connect() as conn:
        row = store.get_plan(conn, out.plan_id)
    return PlanEditSuccess(plan=Plan.of(row), edit_id=out.edit_id, dry_run=dry_run,
                           impact=_impact(out.impact), overlay=cast(JSON, out.overlay),
                           repairs=out.repairs)
