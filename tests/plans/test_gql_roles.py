"""Plans through GraphQL alone, with the roles of issue 12: planners create and edit plans but do
not publish; editors and admins publish — here at an effective date, as one scheduled edit;
a station-scoped planner sees and plans only its own station; officers can be planned too."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from jurisgrid.config import EditSettings
from tests.plans.test_publish_scheduled import settle

CREATE = """mutation($n: String!, $k: String!, $c: String) {
  createPlan(name: $n, scope: {kind: $k, code: $c}) {
    __typename ... on PlanSuccess { plan { id status scope { kind code } } }
    ... on EditError { code message } } }"""
PUBLISH = """mutation($id: ID!, $at: DateTime) { publishPlan(id: $id, effectiveFrom: $at) {
  __typename ... on PublishSuccess { scheduledId revision { id } plan { status } }
  ... on EditError { code message } } }"""


def _station_zones(engine: Engine, station: str) -> tuple[str, str, str]:
    with engine.connect() as conn:
        za, zb = conn.exec_driver_sql(
            "SELECT min(z.code), max(z.code) FROM zone z JOIN station s ON s.id = z.station_id "
            "WHERE s.code = %(s)s", {"s": station}).one()
        g = conn.exec_driver_sql("SELECT g.code FROM grid g JOIN zone z ON z.id = g.zone_id "
                                 "WHERE z.code = %(z)s ORDER BY g.code LIMIT 1", {"z": za}).scalar_one()
    return za, zb, g


def test_roles_scope_and_scheduled_publish(plan_engine: Engine, pgql: Any,
                                           plan_tokens: dict[str, str]) -> None:
    own = plan_tokens["scoped_station"]
    za, zb, g = _station_zones(plan_engine, own)
    assert za != zb
    # a station-scoped planner: its own station only
    other = pgql(CREATE, {"n": "scoped other", "k": "county", "c": None}, who="scoped_planner")
    assert other["createPlan"]["__typename"] == "ForbiddenError"
    mine = pgql(CREATE, {"n": "scoped own", "k": "station", "c": own}, who="scoped_planner")
    pid = mine["createPlan"]["plan"]["id"]
    county = pgql(CREATE, {"n": "county wide", "k": "county", "c": None})["createPlan"]["plan"]["id"]
    seen = [p["id"] for p in pgql("{ plans { id } }", who="scoped_planner")["plans"]]
    assert pid in seen and county not in seen
    assert pgql(CREATE, {"n": "viewer", "k": "county", "c": None}, who="viewer")[
        "createPlan"]["__typename"] == "ForbiddenError"

    edit = pgql("""mutation($p: ID!, $a: JSON!) { assignPlanGrids(plan: $p, assignment: $a) {
                  __typename } }""", {"p": pid, "a": {g: zb}}, who="scoped_planner")
    assert edit["assignPlanGrids"]["__typename"] == "PlanEditSuccess"
    # officers are planned too: a community officer for zone B, in the plan only
    with plan_engine.connect() as conn:
        person = conn.exec_driver_sql("SELECT code FROM person ORDER BY code LIMIT 1").scalar_one()
    officer = pgql("""mutation($p: String!, $st: String!, $z: String!, $o: EditOptions) {
      createAssignment(person: $p, role: "community_officer", station: $st, zone: $z, options: $o) {
        __typename ... on EditError { message } } }""",
                   {"p": person, "st": own, "z": zb, "o": {"plan": pid}}, who="scoped_planner")
    assert officer["createAssignment"]["__typename"] == "EditSuccess", officer
    officers = """query($z: String!, $p: ID) { zone(code: $z, plan: $p) {
                  officers { person { code } } stats { communityOfficers } } }"""
    planned = pgql(officers, {"z": zb, "p": pid})["zone"]
    live = pgql(officers, {"z": zb})["zone"]
    assert person in [o["person"]["code"] for o in planned["officers"]]
    assert planned["stats"]["communityOfficers"] == live["stats"]["communityOfficers"] + (
        0 if person in [o["person"]["code"] for o in live["officers"]] else 1)

    # planners do not publish; an editor publishes at an effective date: one scheduled edit
    at = datetime.now(UTC) + timedelta(seconds=2)
    refused = pgql(PUBLISH, {"id": pid, "at": at.isoformat()}, who="planner")["publishPlan"]
    assert refused["__typename"] == "ForbiddenError"
    done = pgql(PUBLISH, {"id": pid, "at": at.isoformat()}, who="editor")["publishPlan"]
    assert done["__typename"] == "PublishSuccess", done
    assert done["revision"] is None and done["scheduledId"] and done["plan"]["status"] == "scheduled"
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 0.05)
    settle(plan_engine, EditSettings(), int(done["scheduledId"]))
    status = pgql("query($p: ID!) { plan(id: $p) { status publishedRevision } }", {"p": pid})
    assert status["plan"]["status"] == "published" and status["plan"]["publishedRevision"]
    after = pgql("query($g: String!) { grid(code: $g) { zone { code officers { person { code } } } } }",
                 {"g": g})["grid"]["zone"]
    assert after["code"] == zb and person in [o["person"]["code"] for o in after["officers"]]
