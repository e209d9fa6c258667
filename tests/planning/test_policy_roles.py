"""Planners may edit the sizing policy (issue 12 item 6); viewers, editors and station-scoped
planners may not, and a refusal writes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from tests.auth.conftest import MakeToken

UPDATE = """mutation($c: JSON!, $r: String) { updateSizingPolicy(changes: $c, reason: $r) {
  version actor document } }"""


def _post(client: Any, variables: dict[str, Any], token: str) -> dict[str, Any]:
    res = client.post("/graphql", json={"query": UPDATE, "variables": variables},
                      headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 200, res.text
    out: dict[str, Any] = res.json()
    return out


def _versions(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM sizing_policy").scalar_one())


def test_planner_edits_the_policy(client: Any, engine: Engine, make_token: MakeToken) -> None:
    planner = make_token("planner", None, "policy planner")
    before = client.post("/graphql", json={"query": "{ sizingPolicy { version document } }"}).json()
    old = before["data"]["sizingPolicy"]
    n0 = _versions(engine)
    got = _post(client, {"c": {"workload_per_officer": old["document"]["workload_per_officer"] + 1},
                         "r": "planner tries"}, planner.secret)
    try:
        assert "errors" not in got, got
        new = got["data"]["updateSizingPolicy"]
        assert new["version"] == old["version"] + 1 and new["actor"] == f"policy planner#{planner.id}"
        assert new["document"]["workload_per_officer"] == old["document"]["workload_per_officer"] + 1
        assert _versions(engine) == n0 + 1
    finally:
        _post(client, {"c": old["document"], "r": "planner tests: back"}, planner.secret)


def test_others_are_refused_and_nothing_is_written(client: Any, engine: Engine,
                                                   make_token: MakeToken) -> None:
    with engine.connect() as conn:
        station = conn.exec_driver_sql("SELECT code FROM station ORDER BY code LIMIT 1").scalar_one()
    n0 = _versions(engine)
    for role, scope in (("viewer", None), ("editor", None), ("planner", station)):
        t = make_token(role, scope, f"policy {role}")
        got = _post(client, {"c": {"workload_per_officer": 1}}, t.secret)
        assert got["data"] is None and got["errors"][0]["extensions"]["code"] == "FORBIDDEN", (role, got)
        if scope:
            assert "county-wide token" in got["errors"][0]["message"]
    assert _versions(engine) == n0
