"""Reads take a plan (models/plan_source.py): lists, lookups, relations, geometry and
``responsibleFor`` answer as if the plan were live — checked against an independent Shapely
recomputation from the live grids and the plan's moves — and live answers do not change."""

from __future__ import annotations

import json
from typing import Any

import shapely
from shapely.geometry import shape
from sqlalchemy import Engine

from tests.editing.helpers import m2

ZONES = """query($st: String!, $plan: ID) {
  zones(station: $st, plan: $plan, first: 100) { edges { node {
    code geometry grids { code } station { code } } } } }"""
WHO = """query($lon: Float!, $lat: Float!, $plan: ID) {
  responsibleFor(lon: $lon, lat: $lat, plan: $plan) { grid { code } zone { code grids { code } }
  station { code } } }"""


def _live(engine: Engine, station: str) -> tuple[dict[str, str], dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT g.code, z.code, ST_AsGeoJSON(g.geom, 15) FROM grid g JOIN zone z ON z.id = g.zone_id "
            "JOIN station s ON s.id = z.station_id WHERE s.code = %(s)s", {"s": station}).all()
    return {g: z for g, z, _ in rows}, {g: shape(json.loads(w)) for g, _, w in rows}


def _zones(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["node"]["code"]: e["node"] for e in data["zones"]["edges"]}


def test_plan_reads_as_if_live(plan_engine: Engine, pgql: Any) -> None:
    with plan_engine.connect() as conn:
        st, za, zb = conn.exec_driver_sql(
            "SELECT s.code, min(z.code), max(z.code) FROM station s JOIN zone z ON z.station_id = s.id "
            "GROUP BY s.code HAVING count(*) >= 2 ORDER BY s.code OFFSET 3 LIMIT 1").one()
    zone_of, geoms = _live(plan_engine, st)
    moved = sorted(g for g, z in zone_of.items() if z == za)[:2]
    live_before = pgql(ZONES, {"st": st})
    pid = pgql("""mutation($n: String!, $st: String) { createPlan(name: $n, scope: {kind: "station",
               code: $st}) { ... on PlanSuccess { plan { id status baseKind } } } }""",
               {"n": "reads", "st": st})["createPlan"]["plan"]["id"]
    out = pgql("""mutation($p: ID!, $a: JSON!) { assignPlanGrids(plan: $p, assignment: $a) {
                 __typename ... on PlanEditSuccess { editId impact { grids zones } overlay } } }""",
               {"p": pid, "a": {g: zb for g in moved}})["assignPlanGrids"]
    assert out["__typename"] == "PlanEditSuccess" and out["impact"]["grids"] == moved

    # the oracle: the live assignment with the plan's moves, zone outlines as Shapely unions
    expect = {g: (zb if g in moved else z) for g, z in zone_of.items()}
    got = _zones(pgql(ZONES, {"st": st, "plan": pid}))
    assert {z: sorted(g["code"] for g in n["grids"]) for z, n in got.items()} == {
        z: sorted(g for g, zz in expect.items() if zz == z) for z in set(expect.values())} | {
        z: [] for z in got if z not in set(expect.values())}
    for z, node in got.items():
        union = shapely.union_all([geoms[g] for g, zz in expect.items() if zz == z])
        outline = shape(node["geometry"]) if node["geometry"] else shapely.Polygon()
        assert m2(shapely.symmetric_difference(union, outline)) < 0.05, z
        assert node["station"]["code"] == st
    # responsibleFor at a point inside a moved grid: the plan's zone, live: the live zone
    p = geoms[moved[0]].representative_point()
    planned = pgql(WHO, {"lon": p.x, "lat": p.y, "plan": pid})["responsibleFor"]
    live = pgql(WHO, {"lon": p.x, "lat": p.y})["responsibleFor"]
    assert planned["grid"]["code"] == live["grid"]["code"] == moved[0]
    assert planned["zone"]["code"] == zb and live["zone"]["code"] == za
    assert moved[0] in [g["code"] for g in planned["zone"]["grids"]]
    # the lookup by code, and live data untouched
    one = pgql("query($c: String!, $p: ID) { grid(code: $c, plan: $p) { zone { code } } }",
               {"c": moved[0], "p": pid})
    assert one["grid"]["zone"]["code"] == zb
    assert pgql(ZONES, {"st": st}) == live_before


