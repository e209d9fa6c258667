"""Balancing jobs (planning/jobs.py) in the plans tests' database: a job writes the Balancer's
answer as a plan, deterministic per seed; locked grids never move; the move budget holds;
progress is written while it runs; a cancel stops it and writes no plan; bad requests are refused
with nothing stored."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Engine

from jurisgrid.config import EditSettings
from jurisgrid.errors import InvalidInput, RuleViolation
from jurisgrid.gql.balancing import plan_writer
from jurisgrid.models import balance_jobs as jobs_db
from jurisgrid.models import plans as store
from jurisgrid.planning import jobs
from jurisgrid.planning.balance import Balancer, Progress
from jurisgrid.planning.source import read_context
from tests.plans.conftest import PLANNER

TARGETS = (("population", 0.25), ("incidents", 0.25))
QUICK = 0.2  # effort: a fifth of the proposal budget keeps these tests quick


@pytest.fixture(scope="module")
def station(plan_engine: Engine) -> str:
    with plan_engine.connect() as conn:
        return str(conn.exec_driver_sql(
            "SELECT st.code FROM station st JOIN zone z ON z.station_id = st.id "
            "JOIN grid g ON g.zone_id = z.id GROUP BY st.code "
            "HAVING count(DISTINCT z.id) >= 3 AND count(*) >= 12 "
            "ORDER BY count(*), st.code LIMIT 1"
        ).scalar_one())


def _req(**kw: Any) -> jobs.BalanceRequest:
    kw.setdefault("targets", TARGETS)
    kw.setdefault("effort", QUICK)
    return jobs.BalanceRequest(**kw)


def _run(engine: Engine, req: jobs.BalanceRequest, settings: EditSettings,
         on_progress: Any = None) -> dict[str, Any]:
    """Start a job and run it in this thread (as the worker would); its final row."""
    with engine.begin() as conn:
        jobs.check(conn, req)
        job_id = jobs_db.insert_job(conn, actor=PLANNER.actor, station=req.station, params=req.to_json())
    jobs.run(engine, job_id, req, plan_writer(engine, PLANNER, settings), on_progress=on_progress)
    with engine.connect() as conn:
        return jobs_db.get_job(conn, job_id)


def _plan(engine: Engine, row: dict[str, Any]) -> dict[str, str]:
    with engine.connect() as conn:
        return store.load_assignment(conn, row["plan_id"])


def test_job_writes_the_balancers_answer(plan_engine: Engine, settings: EditSettings, station: str) -> None:
    req = _req(name="job determinism A", station=station, targets=TARGETS, seed=3)
    row = _run(plan_engine, req, settings)
    assert row["status"] == "done" and row["fraction"] == 1.0 and row["error"] is None, row
    got = _plan(plan_engine, row)
    with plan_engine.connect() as conn:
        _, params, problem = jobs.check(conn, req)
        live = read_context(conn, station).base.assignment
    want = Balancer(params).solve(problem)
    assert got == {g: str(z) for g, z in want.assignment.items()}
    res = row["result"]
    assert res["moved"] == sum(1 for g in got if got[g] != live[g]) == want.moved
    assert res["worst"] == pytest.approx(want.worst) and res["withinTolerance"] == want.within_tolerance
    again = _run(plan_engine, _req(name="job determinism B", station=station, targets=TARGETS,
                                                  seed=3), settings)
    assert _plan(plan_engine, again) == got  # the same seed: the same plan
    other = _run(plan_engine, _req(name="job determinism C", station=station, targets=TARGETS,
                                                  seed=4), settings)
    assert other["status"] == "done"


def test_locked_grids_and_move_budget(plan_engine: Engine, settings: EditSettings, station: str) -> None:
    with plan_engine.connect() as conn:
        live = read_context(conn, station).base.assignment
    locked = tuple(sorted(live)[::3])
    row = _run(plan_engine, _req(name="job locked", station=station, targets=TARGETS,
                                                locked=locked, seed=1), settings)
    assert row["status"] == "done", row
    got = _plan(plan_engine, row)
    assert all(got[g] == live[g] for g in locked)
    row = _run(plan_engine, _req(name="job budget", station=station, targets=TARGETS,
                                                max_moves=2, seed=1), settings)
    got = _plan(plan_engine, row)
    assert row["status"] == "done" and sum(got[g] != live[g] for g in live) <= 2
    assert row["result"]["moved"] <= 2


def test_fewest_moves(plan_engine: Engine, settings: EditSettings, station: str) -> None:
    free = _run(plan_engine, _req(name="job free", station=station, targets=TARGETS, seed=2),
                settings)
    few = _run(plan_engine, _req(name="job fewest", station=station, targets=TARGETS, seed=2,
                                                fewest_moves=True), settings)
    assert few["status"] == free["status"] == "done"
    if few["result"]["withinTolerance"]:
        assert few["result"]["moved"] <= free["result"]["moved"]
    assert all(w <= 0.25 + 1e-9 for w in few["result"]["worst"].values()) == few["result"]["withinTolerance"]


def test_more_and_fewer_zones(plan_engine: Engine, settings: EditSettings, station: str) -> None:
    with plan_engine.connect() as conn:
        live = read_context(conn, station).base.assignment
    today = sorted(set(live.values()))
    more = _run(plan_engine, _req(name="job more zones", station=station, targets=TARGETS,
                                                 districts=len(today) + 1, seed=1), settings)
    assert more["status"] == "done", more
    with plan_engine.connect() as conn:
        zones = store.zone_stations(conn, more["plan_id"])
        got = store.load_assignment(conn, more["plan_id"])
    (new,) = set(zones) - set(today)
    assert zones[new] == station and new.startswith(f"{station}Z") and new in got.values()
    assert set(got.values()) == set(today) | {new}
    fewer = _run(plan_engine, _req(name="job fewer zones", station=station, targets=TARGETS,
                                                  districts=len(today) - 1, seed=1), settings)
    assert fewer["status"] == "done", fewer
    with plan_engine.connect() as conn:
        zones = store.zone_stations(conn, fewer["plan_id"])
        got = store.load_assignment(conn, fewer["plan_id"])
    assert len(set(got.values())) == len(today) - 1 and set(zones) == set(got.values())


def test_progress_is_written(plan_engine: Engine, settings: EditSettings, station: str) -> None:
    seen: list[tuple[str, float]] = []
    job: dict[str, int] = {}

    def watch(p: Progress) -> None:
        with plan_engine.connect() as conn:
            if not job:
                job["id"] = conn.exec_driver_sql("SELECT max(id) FROM balance_job").scalar_one()
            row = jobs_db.get_job(conn, job["id"])
        seen.append((row["status"], row["fraction"]))

    jobs.WRITE_EVERY_S, saved = 0.0, jobs.WRITE_EVERY_S
    try:
        row = _run(plan_engine, _req(name="job progress", station=station, targets=TARGETS),
                   settings, on_progress=watch)
    finally:
        jobs.WRITE_EVERY_S = saved
    assert row["status"] == "done" and len(seen) > 3
    assert {s for s, _ in seen} == {"running"}
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and 0 < fractions[-1] < 1 and row["stage"] == "plan"


def test_cancel_stops_and_writes_no_plan(plan_engine: Engine, settings: EditSettings, station: str) -> None:
    calls = []

    def cancel_soon(p: Progress) -> None:
        calls.append(p)
        if len(calls) == 2:
            with plan_engine.begin() as conn:
                last = conn.exec_driver_sql("SELECT max(id) FROM balance_job").scalar_one()
                jobs_db.request_cancel(conn, last)

    with plan_engine.connect() as conn:
        plans_before = conn.exec_driver_sql("SELECT count(*) FROM plan").scalar_one()
    jobs.WRITE_EVERY_S, saved = 0.0, jobs.WRITE_EVERY_S
    try:
        row = _run(plan_engine, _req(name="job cancelled", station=station,
                                                    targets=(("population", 0.01), ("incidents", 0.01))),
                   settings, on_progress=cancel_soon)
    finally:
        jobs.WRITE_EVERY_S = saved
    assert row["status"] == "cancelled" and row["plan_id"] is None and row["cancel_requested"]
    assert len(calls) <= 4  # stopped at the next check
    with plan_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM plan").scalar_one() == plans_before


def test_queued_job_cancelled_never_runs(plan_engine: Engine, settings: EditSettings, station: str) -> None:
    req = _req(name="job never", station=station, targets=TARGETS)
    with plan_engine.begin() as conn:
        job_id = jobs_db.insert_job(conn, actor="t", station=station, params=req.to_json())
        assert jobs_db.request_cancel(conn, job_id)["status"] == "cancelled"
    jobs.run(plan_engine, job_id, req, plan_writer(plan_engine, PLANNER, settings))
    with plan_engine.connect() as conn:
        row = jobs_db.get_job(conn, job_id)
    assert row["status"] == "cancelled" and row["started_at"] is None


def test_background_runner(plan_engine: Engine, settings: EditSettings, station: str) -> None:
    req = _req(name="job background", station=station, targets=TARGETS)
    row = jobs.start(plan_engine, PLANNER, req, plan_writer(plan_engine, PLANNER, settings))
    assert row["status"] in ("queued", "running")
    assert jobs.RUNNER.idle.wait(60)
    with plan_engine.connect() as conn:
        done = jobs_db.get_job(conn, row["id"])
    assert done["status"] == "done" and done["plan_id"] is not None
    assert threading.active_count() >= 1


@pytest.mark.parametrize(("kw", "exc", "match"), [
    ({"locked": ("NOPE",)}, InvalidInput, "NOPE"),
    ({"targets": (("population", 0.0),)}, InvalidInput, "tolerance"),
    ({"targets": (("nope", 0.1),)}, InvalidInput, "unknown measure"),
    ({"districts": 9999}, InvalidInput, "9999 zones asked"),
    ({"max_moves": -1}, InvalidInput, "max_moves"),
    ({"name": "  "}, InvalidInput, "needs a name"),
    ({"name": "job name taken"}, RuleViolation, "already exists"),
])
def test_bad_requests_store_nothing(plan_engine: Engine, settings: EditSettings, station: str,
                                    kw: dict[str, Any], exc: type[Exception], match: str) -> None:
    if match == "already exists":  # a plan of that name, made here (tests may run in any order)
        with plan_engine.begin() as conn:
            if not any(p["name"] == kw["name"] for p in store.list_plans(conn)):
                revision = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM revision").scalar_one()
                store.create_plan(conn, name=kw["name"], description=None,
                                  scope=store.Scope("station", station), actor="t",
                                  base_revision=revision)
    with plan_engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT count(*) FROM balance_job").scalar_one()
    args: dict[str, Any] = {"name": "job refused", "station": station, "targets": TARGETS, **kw}
    with pytest.raises(exc, match=match):
        jobs.start(plan_engine, PLANNER, jobs.BalanceRequest(**args),
                   plan_writer(plan_engine, PLANNER, settings))
    with plan_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM balance_job").scalar_one() == before


def test_lost_and_waiting_jobs(plan_engine: Engine, station: str) -> None:
    """A running job whose process stopped (no heartbeat for STALE_S) reads as failed; a job
    waiting in a live process's queue keeps its heartbeat through the running job's writes."""
    params = _req(name="job lost", station=station).to_json()
    with plan_engine.begin() as conn:
        lost = jobs_db.insert_job(conn, actor="t", station=station, params=params)
        waiting = jobs_db.insert_job(conn, actor="t", station=station, params=params)
        old = f"clock_timestamp() - interval '{int(jobs_db.STALE_S) + 60} seconds'"
        conn.exec_driver_sql(f"UPDATE balance_job SET status = 'running', heartbeat_at = {old} "
                             "WHERE id = %(i)s", {"i": lost})
        conn.exec_driver_sql(f"UPDATE balance_job SET heartbeat_at = {old} WHERE id = %(i)s", {"i": waiting})
        assert jobs_db.get_job(conn, lost)["status"] == "failed"
        assert jobs_db.get_job(conn, lost)["error"]["code"] == "LOST"
        assert jobs_db.get_job(conn, waiting)["status"] == "failed"  # stale too, until touched
        jobs_db.progress(conn, lost, "balance", 0.1, waiting=[waiting])
        assert jobs_db.get_job(conn, waiting)["status"] == "queued"
        assert jobs_db.get_job(conn, lost)["status"] == "running"  # it wrote: alive again
        conn.exec_driver_sql("DELETE FROM balance_job WHERE id = ANY(%(i)s)", {"i": [lost, waiting]})
