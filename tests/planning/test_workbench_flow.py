"""The planners' workbench end to end through GraphQL alone (issue 12, "done when"): a planner
branches a plan for a station, moves grids into it, reads its per-zone figures, asks for a
balanced alternative, compares both with the live state, and the balanced one is published with
an effective date as one scheduled edit (then called off, leaving the test database as it was)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine

from jurisgrid.auth.tokens import issue_token
from jurisgrid.planning import jobs
from tests.planning.helpers import border_moves


def _gql(client: Any, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    res = client.post("/graphql", json={"query": query, "variables": variables or {}},
                      headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    assert "errors" not in body, body
    return dict(body["data"])


def test_branch_move_measure_balance_compare_publish(plans_client: Any, plan_engine: Engine) -> None:
    with plan_engine.begin() as conn:
        station = conn.exec_driver_sql(
            "SELECT st.code FROM station st JOIN zone z ON z.station_id = st.id "
            "JOIN grid g ON g.zone_id = z.id GROUP BY st.code "
            "HAVING count(DISTINCT z.id) >= 3 AND count(*) >= 12 "
            "ORDER BY count(*), st.code LIMIT 1").scalar_one()
        planner = issue_token(conn, role="planner", station_code=station, label="flow").secret
        admin = issue_token(conn, role="admin", label="flow-admin").secret
        moves = border_moves(conn, station)

    made = _gql(plans_client, planner, """mutation($st: String) { createPlan(name: "flow draft",
        scope: {kind: "station", code: $st}) { __typename ... on PlanSuccess { plan { id } } } }""",
                {"st": station})["createPlan"]
    draft = made["plan"]["id"]
    moved = _gql(plans_client, planner, """mutation($p: ID!, $a: JSON!) { assignPlanGrids(plan: $p,
        assignment: $a, reason: "try") { __typename } }""", {"p": draft, "a": moves})["assignPlanGrids"]
    assert moved["__typename"] == "PlanEditSuccess", moved

    m = _gql(plans_client, planner, """query($p: ID) { planMetrics(plan: $p) { station
        moves { grids gridCodes }
        zones { zone population workload zoneClass recommendedOfficers officerGap pieces } } }""",
             {"p": draft})["planMetrics"]
    assert m["station"] == station and sorted(m["moves"]["gridCodes"]) == sorted(moves)

    job = _gql(plans_client, planner, """mutation { startBalancing(input: {name: "flow balanced",
        targets: [{measure: POPULATION, tolerance: 0.25}, {measure: INCIDENTS, tolerance: 0.25}]}) { id } }"""
               )["startBalancing"]
    assert jobs.RUNNER.idle.wait(120)
    for _ in range(50):
        state = _gql(plans_client, planner, "query($id: ID!) { balanceJob(id: $id) { status plan answer "
                     "{ moved withinTolerance } } }", {"id": job["id"]})["balanceJob"]
        if state["status"] == "done":
            break
        time.sleep(0.1)
    assert state["status"] == "done" and state["plan"], state
    balanced = state["plan"]

    c = _gql(plans_client, planner, """query($p: [ID!]) { comparePlans(plans: $p) {
        plans { plan moves { grids } } changedGrids { grid zones } } }""",
             {"p": [draft, balanced]})["comparePlans"]
    assert [p["plan"] for p in c["plans"]] == ["live", draft, balanced]
    assert [p["moves"]["grids"] for p in c["plans"]] == [0, 2, state["answer"]["moved"]]
    assert set(moves) <= {g["grid"] for g in c["changedGrids"]}

    pub = _gql(plans_client, admin, """mutation($p: ID!) { publishPlan(id: $p, reason: "flow",
        effectiveFrom: "2099-01-01T00:00:00+08:00") { __typename
        ... on PublishSuccess { scheduledId revision { id } } } }""",
               {"p": balanced})["publishPlan"]
    assert pub["__typename"] == "PublishSuccess" and pub["scheduledId"] and pub["revision"] is None, pub
    off = _gql(plans_client, admin, """mutation($i: Int!) { cancelScheduledEdit(id: $i, reason: "flow test") {
        __typename } }""", {"i": pub["scheduledId"]})["cancelScheduledEdit"]
    assert off["__typename"] == "CancelSuccess", off