def test_plan_argument_refusals(plan_engine: Engine, pgql: Any) -> None:
    q = "query($p: ID) { zones(plan: $p, first: 1) { edges { node { code } } } }"
    assert "must be a plan's id" in (_raw(pgql, q, {"p": "x"}) or "")
    assert "must be a plan's id" in (_raw(pgql, q, {"p": "0"}) or "")
    assert "unknown plan 999999" in (_raw(pgql, q, {"p": "999999"}) or "")
    both = _raw(pgql, 'query { grids(plan: "1", asOf: "2020-01-01T00:00:00Z", first: 1) '
                      "{ edges { node { code } } } }", {})
    assert "cannot be combined" in (both or "")
    assert pgql('query { plan(id: "999999") { id } }')["plan"] is None


def _raw(pgql: Any, query: str, variables: dict[str, Any]) -> str | None:
    """The first error's message (pgql asserts there is none, so catch that)."""
    try:
        pgql(query, variables)
    except AssertionError as exc:
        return str(exc)
    return None


STATS = """query($st: String!, $plan: ID) {
  zones(station: $st, plan: $plan, first: 100) { edges { node {
    code stats { grids population households incidents { total } } sizing { workload } } } } }"""


def test_stats_and_sizing_under_a_plan(plan_engine: Engine, pgql: Any) -> None:
    import pandas as pd

    with plan_engine.connect() as conn:
        st, za, zb = conn.exec_driver_sql(
            "SELECT s.code, min(z.code), max(z.code) FROM station s JOIN zone z ON z.station_id = s.id "
            "GROUP BY s.code HAVING count(*) >= 2 ORDER BY s.code OFFSET 5 LIMIT 1").one()
        points = pd.DataFrame(conn.exec_driver_sql(
            "SELECT g.code, p.population, p.households FROM address_point p JOIN grid g "
            "ON g.id = p.grid_id").all(), columns=["grid", "population", "households"])
        incidents = pd.DataFrame(conn.exec_driver_sql(
            "SELECT g.code FROM incident i JOIN grid g ON g.id = i.grid_id").all(), columns=["grid"])
    zone_of, _ = _live(plan_engine, st)
    moved = sorted(g for g, z in zone_of.items() if z == za)[:2]
    pid = pgql("""mutation($n: String!, $st: String) { createPlan(name: $n, scope: {kind: "station",
               code: $st}) { ... on PlanSuccess { plan { id } } } }""",
               {"n": "stats", "st": st})["createPlan"]["plan"]["id"]
    pgql("""mutation($p: ID!, $a: JSON!) { assignPlanGrids(plan: $p, assignment: $a) {
            __typename } }""", {"p": pid, "a": {g: zb for g in moved}})
    expect = pd.Series({g: (zb if g in moved else z) for g, z in zone_of.items()}, name="zone")
    pop = points.join(expect, on="grid", how="inner").groupby("zone")[["population", "households"]].sum()
    inc = incidents.join(expect, on="grid", how="inner").groupby("zone").size()
    got = _zones(pgql(STATS, {"st": st, "plan": pid}))
    live = _zones(pgql(STATS, {"st": st}))
    for z, node in got.items():
        s = node["stats"]
        assert s["grids"] == int((expect == z).sum()), z
        assert s["population"] == int(pop["population"].get(z, 0)), z
        assert s["households"] == int(pop["households"].get(z, 0)), z
        assert s["incidents"]["total"] == int(inc.get(z, 0)), z
    assert got[zb]["stats"]["population"] >= live[zb]["stats"]["population"]
    assert got[za]["sizing"]["workload"] <= live[za]["sizing"]["workload"]
    assert sum(n["stats"]["population"] for n in got.values()) == sum(
        n["stats"]["population"] for n in live.values())

    # the scope reports take the plan as well, and agree with the same oracle
    rep = pgql("""query($st: String!, $p: ID) {
      sizingReport(scope: STATION, code: $st, plan: $p) { zones { zone population households } }
      balance(scope: STATION, code: $st, measure: POPULATION, plan: $p) { values { zone value } }
      compliance(station: $st, plan: $p) { breaches { level code } }
      analysisCells(kind: SQUARE, sizeM: 1000, station: $st, plan: $p) { cells { population } } }""",
               {"st": st, "p": pid})
    want = {z: int(pop["population"].get(z, 0)) for z in got}
    assert {r["zone"]: r["population"] for r in rep["sizingReport"]["zones"]} == want
    assert {v["zone"]: int(v["value"]) for v in rep["balance"]["values"]} == want
    assert {b["code"] for b in rep["compliance"]["breaches"] if b["level"] == "zone"} <= set(got)
    assert sum(c["population"] for c in rep["analysisCells"]["cells"]) == sum(want.values())
    assert [r["zone"] for r in pgql("""query($st: String!) { sizingReport(scope: STATION,
        code: $st) { zones { zone } } }""", {"st": st})["sizingReport"]["zones"]] == sorted(live)
