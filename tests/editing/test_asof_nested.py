"""``asOf`` all the way down: relations, geometry, officers and points nested under a node read
as of an instant are as of that instant too — checked against what the tables said before the
edits (read directly, before editing) and against Shapely shapes captured then."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import shapely
from sqlalchemy import Engine, text

from tests.editing.helpers import cut_line, fingerprint, grid_shape, grow_into, m2

TOL_M2 = 0.05


def _truth(engine: Engine) -> dict[str, Any]:
    """The relations as the current tables hold them (the independent record of "before")."""
    with engine.connect() as conn:
        grids = conn.execute(text(
            "SELECT g.code, z.code, s.code, c.code FROM grid g JOIN zone z ON z.id = g.zone_id "
            "JOIN station s ON s.id = z.station_id JOIN community c ON c.id = g.community_id")).all()
        zones = conn.execute(text("SELECT z.code, s.code FROM zone z "
                                  "JOIN station s ON s.id = z.station_id")).all()
    out: dict[str, Any] = {"grid": {g: (z, s, c) for g, z, s, c in grids},
                           "zone_station": dict(zones), "zone_grids": {}, "station_zones": {},
                           "community_grids": {}, "community_zones": {}, "zone_communities": {}}
    for z, s in zones:
        out["station_zones"].setdefault(s, []).append(z)
        out["zone_grids"].setdefault(z, [])
    for g, z, _s, c in grids:
        out["zone_grids"][z].append(g)
        out["community_grids"].setdefault(c, []).append(g)
        out["community_zones"].setdefault(c, set()).add(z)
        out["zone_communities"].setdefault(z, set()).add(c)
    for d in ("zone_grids", "station_zones", "community_grids"):
        out[d] = {k: sorted(v) for k, v in out[d].items()}
    for d in ("community_zones", "zone_communities"):
        out[d] = {k: sorted(v) for k, v in out[d].items()}
    return out


def _edit(egql, mutation: str, field: str, variables: dict[str, Any],  # type: ignore[no-untyped-def]
          undo: list[int] | None = None) -> dict[str, Any]:
    q = f"""mutation{mutation} {{ {field} {{ __typename
        ... on EditSuccess {{ scheduledId revision {{ id }} impact {{ grids }} }}
        ... on EditError {{ code message }} }} }}"""
    r = egql(q, variables)[field.split("(")[0]]
    assert r["__typename"] == "EditSuccess", r
    if undo is not None and r["revision"]:
        undo.append(r["revision"]["id"])
    return r


@pytest.fixture
def undo(egql):  # type: ignore[no-untyped-def]
    """Revisions to revert (newest first) after the test: the other editing tests pick their
    grids and neighbour pairs by position, so these tests leave the state as they found it."""
    revisions: list[int] = []
    yield revisions
    for rev in reversed(revisions):
        _edit(egql, "($r: Int!)", "revert(revision: $r)", {"r": rev})


def _move_setup(engine: Engine) -> tuple[str, str, str]:
    """A grid, its zone, and a zone of another station; chosen from the end of the code order
    (other editing tests take theirs from the start)."""
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT g.code, z.code, (SELECT z2.code FROM zone z2 WHERE z2.station_id <> z.station_id "
            "ORDER BY z2.code DESC LIMIT 1) FROM grid g JOIN zone z ON z.id = g.zone_id "
            "WHERE (SELECT count(*) FROM grid g3 WHERE g3.zone_id = z.id) > 1 "
            "ORDER BY g.code DESC OFFSET 3 LIMIT 1")).one())  # type: ignore[return-value]


def _instant() -> str:
    t = datetime.now(UTC)
    time.sleep(0.05)
    return t.isoformat()


NESTED = """query($g: String!, $z: String!, $s: String!, $c: String!, $t: DateTime) {
  grid(code: $g, asOf: $t) { code zone { code station { code } } station { code } community { code } }
  zone(code: $z, asOf: $t) { code grids { code } station { code } communities { code } }
  station(code: $s, asOf: $t) { code zones { code grids { code zone { code } } } }
  community(code: $c, asOf: $t) { code grids { code } zones { code } }
}"""


def _check_nested(d: dict[str, Any], truth: dict[str, Any], g: str, z: str, s: str, c: str) -> None:
    zg, sg, cg = truth["grid"][g]
    assert d["grid"]["zone"]["code"] == zg and d["grid"]["zone"]["station"]["code"] == sg
    assert d["grid"]["station"]["code"] == sg and d["grid"]["community"]["code"] == cg
    assert [x["code"] for x in d["zone"]["grids"]] == truth["zone_grids"][z]
    assert d["zone"]["station"]["code"] == truth["zone_station"][z]
    assert [x["code"] for x in d["zone"]["communities"]] == truth["zone_communities"][z]
    assert [x["code"] for x in d["station"]["zones"]] == truth["station_zones"][s]
    for zone in d["station"]["zones"]:
        assert [x["code"] for x in zone["grids"]] == truth["zone_grids"][zone["code"]]
        assert all(x["zone"]["code"] == zone["code"] for x in zone["grids"])
    assert [x["code"] for x in d["community"]["grids"]] == truth["community_grids"][c]
    assert [x["code"] for x in d["community"]["zones"]] == truth["community_zones"][c]


def test_nested_relations_as_of_before_reassign_and_move(edit_engine, egql, undo) -> None:  # type: ignore[no-untyped-def]
    g, z_old, z_new = _move_setup(edit_engine)
    before = _truth(edit_engine)
    s_old, s_new, c = before["zone_station"][z_old], before["zone_station"][z_new], before["grid"][g][2]
    # a zone of the old station other than z_old moves to the new station, too
    z_moved = next(z for z in before["station_zones"][s_old] if z != z_old)
    t = _instant()
    _edit(egql, "($g: [String!]!, $z: String!)", "reassignGrids(grids: $g, toZone: $z)",
          {"g": [g], "z": z_new}, undo)
    _edit(egql, "($z: String!, $s: String!)", "moveZone(zone: $z, toStation: $s)",
          {"z": z_moved, "s": s_new}, undo)
    after = _truth(edit_engine)
    assert after["grid"][g][0] == z_new and after["zone_station"][z_moved] == s_new
    args = {"g": g, "z": z_old, "s": s_old, "c": c}
    _check_nested(egql(NESTED, {**args, "t": t}), before, **args)
    _check_nested(egql(NESTED, {**args, "t": None}), after, **args)
    # the new zone then did not have the grid; the new station then did not have the moved zone
    then = egql(NESTED, {"g": g, "z": z_new, "s": s_new, "c": c, "t": t})
    _check_nested(then, before, g, z_new, s_new, c)
    assert g not in [x["code"] for x in then["zone"]["grids"]]
    assert z_moved not in [x["code"] for x in then["station"]["zones"]]
    # responsibleFor as of then: its units are as-of nodes too
    p = grid_shape(edit_engine, g).representative_point()
    rq = """query($lon: Float!, $lat: Float!, $t: DateTime) { responsibleFor(lon: $lon, lat: $lat, asOf: $t) {
      grid { code zone { code } } zone { code grids { code } station { code } }
      station { code zones { code } } community { code zones { code } }
      sector { stations { code } } } }"""
    r = egql(rq, {"lon": p.x, "lat": p.y, "t": t})["responsibleFor"]
    assert r["grid"] == {"code": g, "zone": {"code": z_old}}
    assert [x["code"] for x in r["zone"]["grids"]] == before["zone_grids"][z_old]
    assert r["zone"]["station"]["code"] == s_old == r["station"]["code"]
    assert [x["code"] for x in r["station"]["zones"]] == before["station_zones"][s_old]
    assert [x["code"] for x in r["community"]["zones"]] == before["community_zones"][c]
    assert s_old in [x["code"] for x in r["sector"]["stations"]]
    r_now = egql(rq, {"lon": p.x, "lat": p.y, "t": None})["responsibleFor"]
    assert [x["code"] for x in r_now["zone"]["grids"]] == after["zone_grids"][z_new]


def test_mixed_request_as_of_and_current_under_aliases(edit_engine, egql, undo) -> None:  # type: ignore[no-untyped-def]
    with edit_engine.connect() as conn:
        g, z_old, z_new = tuple(conn.execute(text(
            "SELECT g.code, z.code, (SELECT z2.code FROM zone z2 WHERE z2.station_id <> z.station_id "
            "ORDER BY z2.code LIMIT 1 OFFSET 2) FROM grid g JOIN zone z ON z.id = g.zone_id "
            "ORDER BY g.code DESC OFFSET 7 LIMIT 1")).one())
    before = _truth(edit_engine)
    t = _instant()
    _edit(egql, "($g: [String!]!, $z: String!)", "reassignGrids(grids: $g, toZone: $z)",
          {"g": [g], "z": z_new}, undo)
    q = """query($g: String!, $z: String!, $t: DateTime!) {
      now: grid(code: $g) { zone { code station { code } } }
      then: grid(code: $g, asOf: $t) { zone { code station { code } } }
      zNow: zone(code: $z) { grids { code zone { code } } }
      zThen: zone(code: $z, asOf: $t) { grids { code zone { code } } }
      rThen: grids(codes: [$g], asOf: $t) { edges { node { zone { code } } } } }"""
    d = egql(q, {"g": g, "z": z_old, "t": t})
    assert d["now"]["zone"]["code"] == z_new and d["then"]["zone"]["code"] == z_old
    assert d["now"]["zone"]["station"]["code"] == before["zone_station"][z_new]
    assert d["then"]["zone"]["station"]["code"] == before["zone_station"][z_old]
    assert g in [x["code"] for x in d["zThen"]["grids"]] and g not in [x["code"] for x in d["zNow"]["grids"]]
    assert [x["code"] for x in d["zThen"]["grids"]] == before["zone_grids"][z_old]
    assert all(x["zone"]["code"] == z_old for x in d["zThen"]["grids"] + d["zNow"]["grids"])
    assert d["rThen"]["edges"][0]["node"]["zone"]["code"] == z_old


def _shape(gj: Any) -> shapely.Geometry:
    return shapely.geometry.shape(gj if isinstance(gj, dict) else json.loads(gj))


def _zone_shape(engine: Engine, code: str) -> shapely.Geometry:
    with engine.connect() as conn:
        return _shape(conn.execute(text("SELECT ST_AsGeoJSON(geom, 15) FROM zone WHERE code = :c"),
                                   {"c": code}).scalar_one())


def test_geometry_and_spatial_filters_as_of_before_a_redraw(edit_engine, egql, undo) -> None:  # type: ignore[no-untyped-def]
    with edit_engine.connect() as conn:
        big = conn.execute(text("SELECT code FROM grid ORDER BY ST_Area(geom) DESC, code "
                                "OFFSET 6 LIMIT 1")).scalar_one()
    split = _edit(egql, "($g: String!, $l: GeoJSON!)", "splitGrid(grid: $g, line: $l)",
                  {"g": big, "l": cut_line(edit_engine, big)}, undo)
    a, b = big, next(c for c in split["impact"]["grids"] if c != big)
    shape_a, shape_b = grid_shape(edit_engine, a), grid_shape(edit_engine, b)
    with edit_engine.connect() as conn:
        za = conn.execute(text("SELECT z.code FROM grid g JOIN zone z ON z.id = g.zone_id "
                               "WHERE g.code = :g"), {"g": a}).scalar_one()
    zone_before = _zone_shape(edit_engine, za)
    new = grow_into(edit_engine, a, b)
    t = _instant()
    _edit(egql, "($g: String!, $geom: GeoJSON!)", "redrawGrid(grid: $g, geometry: $geom)",
          {"g": a, "geom": new}, undo)
    assert m2(shapely.symmetric_difference(grid_shape(edit_engine, a), shape_a)) > 1.0  # it changed
    q = """query($a: String!, $b: String!, $t: DateTime) {
      a: grid(code: $a, asOf: $t) { geometry wkt: geometry(format: WKT) simple: geometry(simplify: 2)
                                    gcj: geometry(crs: GCJ02) zone { geometry } }
      b: grid(code: $b, asOf: $t) { geometry } }"""
    then = egql(q, {"a": a, "b": b, "t": t})
    assert m2(shapely.symmetric_difference(_shape(then["a"]["geometry"]), shape_a)) < TOL_M2
    assert m2(shapely.symmetric_difference(_shape(then["b"]["geometry"]), shape_b)) < TOL_M2
    assert m2(shapely.symmetric_difference(shapely.from_wkt(then["a"]["wkt"]), shape_a)) < TOL_M2
    assert m2(shapely.symmetric_difference(_shape(then["a"]["zone"]["geometry"]), zone_before)) < TOL_M2
    # options apply to the old shape: simplified within 2 m, GCJ-02 shifted by hundreds of metres
    assert shapely.hausdorff_distance(_shape(then["a"]["simple"]), shape_a) * 111_320 < 2.5
    shift = shapely.hausdorff_distance(_shape(then["a"]["gcj"]), shape_a) * 111_320
    assert 50 < shift < 1500
    now = egql(q, {"a": a, "b": b, "t": None})
    now_a = _shape(now["a"]["geometry"])
    assert m2(shapely.symmetric_difference(now_a, grid_shape(edit_engine, a))) < TOL_M2
    # spatial filters on the shapes then: a point of the strip a took from b was b's
    strip = shapely.difference(grid_shape(edit_engine, a), shape_a)
    p = strip.representative_point()
    assert shape_b.contains(p) and not shape_a.intersects(p)
    lq = """query($p: GeoJSON!, $bb: [Float!], $w: WithinDistance, $t: DateTime) {
      i: grids(intersects: $p, asOf: $t) { totalCount edges { node { code } } }
      w: grids(withinDistance: $w, asOf: $t) { edges { node { code } } }
      bb: grids(bbox: $bb, asOf: $t) { edges { node { code } } } }"""
    w = {"lon": p.x, "lat": p.y, "metres": 0.001}
    box = [p.x - 1e-5, p.y - 1e-5, p.x + 1e-5, p.y + 1e-5]
    gp = json.loads(shapely.to_geojson(p))
    then_l = egql(lq, {"p": gp, "bb": box, "w": w, "t": t})
    now_l = egql(lq, {"p": gp, "bb": box, "w": w, "t": None})
    assert [e["node"]["code"] for e in then_l["i"]["edges"]] == [b]
    assert [e["node"]["code"] for e in now_l["i"]["edges"]] == [a]
    assert [e["node"]["code"] for e in then_l["w"]["edges"]] == [b]
    bb_then = [e["node"]["code"] for e in then_l["bb"]["edges"]]
    assert b in bb_then and (a in bb_then) == shape_a.intersects(shapely.box(*box))


def test_officers_as_of_before_retire_and_create(edit_engine, egql, undo) -> None:  # type: ignore[no-untyped-def]
    with edit_engine.connect() as conn:
        aid, zone, person = conn.execute(text(
            "SELECT a.id, z.code, p.code FROM assignment a JOIN zone z ON z.id = a.zone_id "
            "JOIN person p ON p.id = a.person_id WHERE a.role = 'community_officer' "
            "AND a.valid_to IS NULL ORDER BY z.code DESC, a.id LIMIT 1")).one()
        before = sorted(r[0] for r in conn.execute(text(
            "SELECT p.code FROM assignment a JOIN zone z ON z.id = a.zone_id JOIN person p "
            "ON p.id = a.person_id WHERE a.role = 'community_officer' AND a.valid_to IS NULL "
            "AND z.code = :z"), {"z": zone}))
        station, newcomer = conn.execute(text(
            "SELECT s.code, (SELECT p.code FROM person p WHERE p.code <> ALL(:b) ORDER BY p.code LIMIT 1) "
            "FROM zone z JOIN station s ON s.id = z.station_id WHERE z.code = :z"),
            {"z": zone, "b": before}).one()
    assert person in before
    t = _instant()
    _edit(egql, "($i: Int!)", "retireAssignment(id: $i)", {"i": aid}, undo)
    _edit(egql, "($p: String!, $s: String!, $z: String!)",
          'createAssignment(person: $p, role: "community_officer", station: $s, zone: $z)',
          {"p": newcomer, "s": station, "z": zone}, undo)
    q = """query($z: String!, $t: DateTime) { zone(code: $z, asOf: $t) {
      officers { validTo person { code } zone { code } }
      station { personnel(role: "community_officer") { person { code } } } } }"""
    then = egql(q, {"z": zone, "t": t})["zone"]
    now = egql(q, {"z": zone, "t": None})["zone"]
    assert sorted(o["person"]["code"] for o in then["officers"]) == before
    assert all(o["validTo"] is None and o["zone"]["code"] == zone for o in then["officers"])
    expect_now = sorted({*before, newcomer} - {person})
    assert sorted(o["person"]["code"] for o in now["officers"]) == expect_now
    st_then = {o["person"]["code"] for o in then["station"]["personnel"]}
    assert person in st_then and newcomer not in st_then


FUTURE = """query($g: String!, $a: String!, $b: String!, $t: DateTime) {
  grid(code: $g, asOf: $t) { zone { code station { code } } geometry }
  a: zone(code: $a, asOf: $t) { grids { code } }
  b: zone(code: $b, asOf: $t) { grids { code community { code } } station { zones { code } } } }"""


def test_future_instant_sees_a_scheduled_reassign_in_nested_fields(edit_engine, egql) -> None:  # type: ignore[no-untyped-def]
    with edit_engine.connect() as conn:
        g, z_old, z_new = tuple(conn.execute(text(
            "SELECT g.code, z.code, (SELECT z2.code FROM zone z2 WHERE z2.station_id <> z.station_id "
            "ORDER BY z2.code DESC LIMIT 1 OFFSET 1) FROM grid g JOIN zone z ON z.id = g.zone_id "
            "ORDER BY g.code DESC OFFSET 11 LIMIT 1")).one())
    before = _truth(edit_engine)
    eff = datetime.now(UTC) + timedelta(hours=2)
    r = _edit(egql, "($g: [String!]!, $z: String!, $e: DateTime)",
              "reassignGrids(grids: $g, toZone: $z, effectiveFrom: $e)",
              {"g": [g], "z": z_new, "e": eff.isoformat()})
    try:
        assert r["scheduledId"] and r["revision"] is None
        fp = fingerprint(edit_engine)
        shape = grid_shape(edit_engine, g)
        later = egql(FUTURE, {"g": g, "a": z_old, "b": z_new, "t": (eff + timedelta(minutes=1)).isoformat()})
        now = egql(FUTURE, {"g": g, "a": z_old, "b": z_new, "t": None})
        assert later["grid"]["zone"] == {"code": z_new, "station": {"code": before["zone_station"][z_new]}}
        assert [x["code"] for x in later["b"]["grids"]] == sorted([*before["zone_grids"][z_new], g])
        assert [x["code"] for x in later["a"]["grids"]] == [x for x in before["zone_grids"][z_old] if x != g]
        assert [x["code"] for x in later["b"]["station"]["zones"]] == \
            before["station_zones"][before["zone_station"][z_new]]
        assert next(x for x in later["b"]["grids"] if x["code"] == g)["community"]["code"] == \
            before["grid"][g][2]
        assert m2(shapely.symmetric_difference(_shape(later["grid"]["geometry"]), shape)) < TOL_M2
        assert now["grid"]["zone"]["code"] == z_old
        assert [x["code"] for x in now["a"]["grids"]] == before["zone_grids"][z_old]
        assert fingerprint(edit_engine) == fp  # the future reads wrote nothing
    finally:  # leave no pending edit for the other tests of the session
        with edit_engine.begin() as conn:
            conn.execute(text("UPDATE scheduled_edit SET cancelled_at = clock_timestamp() "
                              "WHERE id = :i"), {"i": r["scheduledId"]})


@pytest.fixture
def raw(edit_client, tokens):  # type: ignore[no-untyped-def]
    def run(query: str, variables: dict | None = None) -> dict:
        res = edit_client.post("/graphql", json={"query": query, "variables": variables or {}},
                               headers={"Authorization": f"Bearer {tokens['viewer']}"})
        assert res.status_code == 200, res.text
        return res.json()

    return run


def test_bad_input_is_a_clear_error_and_writes_nothing(edit_engine, raw) -> None:  # type: ignore[no-untyped-def]
    with edit_engine.connect() as conn:
        zone, sector = conn.execute(text("SELECT (SELECT code FROM zone ORDER BY code LIMIT 1), "
                                         "(SELECT code FROM sector ORDER BY code LIMIT 1)")).one()
    fp = fingerprint(edit_engine)
    t = _instant()
    r = raw('query($s: String!, $t: DateTime) { sector(code: $s, asOf: $t) { code } }',
            {"s": sector, "t": t})
    assert r["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "asOf" in r["errors"][0]["message"]
    for field, what in (("stats { population }", "stats"), ("sizing { workload }", "sizing")):
        r = raw("query($z: String!, $t: DateTime) { zone(code: $z, asOf: $t) { code " + field + " } }",
                {"z": zone, "t": t})
        err = r["errors"][0]
        assert err["extensions"]["code"] == "BAD_USER_INPUT" and err["message"].startswith(what)
        assert "current only" in err["message"] and "asOf" in err["message"]
    # the same field on a current node answers
    ok = raw('query($z: String!) { zone(code: $z) { stats { population } } }', {"z": zone})
    assert "errors" not in ok and ok["data"]["zone"]["stats"]["population"] >= 0
    r = raw('{ zones(asOf: "not a time") { totalCount } }')
    assert r["errors"] and r.get("data") is None
    assert fingerprint(edit_engine) == fp


NPLUS1 = """query($t: DateTime, $n: Int!) { grids(first: $n, asOf: $t) { edges { node {
  code geometry(simplify: 5) community { code grids { code } }
  zone { code officers { person { code } } station { code sector { code } zones { code } } }
  addressPoints(first: 3) { code grid { code } } } } } }"""


def test_nested_as_of_costs_one_statement_per_level(gql, count_sql) -> None:  # type: ignore[no-untyped-def]
    """On the shared (never edited) database: as of a moment ago everything equals the current
    answer, and the statement count does not grow with the number of grids."""
    t = _instant()
    counts = []
    for n in (3, 30):
        count_sql.statements.clear()
        then = gql(NPLUS1, {"t": t, "n": n})
        counts.append(count_sql.count)
        assert "errors" not in then, then
        now = gql(NPLUS1, {"t": None, "n": n})
        assert then["data"] == now["data"] and len(now["data"]["grids"]["edges"]) == n
    # 12 levels: page, geometry, community, its grids, zone, officers, persons, station,
    # sector, station zones, address points, their grid — one statement each
    assert counts[0] == counts[1] <= 12, count_sql.statements
