"""Complete CRUD in GraphQL for every unit (issue 11 item 6): a county built up unit by unit
beside the demo county — county, sector, township, communities, station, zone, grid, person,
assignment — each create/update/retire with its refusals (nothing written, checked), overlap
refusals checked against a Shapely oracle, and deletes of a still-referenced unit refused with
what references it. The module removes what it built, so the other tests see the demo county
alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import shapely
from shapely.geometry import box, mapping
from sqlalchemy import Engine, text

from tests.editing.helpers import fingerprint, m2

RESULT = ("__typename ... on EditSuccess { revision { id } impact { grids zones stations } } "
          "... on EditError { code message details }")

COUNTY, SECTOR, TOWNSHIP = "511799", "511799S1", "511799001"
COMM_A, COMM_B = "511799001001", "511799001002"
STATION, ZONE, GRID = "511799PS01", "511799PS01Z01", "511799001001001"
PERSON = "P999001"


def all_fingerprint(engine: Engine) -> str:
    """tests.editing.helpers.fingerprint plus the tables it leaves out (counties, sectors,
    townships, persons, names)."""
    with engine.connect() as conn:
        extra = conn.execute(text(
            "SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM ("
            "SELECT 'k' || code || name || encode(ST_AsEWKB(geom), 'hex') x FROM county "
            "UNION ALL SELECT 's' || code || name FROM sector "
            "UNION ALL SELECT 't' || code || name || kind FROM township "
            "UNION ALL SELECT 'p' || code || name || coalesce(phone, '') FROM person "
            "UNION ALL SELECT 'g' || code || name FROM grid) s")).scalar_one()
    return fingerprint(engine) + str(extra)


@pytest.fixture(scope="module")
def site(edit_engine: Engine) -> dict[str, Any]:
    """Outlines east of the demo county: the county, its halves A and B (two communities)."""
    with edit_engine.connect() as conn:
        maxx, miny = conn.execute(text("SELECT ST_XMax(ST_Extent(geom)), ST_YMin(ST_Extent(geom)) "
                                       "FROM county")).one()
    x0, y0 = round(float(maxx) + 0.5, 4), round(float(miny), 4)
    county = box(x0, y0, x0 + 0.02, y0 + 0.02)
    return {"county": county, "a": box(x0, y0, x0 + 0.01, y0 + 0.02),
            "b": box(x0 + 0.01, y0, x0 + 0.02, y0 + 0.02), "x0": x0, "y0": y0}


def gj(g: Any) -> dict[str, Any]:
    return json.loads(json.dumps(mapping(g)))


def ok(r: dict[str, Any]) -> dict[str, Any]:
    assert r["__typename"] == "EditSuccess", r
    return r


def refused(engine: Engine, egql: Any, query: str, variables: dict[str, Any] | None = None,
            who: str = "admin") -> dict[str, Any]:
    """Run a mutation that must be refused; check nothing was written; return the error."""
    before = all_fingerprint(engine)
    r = egql(query, variables or {}, who=who)
    r = next(iter(r.values()))
    assert r["__typename"] != "EditSuccess", r
    assert all_fingerprint(engine) == before
    return r


@pytest.fixture(scope="module")
def built(edit_engine: Engine, egql: Any, site: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """County → sector → township → communities A, B → station → zone → grid on A → person →
    assignment, through the mutations; torn down through them afterwards."""
    revs: dict[str, int] = {}

    def run(name: str, q: str, v: dict[str, Any] | None = None) -> None:
        r = ok(next(iter(egql(q, v or {}, who="admin").values())))
        revs[name] = r["revision"]["id"]

    run("county", f"""mutation($g: GeoJSON!) {{ createCounty(code: "{COUNTY}", name: "测试县",
        geometry: $g) {{ {RESULT} }} }}""", {"g": gj(site["county"])})
    run("sector", f"""mutation {{ createSector(code: "{SECTOR}", name: "一片区", county: "{COUNTY}")
        {{ {RESULT} }} }}""")
    c = site["county"].centroid
    run("township", f"""mutation($g: GeoJSON!) {{ createTownship(code: "{TOWNSHIP}", name: "测试镇",
        county: "{COUNTY}", geometry: $g, lon: {c.x}, lat: {c.y}) {{ {RESULT} }} }}""",
        {"g": gj(site["county"])})
    for code, half in ((COMM_A, "a"), (COMM_B, "b")):
        run(code, f"""mutation($g: GeoJSON!) {{ createCommunity(code: "{code}", name: "村{half}",
            township: "{TOWNSHIP}", geometry: $g) {{ {RESULT} }} }}""", {"g": gj(site[half])})
    a = site["a"].centroid
    run("station", f"""mutation {{ createStation(code: "{STATION}", name: "测试派出所",
        sector: "{SECTOR}", lon: {a.x}, lat: {a.y}) {{ {RESULT} }} }}""")
    run("zone", f"""mutation {{ createZone(code: "{ZONE}", name: "一区", station: "{STATION}")
        {{ {RESULT} }} }}""")
    run("grid", f"""mutation($g: GeoJSON!) {{ createGrid(code: "{GRID}", name: "一格",
        community: "{COMM_A}", zone: "{ZONE}", geometry: $g) {{ {RESULT} }} }}""",
        {"g": gj(site["a"])})
    run("person", f"""mutation {{ createPerson(code: "{PERSON}", name: "张三", phone: "123")
        {{ {RESULT} }} }}""")
    run("assignment", f"""mutation {{ createAssignment(person: "{PERSON}", role: "officer",
        station: "{STATION}", zone: "{ZONE}") {{ {RESULT} }} }}""")
    yield revs
    # teardown: the assignment by revert (a deleted assignment would lose its history), then
    # every unit retired children first
    for q in (f"mutation {{ revert(revision: {revs['assignment']}) {{ {RESULT} }} }}",
              f'mutation {{ retirePerson(code: "{PERSON}") {{ {RESULT} }} }}',
              f'mutation {{ retireGrid(code: "{GRID}") {{ {RESULT} }} }}',
              f'mutation {{ retireZone(code: "{ZONE}") {{ {RESULT} }} }}',
              f'mutation {{ retireStation(code: "{STATION}") {{ {RESULT} }} }}',
              f'mutation {{ retireCommunity(code: "{COMM_A}") {{ {RESULT} }} }}',
              f'mutation {{ retireCommunity(code: "{COMM_B}") {{ {RESULT} }} }}',
              f'mutation {{ retireTownship(code: "{TOWNSHIP}") {{ {RESULT} }} }}',
              f'mutation {{ retireSector(code: "{SECTOR}") {{ {RESULT} }} }}',
              f'mutation {{ retireCounty(code: "{COUNTY}") {{ {RESULT} }} }}'):
        r = next(iter(egql(q, who="admin").values()))
        assert r["__typename"] == "EditSuccess" or r["code"] == "NOT_FOUND", (q, r)
    with edit_engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM county WHERE code = :c"), {"c": COUNTY})
        assert left.scalar_one() == 0


def test_created_units_are_there(edit_engine: Engine, built: dict[str, Any], site: dict[str, Any]) -> None:
    with edit_engine.connect() as conn:
        grid = shapely.from_wkb(bytes(conn.execute(text(
            "SELECT ST_AsBinary(g.geom) FROM grid g JOIN zone z ON z.id = g.zone_id "
            "WHERE g.code = :g AND z.code = :z"), {"g": GRID, "z": ZONE}).scalar_one()))
        zone = shapely.from_wkb(bytes(conn.execute(text(
            "SELECT ST_AsBinary(geom) FROM zone WHERE code = :z"), {"z": ZONE}).scalar_one()))
        assert conn.execute(text("SELECT s.code FROM station s JOIN sector x ON x.id = s.sector_id "
                                 "WHERE x.code = :x"), {"x": SECTOR}).scalar_one() == STATION
        kinds = conn.execute(text("SELECT kind FROM revision WHERE id = ANY(:r) ORDER BY id"),
                             {"r": list(built.values())}).scalars().all()
    assert m2(shapely.symmetric_difference(grid, site["a"])) < 0.05
    assert m2(shapely.symmetric_difference(zone, site["a"])) < 0.05   # the zone is its grids
    assert kinds[:3] == ["createCounty", "createSector", "createTownship"]


def test_updates(edit_engine: Engine, egql: Any, built: dict[str, Any]) -> None:
    for mutation, code, extra in (("updateCounty", COUNTY, 'name: "测试县二"'),
                                  ("updateSector", SECTOR, 'name: "二片区"'),
                                  ("updateTownship", TOWNSHIP, 'kind: "street"'),
                                  ("updateGrid", GRID, 'name: "一格（改）"'),
                                  ("updatePerson", PERSON, 'phone: "456"')):
        ok(egql(f'mutation {{ {mutation}(code: "{code}", {extra}) {{ {RESULT} }} }}',
                who="admin")[mutation])
    with edit_engine.connect() as conn:
        got = conn.execute(text(
            "SELECT (SELECT name FROM county WHERE code = :k), (SELECT name FROM sector WHERE code = :s), "
            "(SELECT kind FROM township WHERE code = :t), (SELECT name FROM grid WHERE code = :g), "
            "(SELECT phone FROM person WHERE code = :p)"),
            {"k": COUNTY, "s": SECTOR, "t": TOWNSHIP, "g": GRID, "p": PERSON}).one()
    assert tuple(got) == ("测试县二", "二片区", "street", "一格（改）", "456")
    r = refused(edit_engine, egql, f'mutation {{ updateCounty(code: "{COUNTY}") {{ {RESULT} }} }}')
    assert r["code"] == "NOTHING_TO_UPDATE"
    r = refused(edit_engine, egql, f'mutation {{ updateSector(code: "NOPE", name: "x") {{ {RESULT} }} }}')
    assert r["__typename"] == "NotFound"
    r = refused(edit_engine, egql, f'mutation {{ updateTownship(code: "{TOWNSHIP}", kind: "city") '
                f"{{ {RESULT} }} }}")
    assert r["code"] == "BAD_USER_INPUT" and r["details"][0]["field"] == "kind"


def test_a_county_update_is_reverted_from_its_summary(edit_engine: Engine, egql: Any,
                                                      built: dict[str, Any]) -> None:
    r = ok(egql(f'mutation {{ updateSector(code: "{SECTOR}", name: "临时") {{ {RESULT} }} }}',
                who="admin")["updateSector"])
    ok(egql(f'mutation {{ revert(revision: {r["revision"]["id"]}) {{ {RESULT} }} }}', who="admin")["revert"])
    with edit_engine.connect() as conn:
        name = conn.execute(text("SELECT name FROM sector WHERE code = :s"), {"s": SECTOR}).scalar_one()
    assert name != "临时"


def test_overlapping_community_is_refused_as_the_oracle_says(edit_engine: Engine, egql: Any,
                                                             built: dict[str, Any],
                                                             site: dict[str, Any]) -> None:
    """A community over a strip of A: refused, naming A with the overlap the oracle measures."""
    x0, y0 = site["x0"], site["y0"]
    bad = box(x0 + 0.008, y0, x0 + 0.012, y0 + 0.02)
    r = refused(edit_engine, egql, f"""mutation($g: GeoJSON!) {{ createCommunity(code: "511799001003",
        name: "越界村", township: "{TOWNSHIP}", geometry: $g) {{ {RESULT} }} }}""", {"g": gj(bad)})
    assert r["code"] == "INVALID_GEOMETRY", r
    with edit_engine.connect() as conn:
        others = {c: shapely.from_wkb(bytes(w)) for c, w in conn.execute(text(
            "SELECT code, ST_AsBinary(geom) FROM community"))}
    expect = {c: m2(shapely.intersection(bad, g), lat=y0) for c, g in others.items()
              if m2(shapely.intersection(bad, g), lat=y0) > 0.01}
    assert set(expect) == {COMM_A, COMM_B}
    got = {d["code"]: d["m2"] for d in r["details"]}
    assert set(got) == set(expect)
    for c, v in expect.items():
        assert got[c] == pytest.approx(v, rel=0.01), (c, got[c], v)


def test_overlapping_grid_is_refused_as_the_oracle_says(edit_engine: Engine, egql: Any,
                                                        built: dict[str, Any]) -> None:
    """A grid drawn over grids of the demo county (inside one of its communities): refused,
    naming exactly the grids Shapely finds it overlaps."""
    with edit_engine.connect() as conn:
        comm, zone, wkb = conn.execute(text(
            "SELECT c.code, z.code, ST_AsBinary(c.geom) FROM community c JOIN grid g "
            "ON g.community_id = c.id JOIN zone z ON z.id = g.zone_id WHERE c.code LIKE '511725%' "
            "ORDER BY c.code LIMIT 1")).one()
        grids = {c: shapely.from_wkb(bytes(w)) for c, w in conn.execute(text(
            "SELECT code, ST_AsBinary(geom) FROM grid"))}
    inner = shapely.from_wkb(bytes(wkb)).buffer(-0.0005).simplify(0.0001)
    r = refused(edit_engine, egql, """mutation($c: String!, $z: String!, $g: GeoJSON!) {
        createGrid(code: "999", name: "x", community: $c, zone: $z, geometry: $g) { """ + RESULT + " } }",
                {"c": comm, "z": zone, "g": gj(inner)})
    assert r["code"] == "INVALID_CODE", r      # the code format first
    r = refused(edit_engine, egql, """mutation($c: String!, $z: String!, $g: GeoJSON!, $code: String!) {
        createGrid(code: $code, name: "x", community: $c, zone: $z, geometry: $g) { """ + RESULT + " } }",
                {"c": comm, "z": zone, "g": gj(inner), "code": comm + "999"})
    assert r["code"] == "INVALID_GEOMETRY", r
    expect = {c for c, g in grids.items() if m2(shapely.intersection(inner, g)) > 0.01}
    assert expect and {d["code"] for d in r["details"]} == expect


def test_grid_outside_its_community_is_refused(edit_engine: Engine, egql: Any, built: dict[str, Any],
                                               site: dict[str, Any]) -> None:
    r = refused(edit_engine, egql, f"""mutation($g: GeoJSON!) {{ createGrid(code: "{COMM_A}002",
        name: "x", community: "{COMM_A}", zone: "{ZONE}", geometry: $g) {{ {RESULT} }} }}""",
                {"g": gj(site["b"])})
    assert r["code"] == "INVALID_GEOMETRY" and r["details"][0]["problem"] == "OUTSIDE", r


def test_overlapping_county_and_township_are_refused(edit_engine: Engine, egql: Any,
                                                     built: dict[str, Any], site: dict[str, Any]) -> None:
    half = box(site["x0"] + 0.01, site["y0"], site["x0"] + 0.03, site["y0"] + 0.02)
    r = refused(edit_engine, egql, f"""mutation($g: GeoJSON!) {{ createCounty(code: "511798",
        name: "x", geometry: $g) {{ {RESULT} }} }}""", {"g": gj(half)})
    assert r["code"] == "INVALID_GEOMETRY" and r["details"][0]["code"] == COUNTY, r
    r = refused(edit_engine, egql, f"""mutation($g: GeoJSON!) {{ createTownship(code: "511799002",
        name: "x", county: "{COUNTY}", geometry: $g) {{ {RESULT} }} }}""", {"g": gj(site["b"])})
    assert r["code"] == "INVALID_GEOMETRY" and r["details"][0]["code"] == TOWNSHIP, r
    r = refused(edit_engine, egql, f"""mutation($g: GeoJSON!) {{ createTownship(code: "511799003",
        name: "x", county: "{COUNTY}", geometry: $g) {{ {RESULT} }} }}""", {"g": gj(half)})
    assert r["details"][0]["problem"] == "OUTSIDE", r


def test_codes_and_names_are_validated(edit_engine: Engine, egql: Any, built: dict[str, Any],
                                       site: dict[str, Any]) -> None:
    far = box(site["x0"] + 1, site["y0"], site["x0"] + 1.01, site["y0"] + 0.01)
    r = refused(edit_engine, egql, """mutation($g: GeoJSON!) { createCounty(code: "5117", name: "x",
        geometry: $g) { """ + RESULT + " } }", {"g": gj(far)})
    assert r["code"] == "INVALID_CODE"
    r = refused(edit_engine, egql, f"""mutation($g: GeoJSON!) {{ createTownship(code: "511725001",
        name: "x", county: "{COUNTY}", geometry: $g) {{ {RESULT} }} }}""", {"g": gj(site["b"])})
    assert r["code"] == "INVALID_CODE" and "511799" in r["message"]   # not under its county
    r = refused(edit_engine, egql, f"""mutation {{ createSector(code: "{SECTOR}", name: "x",
        county: "{COUNTY}") {{ {RESULT} }} }}""")
    assert r["code"] == "DUPLICATE_CODE"
    r = refused(edit_engine, egql, 'mutation { createPerson(code: "X1", name: "x") { ' + RESULT + " } }")
    assert r["code"] == "INVALID_CODE"
    r = refused(edit_engine, egql, 'mutation { createPerson(code: "P999002", name: " ") { ' + RESULT + " } }")
    assert r["code"] == "INVALID_NAME"


def test_still_referenced_units_are_not_deleted(edit_engine: Engine, egql: Any,
                                                built: dict[str, Any]) -> None:
    cases = {
        "retireCounty": (COUNTY, ["sectors", "townships"], SECTOR),
        "retireSector": (SECTOR, ["stations"], STATION),
        "retireTownship": (TOWNSHIP, ["communities"], COMM_A),
        "retirePerson": (PERSON, ["assignments"], STATION),
    }
    for mutation, (code, kinds, named) in cases.items():
        r = refused(edit_engine, egql, f'mutation {{ {mutation}(code: "{code}") {{ {RESULT} }} }}')
        assert r["code"] == "STILL_REFERENCED", r
        assert [d["kind"] for d in r["details"]] == kinds, r
        assert named in r["message"], r
    r = refused(edit_engine, egql, f'mutation {{ retireStation(code: "{STATION}") {{ {RESULT} }} }}')
    assert "still has zones" in r["message"]


def test_retire_is_for_admins_and_scope_holds(edit_engine: Engine, egql: Any, built: dict[str, Any]) -> None:
    r = refused(edit_engine, egql, f'mutation {{ retireSector(code: "{SECTOR}") {{ {RESULT} }} }}',
                who="editor")
    assert r["__typename"] == "ForbiddenError"
    r = refused(edit_engine, egql, f'mutation {{ updateGrid(code: "{GRID}", name: "y") {{ {RESULT} }} }}',
                who="scoped")
    assert r["__typename"] == "ForbiddenError"


def test_a_grid_and_a_person_without_references_are_deleted(
        edit_engine: Engine, egql: Any, built: dict[str, Any], site: dict[str, Any]) -> None:
    """A grid on B (the county still has uncovered land) and a person never assigned: both go."""
    ok(egql(f"""mutation($g: GeoJSON!) {{ createGrid(code: "{COMM_B}001", name: "二格",
        community: "{COMM_B}", zone: "{ZONE}", geometry: $g) {{ {RESULT} }} }}""",
            {"g": gj(site["b"].buffer(-0.001, join_style="mitre"))}, who="admin")["createGrid"])
    ok(egql(f'mutation {{ retireGrid(code: "{COMM_B}001") {{ {RESULT} }} }}', who="admin")["retireGrid"])
    ok(egql('mutation { createPerson(code: "P999003", name: "李四") { ' + RESULT + " } }",
            who="admin")["createPerson"])
    ok(egql('mutation { retirePerson(code: "P999003") { ' + RESULT + " } }", who="admin")["retirePerson"])
    with edit_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grid WHERE code = :g"),
                            {"g": f"{COMM_B}001"}).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM person WHERE code = 'P999003'")).scalar_one() == 0


def test_a_grid_of_a_tiled_county_is_not_deleted(edit_engine: Engine, egql: Any) -> None:
    """In the demo county (tiled) a grid without references still cannot go: the gap."""
    with edit_engine.connect() as conn:
        code = conn.execute(text(
            "SELECT g.code FROM grid g WHERE g.code LIKE '511725%' AND NOT EXISTS (SELECT 1 FROM "
            "address_point p WHERE p.grid_id = g.id) AND NOT EXISTS (SELECT 1 FROM incident i "
            "WHERE i.grid_id = g.id) AND NOT EXISTS (SELECT 1 FROM assignment a WHERE "
            "a.grid_id = g.id) ORDER BY code LIMIT 1")).scalar_one_or_none()
        if code is None:
            code = conn.execute(text("SELECT code FROM grid WHERE code LIKE '511725%' ORDER BY code "
                                     "LIMIT 1")).scalar_one()
    r = refused(edit_engine, egql, f'mutation {{ retireGrid(code: "{code}") {{ {RESULT} }} }}')
    assert r["code"] in ("INVALID_GEOMETRY", "STILL_REFERENCED"), r
