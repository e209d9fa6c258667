"""startBalancing / balanceJob / balanceJobs / cancelBalancing over GraphQL, in the plans tests'
database: a planner asks, follows the job to its plan and reads that plan's metrics; viewers and
other stations are refused; bad input stores nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import Engine

from jurisgrid.auth.tokens import issue_token
from jurisgrid.planning import jobs
from tests.planning.helpers import post

START = """mutation($s: String, $in: BalancingInput!) { startBalancing(station: $s, input: $in) {
  id status station actor request } }"""
JOB = """query($id: ID!) { balanceJob(id: $id) { id status stage progress plan error { code message }
  answer { withinTolerance moved stationChanges contiguous stopped
           worst { measure worst } limits { kind message grids impossible } } } }"""
METRICS = "query($p: ID) { planMetrics(plan: $p) { plan moves { grids } measures { measure worst } } }"


@pytest.fixture(scope="module")
def world(plan_engine: Engine) -> dict[str, Any]:
    with plan_engine.begin() as conn:
        station, other = conn.exec_driver_sql(
            "SELECT st.code FROM station st JOIN zone z ON z.station_id = st.id "
            "JOIN grid g ON g.zone_id = z.id GROUP BY st.code "
            "HAVING count(DISTINCT z.id) >= 3 AND count(*) >= 12 ORDER BY count(*), st.code LIMIT 2"
        ).scalars().all()
        tokens = {
            "planner": issue_token(conn, role="planner", station_code=station, label="bal").secret,
            "other": issue_token(conn, role="planner", station_code=other, label="bal-other").secret,
            "viewer": issue_token(conn, role="viewer", label="bal-viewer").secret,
            "admin": issue_token(conn, role="admin", label="bal-admin").secret,
        }
    return {"station": station, "other": other, "tokens": tokens}


def _wait(client: Any, job_id: str, token: str) -> dict[str, Any]:
    assert jobs.RUNNER.idle.wait(120)
    for _ in range(50):
        got = post(client, JOB, {"id": job_id}, token)["data"]["balanceJob"]
        if got["status"] not in ("queued", "running"):
            return dict(got)
        time.sleep(0.1)
    raise AssertionError("job did not finish")


def test_planner_balances_and_reads_the_plan(plans_client: Any, world: dict[str, Any]) -> None:
    t = world["tokens"]["planner"]
    inp = {"name": "gql balanced", "targets": [{"measure": "POPULATION", "tolerance": 0.2},
                                               {"measure": "INCIDENTS", "tolerance": 0.2}], "seed": 5}
    got = post(plans_client, START, {"in": inp}, t)
    assert "errors" not in got, got
    job = got["data"]["startBalancing"]
    assert job["status"] in ("queued", "running") and job["station"] == world["station"]
    assert job["request"]["seed"] == 5 and job["actor"].startswith("bal#")
    done = _wait(plans_client, job["id"], t)
    assert done["status"] == "done" and done["progress"] == 1 and done["plan"] is not None, done
    a = done["answer"]
    m = post(plans_client, METRICS, {"p": done["plan"]}, t)["data"]["planMetrics"]
    assert m["moves"]["grids"] == a["moved"] and a["stationChanges"] == 0
    worst = {w["measure"]: w["worst"] for w in a["worst"]}
    metric_worst = {x["measure"]: x["worst"] for x in m["measures"]}
    assert metric_worst["population"] == pytest.approx(worst["population"])
    assert a["withinTolerance"] == all(w <= 0.2 + 1e-9 for w in worst.values())
    if not a["withinTolerance"]:
        assert a["limits"]  # it says what limits the balance
    listed = post(plans_client, "{ balanceJobs { id station } }", {}, t)["data"]["balanceJobs"]
    assert job["id"] in [j["id"] for j in listed] and {j["station"] for j in listed} == {world["station"]}
    # the other station's planner neither sees nor cancels it; an admin may cancel (a done job stays done)
    other = world["tokens"]["other"]
    cancel = "mutation($id: ID!) { cancelBalancing(id: $id) { status } }"
    for q in (JOB, cancel):
        refused = post(plans_client, q, {"id": job["id"]}, other)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    got = post(plans_client, cancel, {"id": job["id"]}, world["tokens"]["admin"])
    assert got["data"]["cancelBalancing"]["status"] == "done"


def test_refused(plans_client: Any, world: dict[str, Any], plan_engine: Engine) -> None:
    inp = {"name": "gql refused", "targets": [{"measure": "POPULATION", "tolerance": 0.1}]}
    with plan_engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT count(*) FROM balance_job").scalar_one()
    viewer = post(plans_client, START, {"in": inp}, world["tokens"]["viewer"])
    assert viewer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    elsewhere = post(plans_client, START, {"in": inp, "s": world["other"]}, world["tokens"]["planner"])
    assert elsewhere["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = post(plans_client, START, {"in": {**inp, "lockedGrids": ["NOPE"]}}, world["tokens"]["planner"])
    err = bad["errors"][0]
    assert err["extensions"]["code"] == "BAD_USER_INPUT" and "NOPE" in err["message"]
    too_wide = [{"measure": "POPULATION", "tolerance": 2}]
    bad = post(plans_client, START, {"in": {**inp, "targets": too_wide}}, world["tokens"]["planner"])
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    with plan_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM balance_job").scalar_one() == before
    missing = post(plans_client, JOB, {"id": "999999"}, world["tokens"]["planner"])
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
