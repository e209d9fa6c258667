"""Every edit mutation can write into a plan (``options: {plan}``): the live data is not
touched, the plan's own history grows, and a dry run in a plan sees the plan's earlier edits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from tests.editing.helpers import fingerprint

REASSIGN = """mutation($g: [String!]!, $z: String!, $o: EditOptions) {
  reassignGrids(grids: $g, toZone: $z, options: $o) {
    __typename ... on EditSuccess { revision { id } dryRun impact { grids warnings { code } } }
    ... on EditError { code message } } }"""
CREATE_ZONE = """mutation($c: String!, $st: String!, $o: EditOptions) {
  createZone(code: $c, name: "plan zone", station: $st, options: $o) {
    __typename ... on EditSuccess { revision { id } } ... on EditError { code message } } }"""
RETIRE_ZONE = """mutation($c: String!, $o: EditOptions) { retireZone(code: $c, options: $o) {
    __typename ... on EditError { code message } } }"""
ZONES = """query($st: String!, $p: ID) { zones(station: $st, plan: $p, first: 100) {
  edges { node { code grids { code } } } } }"""


def _zones(pgql: Any, st: str, plan: str | None = None) -> dict[str, list[str]]:
    data = pgql(ZONES, {"st": st, "p": plan})
    return {e["node"]["code"]: [g["code"] for g in e["node"]["grids"]]
            for e in data["zones"]["edges"]}


def test_edit_mutations_into_a_plan(plan_engine: Engine, pgql: Any) -> None:
    with plan_engine.connect() as conn:
        st, za, zb = conn.exec_driver_sql(
            "SELECT s.code, min(z.code), max(z.code) FROM station s JOIN zone z ON z.station_id = s.id "
            "GROUP BY s.code HAVING count(*) >= 2 ORDER BY s.code OFFSET 4 LIMIT 1").one()
        free = next(f"{st}Z{n:02d}" for n in range(99, 0, -1) if conn.exec_driver_sql(
            "SELECT 1 FROM zone WHERE code = %(c)s", {"c": f"{st}Z{n:02d}"}).first() is None)
    live_zones = _zones(pgql, st)
    g1 = live_zones[za][0]
    live = fingerprint(plan_engine)
    pid = pgql("""mutation($st: String) { createPlan(name: "options", scope: {kind: "station",
               code: $st}) { ... on PlanSuccess { plan { id } } } }""", {"st": st}
               )["createPlan"]["plan"]["id"]

    out = pgql(REASSIGN, {"g": [g1], "z": zb, "o": {"plan": pid, "reason": "in the plan"}})
    assert out["reassignGrids"]["__typename"] == "EditSuccess"
    assert out["reassignGrids"]["revision"] is None and out["reassignGrids"]["impact"]["grids"] == [g1]
    # cumulative: a dry run of the same move in the plan changes nothing there; live it would
    again = pgql(REASSIGN, {"g": [g1], "z": zb, "o": {"plan": pid, "dryRun": True}})["reassignGrids"]
    assert "NO_CHANGE" in [w["code"] for w in again["impact"]["warnings"]]
    live_dry = pgql(REASSIGN, {"g": [g1], "z": zb, "o": {"dryRun": True}})["reassignGrids"]
    assert "NO_CHANGE" not in [w["code"] for w in live_dry["impact"]["warnings"]]

    # a new zone, a grid moved into it, the emptied zone retired — all in the plan
    assert pgql(CREATE_ZONE, {"c": free, "st": st, "o": {"plan": pid}})["createZone"][
        "__typename"] == "EditSuccess"
    moved = pgql(REASSIGN, {"g": [g1], "z": free, "o": {"plan": pid}})["reassignGrids"]
    assert moved["__typename"] == "EditSuccess", moved
    planned = _zones(pgql, st, pid)
    assert planned[free] == [g1] and g1 not in planned[za] and g1 not in planned[zb]
    if live_zones[za] == [g1]:   # za is empty in the plan now: it can be retired there
        assert pgql(RETIRE_ZONE, {"c": za, "o": {"plan": pid}})["retireZone"]["__typename"] \
            == "EditSuccess"
        assert za not in _zones(pgql, st, pid)
    history = pgql("query($p: ID!) { plan(id: $p) { edits { operation } } }", {"p": pid})
    assert [e["operation"] for e in history["plan"]["edits"]][:4] == [
        "createPlan", "reassignGrids", "createZone", "reassignGrids"]
    assert _zones(pgql, st) == live_zones and fingerprint(plan_engine) == live

    # refused, nothing stored: effectiveFrom in a plan, an unknown plan, a viewer
    bad = pgql(REASSIGN, {"g": [g1], "z": za, "o": {"plan": pid,
                                                   "effectiveFrom": "2099-01-01T00:00:00Z"}})
    assert bad["reassignGrids"]["__typename"] == "ValidationError"
    unknown = pgql(REASSIGN, {"g": [g1], "z": za, "o": {"plan": "999999"}})
    assert unknown["reassignGrids"]["__typename"] == "NotFound"
    viewer = pgql(REASSIGN, {"g": [g1], "z": za, "o": {"plan": pid}}, who="viewer")
    assert viewer["reassignGrids"]["__typename"] == "ForbiddenError"
    assert _zones(pgql, st, pid) == planned or za not in _zones(pgql, st, pid)
