"""Create / update / retire of zones, stations, communities, assignments, address points and
incidents through GraphQL: points get their grid by the boundary rule, refusals write nothing,
and reverting a point edit restores the point."""

from __future__ import annotations

from sqlalchemy import text

from tests.editing.helpers import fingerprint, grid_shape, oracle_violations

RESULT = "__typename ... on EditSuccess { revision { id } impact { grids addressPoints } } " \
         "... on EditError { code message details }"


def _grid_point(engine, offset: int):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        code, zone, station = conn.execute(text(
            "SELECT g.code, z.code, s.code FROM grid g JOIN zone z ON z.id = g.zone_id "
            "JOIN station s ON s.id = z.station_id ORDER BY g.code OFFSET :o LIMIT 1"), {"o": offset}).one()
    p = grid_shape(engine, code).representative_point()
    return code, zone, station, p.x, p.y


def test_address_point_gets_its_grid_and_revert_removes_it(edit_engine, egql) -> None:  # type: ignore[no-untyped-def]
    grid, _z, _s, lon, lat = _grid_point(edit_engine, 21)
    q = f"""mutation($lon: Float!, $lat: Float!) {{
            createAddressPoint(code: "TEST-AP-1", address: "1 Test Rd",
            lon: $lon, lat: $lat, households: 2, population: 5) {{ {RESULT} }} }}"""
    r = egql(q, {"lon": lon, "lat": lat})["createAddressPoint"]
    assert r["__typename"] == "EditSuccess", r
    with edit_engine.connect() as conn:
        got = conn.execute(text("SELECT g.code FROM address_point p JOIN grid g ON g.id = p.grid_id "
                                "WHERE p.code = 'TEST-AP-1'")).scalar_one()
    assert got == grid
    # moving it to another grid re-homes it; reverting the move puts it back
    other, _z2, _s2, lon2, lat2 = _grid_point(edit_engine, 22)
    mv = egql(f"""mutation {{ updateAddressPoint(code: "TEST-AP-1", lon: {lon2}, lat: {lat2}) {{
                  {RESULT} }} }}""")
    assert mv["updateAddressPoint"]["__typename"] == "EditSuccess"
    with edit_engine.connect() as conn:
        assert conn.execute(text("SELECT g.code FROM address_point p JOIN grid g ON g.id = p.grid_id "
                                 "WHERE p.code = 'TEST-AP-1'")).scalar_one() == other
    for rid in (mv["updateAddressPoint"]["revision"]["id"], r["revision"]["id"]):
        rv = egql(f"mutation {{ revert(revision: {rid}) {{ {RESULT} }} }}")["revert"]
        assert rv["__typename"] == "EditSuccess", rv
    with edit_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM address_point WHERE code = "
                                 "'TEST-AP-1'")).scalar_one() == 0
    assert oracle_violations(edit_engine) == []


def test_incident_outside_the_county_is_refused(edit_engine, egql) -> None:  # type: ignore[no-untyped-def]
    fp = fingerprint(edit_engine)
    r = egql(f"""mutation {{ createIncident(code: "TEST-INC-1", category: "DISPUTE",
                occurredAt: "2026-01-02T03:04:05Z", lon: 100.0, lat: 25.0) {{ {RESULT} }} }}""")
    assert r["createIncident"]["__typename"] == "ValidationError", r
    assert r["createIncident"]["code"] == "OUTSIDE_COUNTY"
    assert fingerprint(edit_engine) == fp


