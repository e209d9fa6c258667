"""Every edit mutation is scope-checked (issue 16): a token scoped to station S1 that names
units of another station gets a ForbiddenError, and nothing is written. Admin-only mutations
are tried with an admin token scoped to S1 — a scoped admin is still scoped."""

from __future__ import annotations

import json
from typing import Any

import pytest
import shapely
from sqlalchemy import Engine, text

from jurisgrid.auth.tokens import create_token
from jurisgrid.config import EditSettings
from jurisgrid.editing.registry import OPS
from jurisgrid.editing.runner import run_edit
from jurisgrid.models.plans import Scope, create_plan
from tests.editing.conftest import ADMIN
from tests.editing.helpers import cut_line, fingerprint, grid_shape


def lit(v: Any) -> str:
    """A Python value as a GraphQL input literal."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(lit(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {lit(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


@pytest.fixture(scope="module")
def world(edit_engine: Engine, tokens: dict[str, str]) -> dict[str, Any]:
    """Units of a station S2 other than the scoped token's S1, and a scoped admin token."""
    s1 = tokens["scoped_station"]
    with edit_engine.begin() as conn:
        q = lambda sql, **p: conn.execute(text(sql), p)  # noqa: E731
        s2, s3 = q("SELECT s.code FROM station s WHERE s.code <> :s AND EXISTS (SELECT 1 FROM zone z "
                   "JOIN grid g ON g.zone_id = z.id WHERE z.station_id = s.id) ORDER BY s.code LIMIT 2",
                   s=s1).scalars().all()
        grid2, grid2b, zone2, community2 = q(
            "SELECT g.code, (SELECT g2.code FROM grid g2 JOIN zone z2 ON z2.id = g2.zone_id "
            "WHERE z2.station_id = z.station_id AND g2.code <> g.code ORDER BY g2.code LIMIT 1), "
            "z.code, c.code FROM grid g JOIN zone z ON z.id = g.zone_id JOIN station s ON "
            "s.id = z.station_id JOIN community c ON c.id = g.community_id WHERE s.code = :s "
            "AND NOT EXISTS (SELECT 1 FROM grid o JOIN zone oz ON oz.id = o.zone_id "
            "WHERE o.community_id = c.id AND oz.station_id <> z.station_id) "
            "AND EXISTS (SELECT 1 FROM address_point p WHERE p.grid_id = g.id) "
            "ORDER BY g.code LIMIT 1", s=s2).one()
        ap2 = q("SELECT p.code FROM address_point p JOIN grid g ON g.id = p.grid_id JOIN zone z ON "
                "z.id = g.zone_id JOIN station s ON s.id = z.station_id WHERE s.code = :s "
                "ORDER BY p.code LIMIT 1", s=s2).scalar_one()
        inc2 = q("SELECT p.code FROM incident p JOIN grid g ON g.id = p.grid_id JOIN zone z ON "
                 "z.id = g.zone_id JOIN station s ON s.id = z.station_id WHERE s.code = :s "
                 "ORDER BY p.code LIMIT 1", s=s2).scalar_one()
        asg2, asg1 = (q("SELECT a.id FROM assignment a JOIN station s ON s.id = a.station_id "
                        "WHERE s.code = :s AND a.valid_to IS NULL ORDER BY a.id LIMIT 1", s=s).scalar_one()
                      for s in (s2, s1))
        person = q("SELECT code FROM person ORDER BY code LIMIT 1").scalar_one()
        person2 = q("SELECT p.code FROM assignment a JOIN person p ON p.id = a.person_id "
                    "WHERE a.id = :i", i=asg2).scalar_one()
        sector = q("SELECT code FROM sector ORDER BY code LIMIT 1").scalar_one()
        county = q("SELECT code FROM county").scalar_one()
        township = q("SELECT code FROM township ORDER BY code LIMIT 1").scalar_one()
        scoped_admin = create_token(conn, role="admin", station_code=s1, label="t-scoped-admin")
        revision = q("SELECT coalesce(max(id), 0) FROM revision").scalar_one()
        plan2 = create_plan(conn, name="scope test plan", description=None,
                            scope=Scope("station", s2), actor="test", base_revision=revision)
    # a revision that changed only a zone of S2 (no grid moves): reverting it is S2's business
    zone_kind = run_edit(edit_engine, "updateZone", {"code": zone2, "kind": "urban"}, principal=ADMIN,
                         settings=EditSettings(), reason="scope test fixture")
    assert zone_kind.revision is not None
    shape = grid_shape(edit_engine, grid2)
    p = shape.representative_point()
    return {"s1": s1, "s2": s2, "s3": s3, "grid2": grid2, "grid2b": grid2b, "zone2": zone2,
            "community2": community2, "ap2": ap2, "inc2": inc2, "asg2": asg2, "asg1": asg1,
            "person": person, "person2": person2, "sector": sector, "county": county, "township": township,
            "lon": p.x, "lat": p.y, "shape": json.loads(shapely.to_geojson(shape)),
            "line": cut_line(edit_engine, grid2), "rev2": zone_kind.revision.id,
            "scoped_admin": scoped_admin, "plan2": str(plan2),
            "tiny": json.loads(shapely.to_geojson(shapely.box(p.x, p.y, p.x + 1e-4, p.y + 1e-4)))}


