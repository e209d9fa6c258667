"""Branching a plan from an instant reproduces the whole state of its scope then (issue 12: "branched
from … an instant"): after instant T a grid is redrawn and an officer reassigned live; a plan
branched from T reads as the ``asOf: T`` reads do — zones, grids and their shapes, personnel —
and its grid figures are those of the old shapes (a Shapely oracle); live data is untouched."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape
from sqlalchemy import Engine

from jurisgrid.config import EditSettings
from jurisgrid.editing.runner import run_edit
from jurisgrid.models import plans as store
from tests.editing.helpers import cut_line, fingerprint, grid_shape, grow_into
from tests.plans.conftest import EDITOR

TOL = 1e-7
_PICK = """
SELECT s.code, a.id, z.code AS zone, p.code AS person,
       (SELECT z2.code FROM zone z2 WHERE z2.station_id = s.id AND z2.id <> z.id
        ORDER BY z2.code LIMIT 1) AS other,
       (SELECT g.code FROM grid g JOIN zone gz ON gz.id = g.zone_id WHERE gz.station_id = s.id
        ORDER BY (SELECT count(*) FROM address_point q WHERE q.grid_id = g.id) DESC, g.code
        LIMIT 1) AS grid
FROM assignment a JOIN zone z ON z.id = a.zone_id JOIN station s ON s.id = a.station_id
JOIN person p ON p.id = a.person_id
WHERE a.valid_to IS NULL AND a.role = 'community_officer'
  AND (SELECT count(*) FROM zone z2 WHERE z2.station_id = s.id) >= 2