def test_zone_lifecycle_and_refusals(edit_engine, egql) -> None:  # type: ignore[no-untyped-def]
    grid, zone, station, _lon, _lat = _grid_point(edit_engine, 23)
    new = f"{station}Z90"
    r = egql(f"""mutation {{ createZone(code: "{new}", name: "Test zone", station: "{station}") {{
                 {RESULT} }} }}""")
    assert r["createZone"]["__typename"] == "EditSuccess", r
    fp = fingerprint(edit_engine)
    dup = egql(f"""mutation {{ createZone(code: "{new}", name: "again", station: "{station}") {{
                   {RESULT} }} }}""")["createZone"]
    assert dup["__typename"] == "ValidationError" and dup["code"] == "DUPLICATE_CODE", dup
    assert dup["message"] == f"zone code {new} already exists"
    busy = egql(f"""mutation {{ retireZone(code: "{zone}") {{ {RESULT} }} }}""")["retireZone"]
    assert busy["__typename"] == "ValidationError" and "still has grids" in busy["message"]
    assert fingerprint(edit_engine) == fp
    mv = egql(f"""mutation {{ reassignGrids(grids: ["{grid}"], toZone: "{new}") {{ {RESULT} }} }}""")
    assert mv["reassignGrids"]["__typename"] == "EditSuccess"
    assert oracle_violations(edit_engine, points=False) == []
    back = egql(f"""mutation {{ reassignGrids(grids: ["{grid}"], toZone: "{zone}") {{ {RESULT} }} }}""")
    assert back["reassignGrids"]["__typename"] == "EditSuccess"
    gone = egql(f"""mutation {{ updateZone(code: "{new}", name: "Renamed") {{ {RESULT} }} }}
               """)
    assert gone["updateZone"]["__typename"] == "EditSuccess"
    r = egql(f"""mutation {{ retireZone(code: "{new}") {{ {RESULT} }} }}""")
    assert r["retireZone"]["__typename"] == "EditSuccess"
    assert egql(f"""{{ zone(code: "{new}") {{ code }} }}""")["zone"] is None


def test_station_create_needs_admin(edit_engine, egql) -> None:  # type: ignore[no-untyped-def]
    with edit_engine.connect() as conn:
        sector = conn.execute(text("SELECT code FROM sector ORDER BY code LIMIT 1")).scalar_one()
        county = conn.execute(text("SELECT code FROM county")).scalar_one()
    _g, _z, _s, lon, lat = _grid_point(edit_engine, 25)
    q = f"""mutation {{ createStation(code: "{county}PS90", name: "Test station", sector: "{sector}",
            lon: {lon}, lat: {lat}) {{ {RESULT} }} }}"""
    fp = fingerprint(edit_engine)
    assert egql(q, who="editor")["createStation"]["__typename"] == "ForbiddenError"
    assert fingerprint(edit_engine) == fp
    assert egql(q, who="admin")["createStation"]["__typename"] == "EditSuccess"
    r = egql(f"""mutation {{ retireStation(code: "{county}PS90") {{ {RESULT} }} }}""", who="admin")
    assert r["retireStation"]["__typename"] == "EditSuccess", r


def test_assignment_lifecycle(edit_engine, egql) -> None:  # type: ignore[no-untyped-def]
    grid, _zone, station, _lon, _lat = _grid_point(edit_engine, 24)
    with edit_engine.connect() as conn:
        person = conn.execute(text("SELECT code FROM person ORDER BY code LIMIT 1")).scalar_one()
    r = egql(f"""mutation {{ createAssignment(person: "{person}", role: "grid_worker", station: "{station}",
                grid: "{grid}") {{ {RESULT} }} }}""")
    assert r["createAssignment"]["__typename"] == "EditSuccess", r
    with edit_engine.connect() as conn:
        aid = conn.execute(text("SELECT max(id) FROM assignment")).scalar_one()
    r = egql(f"""mutation {{ retireAssignment(id: {aid}) {{ {RESULT} }} }}""")
    assert r["retireAssignment"]["__typename"] == "EditSuccess", r
    with edit_engine.connect() as conn:
        assert conn.execute(text("SELECT valid_to IS NOT NULL FROM assignment WHERE id = :i"),
                            {"i": aid}).scalar_one()
    bad = egql(f"""mutation {{ retireAssignment(id: 99999999) {{ {RESULT} }} }}""")
    assert bad["retireAssignment"]["__typename"] == "NotFound"
