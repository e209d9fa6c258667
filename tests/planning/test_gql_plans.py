"""``planMetrics(plan:)`` and ``comparePlans(plans:)`` on stored plans (models/plans.py), in the
plans tests' database: the figures of a plan are those of its assignment (planning/compare,
checked against pandas in test_compare); a plan of another station is Forbidden to a scoped token."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from jurisgrid.auth.tokens import issue_token
from jurisgrid.config import EditSettings
from jurisgrid.planning.compare import evaluate, with_moves
from jurisgrid.planning.source import read_context
from tests.planning.helpers import border_moves, post, stored_plan

Q = ("query($p: ID, $s: String) { planMetrics(plan: $p, station: $s) { plan name station "
     "moves { grids gridCodes } measures { measure worst } zones { zone population pieces zoneClass } } }")
C = ("query($p: [ID!], $s: String) { comparePlans(plans: $p, station: $s) { plans { plan name "
     "moves { grids } } changedGrids { grid zones } } }")


@pytest.fixture(scope="module")
def stored(plan_engine: Engine, settings: EditSettings) -> dict[str, Any]:
    """A committed plan of a station moving two border grids to a neighbouring zone."""
    with plan_engine.begin() as conn:
        station = conn.exec_driver_sql(
            "SELECT st.code FROM station st JOIN zone z ON z.station_id = st.id GROUP BY st.code "
            "HAVING count(*) >= 3 ORDER BY st.code LIMIT 1").scalar_one()
        moves = border_moves(conn, station)
        pid = stored_plan(conn, station, "workbench metrics", moves, settings=settings, reason="try")
        other = conn.exec_driver_sql("SELECT code FROM station WHERE code <> %(s)s ORDER BY code LIMIT 1",
                                     {"s": station}).scalar_one()
    return {"id": pid, "station": station, "moves": moves, "other": other}


def test_plan_metrics_of_a_stored_plan(plans_client: Any, plan_engine: Engine,
                                       stored: dict[str, Any]) -> None:
    got = post(plans_client, Q, {"p": str(stored["id"])})
    assert "errors" not in got, got
    pm = got["data"]["planMetrics"]
    assert pm["plan"] == str(stored["id"]) and pm["name"] == "workbench metrics"
    assert pm["station"] == stored["station"]  # the plan's own station by default
    assert sorted(pm["moves"]["gridCodes"]) == sorted(stored["moves"]) and pm["moves"]["grids"] == 2
    with plan_engine.connect() as conn:
        ctx = read_context(conn, stored["station"])
    want = evaluate(ctx, with_moves(ctx.base, stored["moves"]))
    for z in pm["zones"]:
        d, s, _ = want.zone(z["zone"])
        assert (z["population"], z["pieces"], z["zoneClass"]) == (d.totals["population"], d.pieces,
                                                                 s.sizing.zone_class)
    worst = {m["measure"]: m["worst"] for m in pm["measures"]}
    assert worst["incidents"] == pytest.approx(want.metrics.measures["incidents"].worst)


def test_compare_live_and_plan(plans_client: Any, stored: dict[str, Any]) -> None:
    got = post(plans_client, C, {"p": [str(stored["id"])]})
    assert "errors" not in got, got
    c = got["data"]["comparePlans"]
    assert [(p["plan"], p["moves"]["grids"]) for p in c["plans"]] == [("live", 0), (str(stored["id"]), 2)]
    assert {g["grid"]: g["zones"][1] for g in c["changedGrids"]} == stored["moves"]


def test_plan_access(plans_client: Any, plan_engine: Engine, stored: dict[str, Any]) -> None:
    with plan_engine.begin() as conn:
        mine = issue_token(conn, role="planner", station_code=stored["station"], label="own")
        theirs = issue_token(conn, role="planner", station_code=stored["other"], label="other")
    ok = post(plans_client, Q, {"p": str(stored["id"])}, mine.secret)
    assert "errors" not in ok and ok["data"]["planMetrics"]["station"] == stored["station"]
    refused = post(plans_client, Q, {"p": str(stored["id"])}, theirs.secret)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    refused = post(plans_client, C, {"p": [str(stored["id"])]}, theirs.secret)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(("plan", "code"), [("999999", "NOT_FOUND"), ("x", "BAD_USER_INPUT")])
def test_unknown_plan(plans_client: Any, plan: str, code: str) -> None:
    got = post(plans_client, Q, {"p": plan})
    assert got["data"] is None and got["errors"][0]["extensions"]["code"] == code