# (mutation, token, args from the world)
CASES: list[tuple[str, str, Any]] = [
    ("reassignGrids", "scoped", lambda w: {"grids": [w["grid2"]], "toZone": w["zone2"]}),
    ("reassignCommunity", "scoped", lambda w: {"community": w["community2"], "toZone": w["zone2"]}),
    ("moveZone", "scoped", lambda w: {"zone": w["zone2"], "toStation": w["s3"]}),
    ("redrawGrid", "scoped", lambda w: {"grid": w["grid2"], "geometry": w["shape"]}),
    ("splitGrid", "scoped", lambda w: {"grid": w["grid2"], "line": w["line"]}),
    ("mergeGrids", "scoped", lambda w: {"grids": [w["grid2"], w["grid2b"]]}),
    ("revert", "scoped", lambda w: {"revision": w["rev2"]}),
    ("createStation", "scoped_admin", lambda w: {"code": f"{w['county']}PS91", "name": "S",
                                                 "sector": w["sector"], "lon": w["lon"], "lat": w["lat"]}),
    ("updateStation", "scoped", lambda w: {"code": w["s2"], "name": "renamed"}),
    ("retireStation", "scoped_admin", lambda w: {"code": w["s2"]}),
    ("createZone", "scoped", lambda w: {"code": f"{w['s2']}Z91", "name": "Z", "station": w["s2"]}),
    ("updateZone", "scoped", lambda w: {"code": w["zone2"], "name": "renamed"}),
    ("retireZone", "scoped", lambda w: {"code": w["zone2"]}),
    ("createCommunity", "scoped_admin", lambda w: {"code": f"{w['township']}991", "name": "C",
                                                   "township": w["township"], "geometry": w["tiny"]}),
    ("updateCommunity", "scoped", lambda w: {"code": w["community2"], "name": "renamed"}),
    ("retireCommunity", "scoped_admin", lambda w: {"code": w["community2"]}),
    ("createAssignment", "scoped", lambda w: {"person": w["person"], "role": "officer", "station": w["s2"]}),
    ("updateAssignment", "scoped", lambda w: {"id": w["asg2"], "role": "officer"}),
    ("retireAssignment", "scoped", lambda w: {"id": w["asg2"]}),
    ("createAddressPoint", "scoped", lambda w: {"code": "SCOPE-AP-1", "address": "1 Scope Rd",
                                                "lon": w["lon"], "lat": w["lat"], "households": 1}),
    ("updateAddressPoint", "scoped", lambda w: {"code": w["ap2"], "households": 3}),
    ("retireAddressPoint", "scoped", lambda w: {"code": w["ap2"]}),
    ("createIncident", "scoped", lambda w: {"code": "SCOPE-INC-1", "category": "DISPUTE",
                                            "occurredAt": "2026-01-02T03:04:05Z",
                                            "lon": w["lon"], "lat": w["lat"]}),
    ("updateIncident", "scoped", lambda w: {"code": w["inc2"], "category": "OTHER"}),
    ("retireIncident", "scoped", lambda w: {"code": w["inc2"]}),
    # counties, sectors, townships, grids as units, persons (editing/admin_units.py)
    ("createCounty", "scoped_admin", lambda w: {"code": "511798", "name": "K", "geometry": w["tiny"]}),
    ("updateCounty", "scoped_admin", lambda w: {"code": w["county"], "name": "renamed"}),
    ("retireCounty", "scoped_admin", lambda w: {"code": w["county"]}),
    ("createSector", "scoped_admin", lambda w: {"code": "SCOPE-S1", "name": "S", "county": w["county"]}),
    ("updateSector", "scoped_admin", lambda w: {"code": w["sector"], "name": "renamed"}),
    ("retireSector", "scoped_admin", lambda w: {"code": w["sector"]}),
    ("createTownship", "scoped_admin", lambda w: {"code": f"{w['county']}991", "name": "T",
                                                  "county": w["county"], "geometry": w["tiny"]}),
    ("updateTownship", "scoped_admin", lambda w: {"code": w["township"], "name": "renamed"}),
    ("retireTownship", "scoped_admin", lambda w: {"code": w["township"]}),
    ("createGrid", "scoped", lambda w: {"code": f"{w['community2']}991", "name": "G",
                                        "community": w["community2"], "zone": w["zone2"],
                                        "geometry": w["tiny"]}),
    ("updateGrid", "scoped", lambda w: {"code": w["grid2"], "name": "renamed"}),
    ("retireGrid", "scoped", lambda w: {"code": w["grid2"]}),
    ("createPerson", "scoped", lambda w: {"code": "P999901", "name": "P"}),
    ("updatePerson", "scoped", lambda w: {"code": w["person2"], "name": "renamed"}),
    ("retirePerson", "scoped_admin", lambda w: {"code": w["person2"]}),
    # a plan of S2 (models/plans.py): published only by editors in its scope
    ("publishPlan", "scoped", lambda w: {"id": w["plan2"]}),
    # an assignment in S1 may not name a zone of S2
    ("createAssignment", "scoped", lambda w: {"person": w["person"], "role": "auxiliary",
                                              "station": w["s1"], "zone": w["zone2"]}),
    ("updateAssignment", "scoped", lambda w: {"id": w["asg1"], "grid": w["grid2"]}),
]


