"""Automatic balancing as a background job (issue 12 item 4): request → checked → queued → run
by a thread of this process → a new plan.

``start(engine, principal, request)`` checks everything the answer depends on while the caller
waits — the scope, the measures and tolerances, locked grids, the constraints against today's
assignment (``Balancer.check``), the plan's name — so bad input is a typed error and nothing is
stored; then it stores the job (models/balance_jobs.py) and queues it. One worker thread per
process runs the queue, one job at a time (balancing is CPU-bound; two at once would only share
the cores). The job reads the scope as it is when it starts, runs ``Balancer`` with a progress
callback that writes stage and progress (at most every ``WRITE_EVERY_S``) and a cancel callback
that reads the job's cancel flag as often, and writes its answer as a new plan with the
``PlanWriter`` the caller gives (the GraphQL layer's: ``models.plans.create_plan`` branched from
live, then ``editing.plans.write_assignment`` with the grids it moves, as the principal who
asked — planning/ does not import editing/, its sibling layer). Deterministic per seed: the same request
on the same data gives the same plan (the time limit is a backstop: the answer says when it cut
a stage short).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from jurisgrid.auth.principal import Principal
from jurisgrid.errors import InvalidInput, JurisgridError, RuleViolation
from jurisgrid.models import balance_jobs as jobs_db
from jurisgrid.models import plans as store
from jurisgrid.planning.balance import (
    BalanceCancelled,
    BalanceParams,
    Balancer,
    Problem,
    Progress,
    Result,
    Target,
)
from jurisgrid.planning.compare import Context
from jurisgrid.planning.source import read_context
from jurisgrid.planning.staffing import workload_weights

log = logging.getLogger("jurisgrid.planning.jobs")



@dataclass(frozen=True)
class PlanAnswer:
    """What a job writes: a plan named ``name`` over ``scope`` with ``new_zones`` created (code →
    station), the grids of ``moves`` given to their zones, and ``retired`` zones (left without
    grids) retired — in the plan only."""

    name: str
    description: str
    scope: store.Scope
    moves: dict[str, str]
    new_zones: dict[str, str]
    retired: list[str]
    reason: str


# writes a PlanAnswer as the principal who asked; returns the new plan's id (nothing stored on error)
PlanWriter = Callable[[PlanAnswer], int]

MEASURES = ("population", "households", "incidents", "workload")
TIME_LIMIT_S = 600.0  # a backstop; the search itself is bounded by its proposal budget
WRITE_EVERY_S = 0.5
# where each stage of the search falls in the job's overall progress
STAGES = {"prepare": (0.0, 0.02), "balance": (0.02, 0.55), "resplit": (0.55, 0.65),
          "compact": (0.65, 0.97), "put_back": (0.55, 0.97), "plan": (0.97, 1.0)}


@dataclass(frozen=True)
class BalanceRequest:
    """What a planner asks for. ``station`` None: the whole county. ``districts`` None: today's
    number of zones. ``targets``: (measure, tolerance) pairs balanced together."""

    name: str
    targets: tuple[tuple[str, float], ...] = (("population", 0.05), ("incidents", 0.05))
    station: str | None = None
    description: str | None = None
    districts: int | None = None
    contiguous: bool = True
    whole_villages: bool = False
    station_boundaries: bool = True
    locked: tuple[str, ...] = ()
    max_moves: int | None = None
    fewest_moves: bool = False
    seed: int = 0
    since: datetime | None = None
    until: datetime | None = None
    effort: float = 1.0

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["targets"] = [{"measure": m, "tolerance": t} for m, t in self.targets]
        d["locked"] = list(self.locked)
        for k in ("since", "until"):
            d[k] = d[k].isoformat() if d[k] is not None else None
        return d


def _params(req: BalanceRequest, ctx: Context) -> BalanceParams:
    bad = [m for m, _ in req.targets if m not in MEASURES]
    if bad:
        raise InvalidInput(f"unknown measure(s) {', '.join(bad)}; balance {', '.join(MEASURES)}")
    return BalanceParams(
        districts=req.districts, targets=tuple(Target(m, t) for m, t in req.targets),
        workload=workload_weights(ctx.policy, ctx.units, ctx.window_days), contiguous=req.contiguous,
        whole_villages=req.whole_villages, locked=tuple(req.locked), max_moves=req.max_moves,
        fewest_moves=req.fewest_moves, seed=req.seed,
        # within one station no grid can change station: the constraint would only bind the start
        station_boundaries=req.station_boundaries and req.station is None,
        time_limit_s=TIME_LIMIT_S, effort=req.effort)


def _problem(ctx: Context) -> Problem:
    base = ctx.base
    return Problem(ctx.units, base=dict(base.assignment), adjacency=ctx.adjacency,
                   parent_of={z: info.station for z, info in base.zones.items()})


def _name_taken(conn: Connection, name: str) -> bool:
    return conn.exec_driver_sql("SELECT 1 FROM plan WHERE lower(name) = lower(%(n)s)",
                                {"n": name}).first() is not None


def check(conn: Connection, req: BalanceRequest) -> tuple[Context, BalanceParams, Problem]:
    """Everything ``req`` depends on, checked against the data as it is now (the plan's name
    apart: ``start`` checks it)."""
    if req.districts is not None and req.districts < 1:
        raise InvalidInput("districts must be at least 1")
    ctx = read_context(conn, req.station, since=req.since, until=req.until)
    if req.districts is not None and req.districts != len(set(ctx.base.assignment.values())) \
            and req.station is None and req.station_boundaries:
        raise InvalidInput("over the county with station boundaries kept, a job keeps today's zones; "
                           "ask per station for another number of zones")
    if req.districts is not None and req.districts > len(ctx.units):
        raise InvalidInput(f"{req.districts} zones asked, but the scope has {len(ctx.units)} grids")
    params, problem = _params(req, ctx), _problem(ctx)
    Balancer(params).check(problem)
    return ctx, params, problem


def answer(result: Result) -> dict[str, Any]:
    """The figures a job reports (JSON)."""
    m = result.metrics
    return {
        "withinTolerance": result.within_tolerance,
        "worst": {k: float(v) for k, v in result.worst.items()},
        "moved": result.moved,
        "stationChanges": m.moves.parent_changes if m.moves else 0,
        "contiguous": m.contiguous,
        "polsbyPopperMean": m.polsby_popper_mean,
        "start": result.start,
        "stopped": result.stopped,
        "elapsedS": result.elapsed_s,
        "limits": [{"kind": lim.kind, "message": lim.message, "grids": list(lim.units),
                    "measure": lim.measure, "impossible": lim.impossible} for lim in result.limits],
    }


class _Reporter:
    """The Balancer's progress and cancel callbacks, writing to and reading the job's row at most
    every ``WRITE_EVERY_S``."""

    def __init__(self, engine: Engine, job_id: int) -> None:
        self.engine, self.job_id = engine, job_id
        self.last = 0.0
        self.fraction = 0.0
        self.cancelled = False

    def write(self, stage: str, fraction: float, *, force: bool = False) -> None:
        lo, hi = STAGES.get(stage, (self.fraction, self.fraction))
        self.fraction = max(self.fraction, min(1.0, lo + (hi - lo) * max(0.0, min(1.0, fraction))))
        now = time.monotonic()
        if not force and now - self.last < WRITE_EVERY_S:
            return
        self.last = now
        with self.engine.begin() as conn:
            self.cancelled = jobs_db.progress(conn, self.job_id, stage, self.fraction,
                                              waiting=RUNNER.waiting()) or self.cancelled

    def progress(self, p: Progress) -> None:
        self.write(p.stage, p.fraction)

    def cancel(self) -> bool:
        return self.cancelled


def run(engine: Engine, job_id: int, req: BalanceRequest, writer: PlanWriter,
        *, on_progress: Callable[[Progress], None] | None = None) -> None:
    """Run one job to its end (in the calling thread); every outcome is written to its row."""
    with engine.begin() as conn:
        if not jobs_db.mark_running(conn, job_id):
            return  # cancelled while queued
    rep = _Reporter(engine, job_id)

    def progress(p: Progress) -> None:
        rep.progress(p)
        if on_progress is not None:
            on_progress(p)

    try:
        rep.write("prepare", 0.0, force=True)
        with engine.connect() as conn:
            ctx, params, problem = check(conn, req)
        result = Balancer(params, progress=progress, cancel=rep.cancel).solve(problem)
        rep.write("plan", 0.0, force=True)
        if rep.cancelled:
            raise BalanceCancelled("balancing cancelled")
        with engine.connect() as conn:
            name = req.name.strip()
            if _name_taken(conn, name):
                name = f"{name} (balancing job {job_id})"  # the name was taken while it ran
            plan = _answer(conn, ctx, result, req, job_id, name)
        pid = writer(plan)
        with engine.begin() as conn:
            jobs_db.finish(conn, job_id, "done", result=answer(result), plan_id=pid)
    except BalanceCancelled:
        with engine.begin() as conn:
            jobs_db.finish(conn, job_id, "cancelled")
    except JurisgridError as exc:
        with engine.begin() as conn:
            jobs_db.finish(conn, job_id, "failed", error={"code": exc.code, "message": str(exc),
                                                          "details": getattr(exc, "details", None)})
    except Exception:
        log.exception("balancing job %s failed", job_id)
        with engine.begin() as conn:
            jobs_db.finish(conn, job_id, "failed", error={
                "code": "INTERNAL_SERVER_ERROR", "message": "the job failed; the server log has why"})


def _answer(conn: Connection, ctx: Context, result: Result, req: BalanceRequest, job_id: int,
            name: str) -> PlanAnswer:
    """The plan a result means: new districts become new zones (coded ``<station>Znn``, the next
    free numbers, in the station holding most of their grids), today's zones left without grids
    are retired."""
    live = ctx.base.assignment
    zone_station = {z: info.station for z, info in ctx.base.zones.items()}
    codes = {str(z) for z in zone_station}
    new: dict[str, str] = {}
    rename: dict[str, str] = {}
    for d in result.districts:
        if str(d) in codes:
            continue
        votes: dict[str, int] = {}
        for g, z in result.assignment.items():
            if z == d:
                st = zone_station[live[g]]
                votes[st] = votes.get(st, 0) + 1
        station = req.station or max(sorted(votes), key=lambda s: votes[s])
        code = _free_zone_code(conn, station, set(new))
        new[code], rename[str(d)] = station, code
    moves = {g: rename.get(str(z), str(z)) for g, z in result.assignment.items()
             if rename.get(str(z), str(z)) != live[g]}
    kept = {rename.get(str(z), str(z)) for z in result.assignment.values()}
    retired = sorted(z for z in set(live.values()) if z not in kept)
    scope = store.Scope("station", req.station) if req.station else store.Scope("county")
    return PlanAnswer(name, req.description or f"balancing job {job_id} (seed {req.seed})", scope, moves,
                      new, retired, f"balancing job {job_id}")


def _free_zone_code(conn: Connection, station: str, taken: set[str]) -> str:
    """The next ``<station>Znn`` no zone has, live or in any plan."""
    used = {c for (c,) in conn.exec_driver_sql(
        "SELECT code FROM zone WHERE code LIKE %(p)s UNION SELECT code FROM plan_zone WHERE code LIKE %(p)s",
        {"p": f"{station}Z%"})} | taken
    for n in range(1, 100):
        code = f"{station}Z{n:02d}"
        if code not in used:
            return code
    raise InvalidInput(f"station {station} has no free zone code left (Z01–Z99)")


@dataclass
class _Queued:
    engine: Engine
    job_id: int
    request: BalanceRequest
    writer: PlanWriter


class Runner:
    """One worker thread per process running queued jobs in order (daemon: a process that exits
    leaves its running job to be read as lost, see models/balance_jobs.py)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[_Queued] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.idle = threading.Event()
        self.idle.set()
        self._waiting: set[int] = set()

    def waiting(self) -> list[int]:
        """The ids of the jobs waiting in this process's queue (their heartbeat is kept too)."""
        with self._lock:
            return list(self._waiting)

    def submit(self, item: _Queued) -> None:
        with self._lock:
            self.idle.clear()
            self._waiting.add(item.job_id)
            self._queue.put(item)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="balance-jobs", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            with self._lock:
                self._waiting.discard(item.job_id)
            try:
                run(item.engine, item.job_id, item.request, item.writer)
            finally:
                self._queue.task_done()
                with self._lock:
                    if self._queue.empty():
                        self.idle.set()


RUNNER = Runner()


def start(engine: Engine, principal: Principal, req: BalanceRequest, writer: PlanWriter) -> dict[str, Any]:
    """Check ``req`` (typed errors, nothing stored), store the job and queue it; returns its row."""
    name = (req.name or "").strip()
    if not name:
        raise InvalidInput("the plan the job writes needs a name")
    with engine.begin() as conn:
        if _name_taken(conn, name):
            raise RuleViolation("DUPLICATE_NAME", f"a plan named {name!r} already exists",
                                details=[{"kind": "plan", "field": "name", "code": name}])
        check(conn, req)
        job_id = jobs_db.insert_job(conn, actor=principal.actor, station=req.station, params=req.to_json())
        row = jobs_db.get_job(conn, job_id)
    RUNNER.submit(_Queued(engine, job_id, req, writer))
    return row
