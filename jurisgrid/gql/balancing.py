"""Automatic balancing over GraphQL (issue 12 item 4): ``startBalancing`` queues a job
(planning/jobs.py) and answers at once; ``balanceJob(id)`` / ``balanceJobs`` follow its stage and
progress; ``cancelBalancing(id)`` stops it; when done, ``plan`` is the plan it wrote — read it
with ``planMetrics(plan:)`` or compare it with ``comparePlans``.

Planners and admins start jobs (a station-scoped token only for its own station); a job is
cancelled by whoever started it or an admin. Anyone who reads sees jobs (a station-scoped token
only its station's), as with plans.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool
from strawberry.scalars import JSON
from strawberry.types import Info

from jurisgrid.auth.checks import require_role
from jurisgrid.auth.principal import Principal, Role
from jurisgrid.config import EditSettings
from jurisgrid.editing.plans import edit_plan, write_assignment
from jurisgrid.editing.revisions import current_revision
from jurisgrid.errors import Forbidden, InvalidInput
from jurisgrid.gql.planning import Since, StationArg, Until, planning_scope
from jurisgrid.models import balance_jobs as jobs_db
from jurisgrid.models import plans as store
from jurisgrid.planning import jobs


@strawberry.enum(description="What a balancing job balances.")
class BalanceMeasure(Enum):
    POPULATION = "population"
    HOUSEHOLDS = "households"
    INCIDENTS = "incidents"
    WORKLOAD = "workload"


@strawberry.input(description="A measure to balance and its tolerance.")
class BalanceTargetInput:
    measure: BalanceMeasure
    tolerance: float = strawberry.field(description="max |zone total − ideal| / ideal, e.g. 0.05")


@strawberry.input(description="What to balance, under which constraints; the answer is a new plan.")
class BalancingInput:
    name: str = strawberry.field(description="the name of the plan the job writes (unique)")
    description: str | None = None
    targets: list[BalanceTargetInput] = strawberry.field(
        description="measures balanced together, each within its tolerance")
    districts: int | None = strawberry.field(
        default=None, description="the number of zones; null: today's. More: new zones are created in "
                                  "the plan; fewer: the zones left without grids are retired there")
    contiguous: bool = strawberry.field(default=True, description="every zone one piece")
    whole_villages: bool = strawberry.field(default=False, description="no village split between zones")
    station_boundaries: bool = strawberry.field(
        default=True, description="no grid changes station (only matters over the county)")
    locked_grids: list[str] = strawberry.field(
        default_factory=list, description="grids that stay in today's zone")
    max_moves: int | None = strawberry.field(
        default=None, description="at most this many grids in another zone than today")
    fewest_moves: bool = strawberry.field(
        default=False, description="reach the tolerance moving as few grids as it can from today's plan")
    seed: int = strawberry.field(default=0, description="the same seed on the same data: the same plan")


@strawberry.type(description="A measure's worst deviation in a job's answer.")
class BalanceWorst:
    measure: str
    worst: float = strawberry.field(description="max |zone total − ideal| / ideal")


@strawberry.type(description="Something that limits the balance, e.g. a grid holding more than a "
                             "zone's share — with what to do about it.")
class BalanceLimit:
    kind: str = strawberry.field(description="unit_exceeds_target, locked_over_target, station_total, "
                                             "village_in_pieces, village_across_stations, coarse_units, "
                                             "max_moves, time_limit, search …")
    message: str
    grids: list[str]
    measure: str | None
    impossible: bool = strawberry.field(description="the tolerance cannot be met as asked")


@strawberry.type(description="A finished job's figures.")
class BalanceAnswer:
    within_tolerance: bool
    worst: list[BalanceWorst]
    moved: int = strawberry.field(description="grids in another zone than today")
    station_changes: int
    contiguous: bool
    polsby_popper_mean: float
    stopped: str = strawberry.field(description="done, or the stage the time limit cut short")
    elapsed_s: float
    limits: list[BalanceLimit]


@strawberry.type(description="A job's error.")
class BalanceError:
    code: str
    message: str


@strawberry.type(description="An automatic-balancing job.")
class BalanceJob:
    id: strawberry.ID
    status: str = strawberry.field(description="queued, running, done, failed or cancelled")
    stage: str | None = strawberry.field(description="the search stage running now")
    progress: float = strawberry.field(description="0–1")
    actor: str
    station: str | None = strawberry.field(description="the scope: a station, null = the county")
    request: JSON = strawberry.field(description="what was asked")
    cancel_requested: bool
    plan: strawberry.ID | None = strawberry.field(description="the plan the job wrote (when done)")
    answer: BalanceAnswer | None
    error: BalanceError | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def job_type(row: dict[str, Any]) -> BalanceJob:
    res = row["result"]
    answer = None
    if res is not None:
        answer = BalanceAnswer(
            within_tolerance=res["withinTolerance"],
            worst=[BalanceWorst(measure=m, worst=w) for m, w in res["worst"].items()],
            moved=res["moved"], station_changes=res["stationChanges"], contiguous=res["contiguous"],
            polsby_popper_mean=res["polsbyPopperMean"], stopped=res["stopped"], elapsed_s=res["elapsedS"],
            limits=[BalanceLimit(kind=lim["kind"], message=lim["message"], grids=lim["grids"],
                                 measure=lim["measure"], impossible=lim["impossible"])
                    for lim in res["limits"]],
        )
    err = row["error"]
    return BalanceJob(
        id=strawberry.ID(str(row["id"])), status=row["status"], stage=row["stage"], progress=row["fraction"],
        actor=row["actor"], station=row["station_code"], request=row["params"],
        cancel_requested=row["cancel_requested"],
        plan=strawberry.ID(str(row["plan_id"])) if row["plan_id"] is not None else None,
        answer=answer, error=BalanceError(code=err["code"], message=err["message"]) if err else None,
        created_at=row["created_at"], started_at=row["started_at"], finished_at=row["finished_at"],
    )


def plan_writer(engine: Engine, principal: Principal, settings: EditSettings) -> jobs.PlanWriter:
    """How a job writes its answer: a plan branched from live; the new zones created, the grids
    moved in one plan edit, the zones left empty retired — each a plan edit with the checks every
    plan edit has, as ``principal``. A step refused deletes the plan: nothing is left half-done."""

    def write(a: jobs.PlanAnswer) -> int:
        with engine.begin() as conn:
            pid = store.create_plan(conn, name=a.name, description=a.description, scope=a.scope,
                                    actor=principal.actor, base_revision=current_revision(conn))
        try:
            for code, station in sorted(a.new_zones.items()):
                edit_plan(engine, pid, "createZone", {"code": code, "name": f"{code} (balanced)",
                                                      "station": station}, principal=principal,
                          settings=settings, reason=a.reason)
            if a.moves:
                with engine.begin() as conn:
                    write_assignment(conn, pid, a.moves, principal=principal, settings=settings,
                                     reason=a.reason)
            for code in a.retired:
                edit_plan(engine, pid, "retireZone", {"code": code}, principal=principal, settings=settings,
                          reason=a.reason)
        except BaseException:
            with engine.begin() as conn:
                store.delete_plan(conn, pid)
            raise
        return pid

    return write


def _job_id(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"not a job id: {value!r}") from None


def _visible(principal: Principal, row: dict[str, Any]) -> dict[str, Any]:
    own = principal.station_code
    if own is not None and row["station_code"] != own:
        raise Forbidden(f"{principal.actor} sees only the jobs of station {own}",
                        details=[{"actor": principal.actor, "station": own, "job": row["id"]}])
    return row


@strawberry.type
class BalancingQuery:
    @strawberry.field(description="One balancing job: status, stage, progress, and when done its "
                                  "answer and the plan it wrote.")
    async def balance_job(self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(
            description="the job's id")]) -> BalanceJob:
        principal = info.context.principal
        row = await info.context.db(lambda c: jobs_db.get_job(c, _job_id(id)))
        return job_type(_visible(principal, row))

    @strawberry.field(description="Balancing jobs, newest first (a station-scoped token: its station's).")
    async def balance_jobs(
        self, info: Info,
        status: Annotated[str | None, strawberry.argument(
            description="only jobs in this status (queued, running, done, failed, cancelled)")] = None,
        first: Annotated[int, strawberry.argument(description="at most this many (1–500)")] = 50,
    ) -> list[BalanceJob]:
        if status is not None and status not in jobs_db.STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(jobs_db.STATUSES)}")
        if not 1 <= first <= 500:
            raise InvalidInput("first must be within 1–500")
        own = info.context.principal.station_code
        rows = await info.context.db(lambda c: jobs_db.list_jobs(
            c, station=own, only_station=own is not None, status=status, limit=first))
        return [job_type(r) for r in rows]


@strawberry.type
class BalancingMutation:
    @strawberry.mutation(description="Ask for a balanced plan: checked at once (bad input is an error "
                                     "and nothing is stored), then run in the background; follow it "
                                     "with balanceJob(id).")
    async def start_balancing(self, info: Info, input: Annotated[BalancingInput, strawberry.argument(
            description="what to balance, the constraints, the seed and the name of the plan written")],
                              station: StationArg = None,
                              since: Since = None, until: Until = None) -> BalanceJob:
        ctx = info.context
        principal = ctx.principal
        require_role(principal, Role.PLANNER)
        scope = planning_scope(principal, station)
        req = jobs.BalanceRequest(
            name=input.name, description=input.description, station=scope,
            targets=tuple((t.measure.value, t.tolerance) for t in input.targets),
            districts=input.districts, contiguous=input.contiguous, whole_villages=input.whole_villages,
            station_boundaries=input.station_boundaries, locked=tuple(input.locked_grids),
            max_moves=input.max_moves, fewest_moves=input.fewest_moves, seed=input.seed,
            since=since, until=until)
        row = await run_in_threadpool(jobs.start, ctx.engine, principal, req,
                                      plan_writer(ctx.engine, principal, ctx.settings.edit))
        return job_type(row)

    @strawberry.mutation(description="Stop a balancing job (its starter or an admin): a queued one at "
                                     "once, a running one within about a second; no plan is written.")
    async def cancel_balancing(self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(
            description="the job's id")]) -> BalanceJob:
        ctx = info.context
        principal = ctx.principal
        require_role(principal, Role.PLANNER)

        def run(conn: Connection) -> dict[str, Any]:
            row = _visible(principal, jobs_db.get_job(conn, _job_id(id)))
            if row["actor"] != principal.actor and principal.role != Role.ADMIN:
                raise Forbidden(f"job {row['id']} was started by {row['actor']}; only they or an admin "
                                "may cancel it", details=[{"job": row["id"], "actor": row["actor"]}])
            return jobs_db.request_cancel(conn, row["id"])

        def write() -> dict[str, Any]:
            with ctx.engine.begin() as conn:
                return run(conn)

        return job_type(await run_in_threadpool(write))