def test_every_mutation_has_a_case() -> None:
    # importGrids and loadJurisdiction are no mutations (the file import and `jurisgrid load`;
    # county-wide admins only: tests/editing/test_commands.py, tests/onboard/test_load_revision.py)
    assert set(OPS) - {"importGrids", "loadJurisdiction"} == {op for op, _, _ in CASES}


@pytest.mark.parametrize("op, who, args", CASES,
                         ids=[f"{op}-{i}" for i, (op, _, _) in enumerate(CASES)])
def test_a_token_of_another_station_is_forbidden(op: str, who: str, args: Any, world: dict[str, Any],
                                                 edit_client, tokens, edit_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    secret = world["scoped_admin"] if who == "scoped_admin" else tokens[who]
    a = args(world)
    query = (f"mutation {{ {op}({', '.join(f'{k}: {lit(v)}' for k, v in a.items())}) {{ __typename "
             "... on EditError { code message details } } }")
    before = fingerprint(edit_engine)
    res = edit_client.post("/graphql", json={"query": query},
                           headers={"Authorization": f"Bearer {secret}"})
    assert res.status_code == 200, res.text
    body = res.json()
    assert "errors" not in body, body
    out = body["data"][op]
    assert out["__typename"] == "ForbiddenError" and out["code"] == "FORBIDDEN", out
    assert world["s1"] in out["message"]
    assert fingerprint(edit_engine) == before
