"""``planMetrics`` and ``comparePlans`` over GraphQL on the small test county: the same figures as
planning/compare (checked against pandas in test_compare), station scopes of tokens, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text

from jurisgrid.planning.compare import evaluate, with_moves
from jurisgrid.planning.source import read_context
from tests.auth.conftest import MakeToken
from tests.planning.helpers import post

ZONE = ("zone name station grids population households incidents workload zoneClass recommendedOfficers "
        "assignedOfficers officerGap pieces polsbyPopper reock convexHull seatDistanceMeanM "
        "incidentsByCategory { category count } deviation { population incidents workload }")
PLAN = (f"plan name station policyVersion since until contiguous polsbyPopperMean zones {{ {ZONE} }} "
        "measures { measure ideal worst worstZone cv range } splitVillages { village zones } "
        "moves { grids gridCodes population stationChanges } rules { rule passed breaches } "
        "breaches { rule code } seatDistanceMeanM seatDistanceMaxM")
METRICS = f"query($s: String, $m: [GridMoveInput!]) {{ planMetrics(station: $s, moves: $m) {{ {PLAN} }} }}"
COMPARE = ("query($s: String, $w: [[GridMoveInput!]!]) { comparePlans(station: $s, whatIfs: $w) { "
           "plans { plan name moves { grids } measures { measure worst } } zones "
           "changedGrids { grid zones } csv } }")


@pytest.fixture(scope="module")
def station(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text(
            "SELECT st.code FROM station st JOIN zone z ON z.station_id = st.id "
            "GROUP BY st.code HAVING count(*) >= 3 ORDER BY st.code LIMIT 1")).scalar_one())


def _a_move(engine: Engine, station: str) -> dict[str, str]:
    with engine.connect() as conn:
        ctx = read_context(conn, station)
    live = ctx.base.assignment
    for i, j in ctx.adjacency.edges.tolist():
        a, b = ctx.units.codes[i], ctx.units.codes[j]
        if live[a] != live[b]:
            return {"grid": a, "toZone": live[b]}
    raise AssertionError("no border")


def test_plan_metrics_live_and_what_if(client: Any, engine: Engine, station: str) -> None:
    move = _a_move(engine, station)
    got = post(client, METRICS, {"s": station, "m": [move]})
    assert "errors" not in got, got
    pm = got["data"]["planMetrics"]
    with engine.connect() as conn:
        ctx = read_context(conn, station)
    want = evaluate(ctx, with_moves(ctx.base, {move["grid"]: move["toZone"]}))
    assert pm["plan"] == "what-if" and pm["station"] == station and pm["policyVersion"] == ctx.policy_version
    assert pm["moves"] == {"grids": 1, "gridCodes": [move["grid"]],
                           "population": want.metrics.moves.moved["population"],  # type: ignore[union-attr]
                           "stationChanges": 0}
    assert [z["zone"] for z in pm["zones"]] == sorted(ctx.base.zones)
    for z in pm["zones"]:
        d, s, _ = want.zone(z["zone"])
        assert z["population"] == d.totals["population"] and z["pieces"] == d.pieces
        assert z["zoneClass"] == s.sizing.zone_class and z["officerGap"] == s.officer_gap
        assert z["polsbyPopper"] == pytest.approx(d.polsby_popper)
        assert sum(c["count"] for c in z["incidentsByCategory"]) == z["incidents"]
    worst = {m["measure"]: m["worst"] for m in pm["measures"]}
    assert worst["population"] == pytest.approx(want.metrics.measures["population"].worst)
    assert {r["rule"] for r in pm["rules"]} >= {"CONTIGUITY", "STATION_BOUNDARIES", "OFFICE_UNDERSTAFFED"}
    live = post(client, METRICS, {"s": station})["data"]["planMetrics"]
    assert live["plan"] == "live" and live["moves"]["grids"] == 0


def test_compare_plans(client: Any, engine: Engine, station: str) -> None:
    move = _a_move(engine, station)
    got = post(client, COMPARE, {"s": station, "w": [[move], []]})
    assert "errors" not in got, got
    c = got["data"]["comparePlans"]
    assert [p["plan"] for p in c["plans"]] == ["live", "what-if-1", "what-if-2"]
    assert [p["moves"]["grids"] for p in c["plans"]] == [0, 1, 0]
    (changed,) = c["changedGrids"]
    today = changed["zones"][0]
    assert changed == {"grid": move["grid"], "zones": [today, move["toZone"], today]}
    lines = c["csv"].splitlines()
    assert lines[0].startswith("plan,zone,") and len(lines) == 1 + 3 * len(c["zones"]) + 3


def test_station_scoped_token_sees_its_station(client: Any, make_token: MakeToken, station: str,
                                               engine: Engine) -> None:
    t = make_token("planner", station, "planner")
    got = post(client, "{ planMetrics { station zones { station } } }", {}, t.secret)
    assert got["data"]["planMetrics"]["station"] == station
    assert {z["station"] for z in got["data"]["planMetrics"]["zones"]} == {station}
    with engine.connect() as conn:
        other = conn.execute(text("SELECT code FROM station WHERE code <> :s ORDER BY code LIMIT 1"),
                             {"s": station}).scalar_one()
    refused = post(client, METRICS, {"s": other}, t.secret)
    assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(("moves", "code", "match"), [
    ([{"grid": "NOPE", "toZone": "X"}], "BAD_USER_INPUT", "not in the scope"),
    ("zone", "BAD_USER_INPUT", "not in the scope"),
    ("twice", "BAD_USER_INPUT", "twice"),
])
def test_bad_what_if(client: Any, engine: Engine, station: str, moves: Any, code: str, match: str) -> None:
    move = _a_move(engine, station)
    if moves == "zone":
        moves = [{"grid": move["grid"], "toZone": "NOPE"}]
    elif moves == "twice":
        moves = [move, move]
    got = post(client, METRICS, {"s": station, "m": moves})
    assert got["data"] is None
    err = got["errors"][0]
    assert err["extensions"]["code"] == code and match in err["message"]


def test_unknown_station_is_not_found(client: Any) -> None:
    got = post(client, METRICS, {"s": "NO-SUCH"})
    assert got["errors"][0]["extensions"]["code"] == "NOT_FOUND"