ORDER BY s.code DESC, a.id LIMIT 1
"""
STATION = """query($st: String!, $p: ID, $t: DateTime) { station(code: $st, plan: $p, asOf: $t) {
  code name zones { code name kind grids { code name geometry(precision: 9) } }
  personnel { role validTo person { code name } zone { code } grid { code } } } }"""
GRID = """query($c: String!, $p: ID, $t: DateTime) {
  grid(code: $c, plan: $p, asOf: $t) { zone { code } geometry(precision: 15) } }"""
WHO = """query($x: Float!, $y: Float!, $p: ID, $t: DateTime) {
  responsibleFor(lon: $x, lat: $y, plan: $p, asOf: $t) { grid { code } zone { code } } }"""
STATS = """query($c: String!, $p: ID) { grid(code: $c, plan: $p) {
  stats { population households addressCount } } }"""


def _sorted(station: dict[str, Any]) -> dict[str, Any]:
    zones = sorted(({**z, "grids": sorted(z["grids"], key=lambda g: g["code"])}
                    for z in station["zones"]), key=lambda z: z["code"])
    people = sorted(station["personnel"], key=lambda a: json.dumps(a, sort_keys=True))
    return {**station, "zones": zones, "personnel": people}


def _shape(geojson: Any) -> Any:
    return shape(geojson if isinstance(geojson, dict) else json.loads(geojson))


def _oracle(conn: Any, pid: int, codes: list[str]) -> dict[str, dict[str, int]]:
    """Address figures of ``codes`` under the plan: each point in the plan's grid within the rule's
    tolerance with the smallest code (Shapely over every grid of the plan, pandas sums)."""
    rows = conn.exec_driver_sql(f"SELECT code, ST_AsGeoJSON(geom, 15) FROM ({store.overlay_sql('grid')}) g",
                                {"plan": pid}).all()
    gcodes = np.array([c for c, _ in rows])
    tree = shapely.STRtree([shape(json.loads(g)) for _, g in rows])
    ap = pd.DataFrame(conn.exec_driver_sql(
        "SELECT ST_X(geom) AS x, ST_Y(geom) AS y, population, households FROM address_point"
    ).mappings().all())
    pi, gi = tree.query(shapely.points(ap["x"].to_numpy(), ap["y"].to_numpy()),
                        predicate="dwithin", distance=TOL)
    hit = pd.DataFrame({"p": pi, "code": gcodes[gi]}).sort_values(["p", "code"]).drop_duplicates("p")
    ap["code"] = hit.set_index("p")["code"].reindex(range(len(ap))).to_numpy()
    sums = ap.groupby("code").agg(population=("population", "sum"),
                                  households=("households", "sum"), addressCount=("x", "size"))
    return {c: {k: int(v) for k, v in sums.loc[c].items()} if c in sums.index else
            {"population": 0, "households": 0, "addressCount": 0} for c in codes}


def test_branch_from_an_instant_reproduces_it(plan_engine: Engine, pgql: Any,
                                              settings: EditSettings) -> None:
    with plan_engine.connect() as conn:
        st, aid, zone, person, other, grid = conn.exec_driver_sql(_PICK).one()
    # two neighbours of one village (the test county has one grid per village): split it first
    out = run_edit(plan_engine, "splitGrid", {"grid": grid, "line": cut_line(plan_engine, grid)},
                   principal=EDITOR, settings=settings, reason="before the instant")
    half = next(c for c in out.impact.grids if c != grid)
    # an assignment made before the instant that starts just after it: not in force then, in
    # force now (the assignment's own period, beside its versions: editing/restore.py "dated")
    with plan_engine.connect() as conn:
        starts: datetime = conn.exec_driver_sql(
            "SELECT clock_timestamp() + interval '1.5 seconds'").scalar_one()
    run_edit(plan_engine, "createAssignment", {"person": person, "role": "grid_worker", "station": st,
                                               "grid": half, "validFrom": starts.isoformat()},
             principal=EDITOR, settings=settings, reason="starts after the instant")
    with plan_engine.connect() as conn:
        then: datetime = conn.exec_driver_sql("SELECT clock_timestamp()").scalar_one()
    assert then < starts
    old, old_half = grid_shape(plan_engine, grid), grid_shape(plan_engine, half)
    # after the instant: the grid grows into its neighbour, the officer moves to another zone
    run_edit(plan_engine, "redrawGrid", {"grid": grid, "geometry": grow_into(plan_engine, grid, half)},
             principal=EDITOR, settings=settings, reason="after the instant")
    run_edit(plan_engine, "updateAssignment", {"id": aid, "zone": other}, principal=EDITOR,
             settings=settings, reason="after the instant")
    with plan_engine.connect() as conn:
        zone_then = conn.exec_driver_sql("SELECT z.code FROM grid g JOIN zone z ON z.id = g.zone_id "
                                         "WHERE g.code = %(g)s", {"g": half}).scalar_one()
    elsewhere = other if other != zone_then else zone
    run_edit(plan_engine, "reassignGrids", {"grids": [half], "toZone": elsewhere}, principal=EDITOR,
             settings=settings, reason="after the instant")
    new = grid_shape(plan_engine, grid)
    assert new.area > old.area * 1.01
    time.sleep(max(0.0, (starts - then).total_seconds()))  # the new assignment is in force now
    live = fingerprint(plan_engine)

    pid = pgql("""mutation($st: String, $t: DateTime) { createPlan(name: "from T",
                 scope: {kind: "station", code: $st}, from: {asOf: $t}) {
                 ... on PlanSuccess { plan { id baseKind reshapes } } } }""",
               {"st": st, "t": then.isoformat()})["createPlan"]["plan"]
    assert pid["baseKind"] == "asOf" and pid["reshapes"]
    pid = pid["id"]
    assert fingerprint(plan_engine) == live

    t = then.isoformat()
    planned = _sorted(pgql(STATION, {"st": st, "p": pid})["station"])
    as_of = _sorted(pgql(STATION, {"st": st, "t": t})["station"])
    now = _sorted(pgql(STATION, {"st": st})["station"])
    assert planned == as_of
    assert planned != now
    moved = [a for a in planned["personnel"] if a["person"]["code"] == person and a["zone"]]
    assert {a["zone"]["code"] for a in moved} == {zone}
    assert other in {a["zone"]["code"] for a in now["personnel"] if a["person"]["code"] == person
                     and a["zone"]}
    started = [a for a in now["personnel"] if a["role"] == "grid_worker" and a["person"]["code"] == person
               and (a["grid"] or {}).get("code") == half]
    assert started and not [a for a in planned["personnel"] if a["role"] == "grid_worker"
                            and a["person"]["code"] == person and (a["grid"] or {}).get("code") == half]

    # the zone outlines (derived from the grids) cover the same ground
    outline = """query($st: String!, $p: ID, $t: DateTime) { station(code: $st, plan: $p, asOf: $t) {
      zones { code geometry(precision: 15) } } }"""
    shapes = [{z["code"]: _shape(z["geometry"]) for z in pgql(outline, {"st": st, **w})["station"]["zones"]}
              for w in ({"p": pid}, {"t": t})]
    assert shapes[0].keys() == shapes[1].keys()
    live_shapes = {z["code"]: _shape(z["geometry"]) for z in pgql(outline, {"st": st})["station"]["zones"]}
    assert not live_shapes[zone_then].equals(shapes[1][zone_then])  # the half left its zone live
    for code, g in shapes[0].items():
        assert shapely.symmetric_difference(g, shapes[1][code]).area <= 1e-12 * max(g.area, 1e-9), code

    # county-wide, the same
    county = pgql("""mutation($t: DateTime) { createPlan(name: "county from T", scope: {kind: "county"},
                     from: {asOf: $t}) { ... on PlanSuccess { plan { id } } } }""",
                  {"t": t})["createPlan"]["plan"]["id"]
    assert _sorted(pgql(STATION, {"st": st, "p": county})["station"]) == as_of
    assert fingerprint(plan_engine) == live

    # the grid's shape is the old one, exactly; live keeps the new one
    for code, before in ((grid, old), (half, old_half)):
        got = _shape(pgql(GRID, {"c": code, "p": pid})["grid"]["geometry"])
        assert got.equals(before) and got.equals(_shape(pgql(GRID, {"c": code, "t": t})["grid"]["geometry"]))
    assert _shape(pgql(GRID, {"c": grid})["grid"]["geometry"]).equals(new)

    # a point of the strip the grid took: the neighbour's under the plan and then, the grid's now
    strip = shapely.intersection(new, old_half)
    p = strip.representative_point()
    where = {"x": p.x, "y": p.y}
    assert pgql(WHO, {**where, "p": pid})["responsibleFor"]["zone"]["code"] == zone_then
    assert pgql(WHO, {**where, "p": pid})["responsibleFor"]["grid"]["code"] == half
    assert pgql(WHO, {**where, "t": t})["responsibleFor"]["grid"]["code"] == half
    assert pgql(WHO, where)["responsibleFor"]["grid"]["code"] == grid

    # the figures of the two grids under the plan: those of the old shapes
    with plan_engine.connect() as conn:
        want = _oracle(conn, int(pid), [grid, half])
    got_stats = {c: pgql(STATS, {"c": c, "p": pid})["grid"]["stats"] for c in (grid, half)}
    assert got_stats == want
    live_stats = {c: pgql(STATS, {"c": c})["grid"]["stats"] for c in (grid, half)}
    assert live_stats != got_stats  # the strip's points are the grid's live


def test_branch_from_a_bad_instant_is_refused_and_writes_nothing(plan_engine: Engine,
                                                                 pgql: Any) -> None:
    with plan_engine.connect() as conn:
        st = conn.exec_driver_sql("SELECT code FROM station ORDER BY code LIMIT 1").scalar_one()
        before = conn.exec_driver_sql("SELECT count(*) FROM plan").scalar_one()
    q = """mutation($st: String, $t: DateTime) { createPlan(name: "bad instant",
             scope: {kind: "station", code: $st}, from: {asOf: $t}) {
             __typename ... on ValidationError { message } } }"""
    future = pgql(q, {"st": st, "t": "2999-01-01T00:00:00+08:00"})["createPlan"]
    assert future["__typename"] == "ValidationError" and "in the future" in future["message"]
    with plan_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM plan").scalar_one() == before
