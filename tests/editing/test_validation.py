"""Domain validation in one layer (issue 16): code formats and codes under their parent, names,
points inside the county, codes that already exist — each a ValidationError with the rule as
its code and details, and nothing written. Database constraint names are never echoed."""

from __future__ import annotations

import json
from typing import Any

import pytest
import shapely
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from jurisgrid.config import EditSettings
from jurisgrid.editing.execute import map_db_error
from jurisgrid.editing.runner import run_edit
from jurisgrid.errors import RuleViolation
from tests.editing.conftest import ADMIN
from tests.editing.helpers import cut_line, fingerprint, grid_shape
from tests.editing.test_scope_every_mutation import lit


@pytest.fixture(scope="module")
def w(edit_engine: Engine) -> dict[str, Any]:
    with edit_engine.connect() as conn:
        q = lambda sql: conn.execute(text(sql)).one()  # noqa: E731
        grid, community, zone, station = q(
            "SELECT g.code, c.code, z.code, s.code FROM grid g JOIN community c ON c.id = g.community_id "
            "JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id "
            "ORDER BY g.code DESC OFFSET 3 LIMIT 1")
        (other_station,) = q(f"SELECT code FROM station WHERE code <> '{station}' ORDER BY code LIMIT 1")
        (other_community,) = q(f"SELECT code FROM community WHERE code <> '{community}' "
                               "ORDER BY code LIMIT 1")
        (sibling,) = q(f"SELECT code FROM grid WHERE code <> '{grid}' ORDER BY code LIMIT 1")
        township, other_township = conn.execute(text(
            "SELECT code FROM township ORDER BY code LIMIT 2")).scalars().all()
        (sector,) = q("SELECT code FROM sector ORDER BY code LIMIT 1")
        (county,) = q("SELECT code FROM county")
        (ap,) = q("SELECT code FROM address_point ORDER BY code LIMIT 1")
        (inc,) = q("SELECT code FROM incident ORDER BY code LIMIT 1")
        (person,) = q("SELECT code FROM person ORDER BY code LIMIT 1")
    p = grid_shape(edit_engine, grid).representative_point()
    tiny = json.loads(shapely.to_geojson(shapely.box(p.x, p.y, p.x + 1e-4, p.y + 1e-4)))
    return {"grid": grid, "community": community, "zone": zone, "station": station,
            "other_station": other_station, "other_community": other_community, "sibling": sibling,
            "township": township, "other_township": other_township, "sector": sector,
            "county": county, "ap": ap, "inc": inc, "person": person, "lon": p.x, "lat": p.y,
            "tiny": tiny, "line": cut_line(edit_engine, grid)}


OUT = {"lon": 0.0, "lat": 0.0}  # the probe: (0, 0), far outside the county

# (mutation, args, expected code, field named in details)
CASES: list[tuple[str, Any, str, str]] = [
    # codes: format, and under the parent
    ("createZone", lambda w: {"code": "á", "name": "Z", "station": w["station"]}, "INVALID_CODE", "code"),
    ("createZone", lambda w: {"code": f"{w['other_station']}Z91", "name": "Z", "station": w["station"]},
     "INVALID_CODE", "code"),
    ("createZone", lambda w: {"code": f"{w['station']}Z9", "name": "Z", "station": w["station"]},
     "INVALID_CODE", "code"),
    ("createStation", lambda w: {"code": "PS91", "name": "S", "sector": w["sector"], "lon": w["lon"],
                                 "lat": w["lat"]}, "INVALID_CODE", "code"),
    ("createCommunity", lambda w: {"code": f"{w['other_township']}991", "name": "C",
                                   "township": w["township"], "geometry": w["tiny"]}, "INVALID_CODE", "code"),
    ("splitGrid", lambda w: {"grid": w["grid"], "line": w["line"],
                             "newCodes": [f"{w['other_community']}901"]}, "INVALID_CODE", "newCodes"),
    ("splitGrid", lambda w: {"grid": w["grid"], "line": w["line"], "newCodes": [f"{w['community']}9"]},
     "INVALID_CODE", "newCodes"),
    ("createAssignment", lambda w: {"person": "someone", "role": "officer", "station": w["station"]},
     "INVALID_CODE", "person"),
    # codes that exist
    ("createZone", lambda w: {"code": w["zone"], "name": "Z", "station": w["station"]},
     "DUPLICATE_CODE", "code"),
    ("splitGrid", lambda w: {"grid": w["grid"], "line": w["line"], "newCodes": [w["grid"]]},
     "DUPLICATE_CODE", "newCodes"),
    ("createAddressPoint", lambda w: {"code": w["ap"], "address": "a", "lon": w["lon"], "lat": w["lat"]},
     "DUPLICATE_CODE", "code"),
    ("createIncident", lambda w: {"code": w["inc"], "category": "OTHER", "occurredAt": "2026-01-01T00:00:00Z",
                                  "lon": w["lon"], "lat": w["lat"]}, "DUPLICATE_CODE", "code"),
    # names
    ("createZone", lambda w: {"code": f"{w['station']}Z91", "name": "", "station": w["station"]},
     "INVALID_NAME", "name"),
    ("createZone", lambda w: {"code": f"{w['station']}Z91", "name": "   ", "station": w["station"]},
     "INVALID_NAME", "name"),
    ("updateStation", lambda w: {"code": w["station"], "name": ""}, "INVALID_NAME", "name"),
    ("updateCommunity", lambda w: {"code": w["community"], "name": " "}, "INVALID_NAME", "name"),
    ("createAddressPoint", lambda w: {"code": "V-AP-1", "address": "", "lon": w["lon"], "lat": w["lat"]},
     "INVALID_NAME", "address"),
    # points outside the county
    ("createAddressPoint", lambda w: {"code": "V-AP-2", "address": "a", **OUT}, "OUTSIDE_COUNTY",
     "the point"),
    ("updateAddressPoint", lambda w: {"code": w["ap"], **OUT}, "OUTSIDE_COUNTY", "the point"),
    ("createIncident", lambda w: {"code": "V-INC-1", "category": "OTHER",
                                  "occurredAt": "2026-01-01T00:00:00Z", **OUT}, "OUTSIDE_COUNTY",
     "the point"),
    ("updateIncident", lambda w: {"code": w["inc"], **OUT}, "OUTSIDE_COUNTY", "the point"),
    ("createStation", lambda w: {"code": f"{w['county']}PS91", "name": "S", "sector": w["sector"], **OUT},
     "OUTSIDE_COUNTY", "seat"),
    ("updateStation", lambda w: {"code": w["station"], **OUT}, "OUTSIDE_COUNTY", "seat"),
]


@pytest.mark.parametrize("op, args, code, field", CASES,
                         ids=[f"{op}-{code}-{i}" for i, (op, _, code, _) in enumerate(CASES)])
def test_bad_domain_data_is_a_validation_error(op: str, args: Any, code: str, field: str,
                                               w: dict[str, Any], egql, edit_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    a = args(w)
    query = (f"mutation {{ {op}({', '.join(f'{k}: {lit(v)}' for k, v in a.items())}) {{ __typename "
             "... on EditError { code message details } } }")
    before = fingerprint(edit_engine)
    out = egql(query, who="admin")[op]
    assert out["__typename"] == "ValidationError" and out["code"] == code, out
    assert any(d.get("field") == field for d in out["details"]), out
    assert "_key" not in out["message"] and "constraint" not in out["message"]
    assert fingerprint(edit_engine) == before


def test_a_scheduled_edit_is_validated_again_when_it_takes_effect(edit_engine: Engine, w) -> None:  # type: ignore[no-untyped-def]
    """A zone code free when scheduled but taken by then: the scheduled create fails with
    DUPLICATE_CODE (recorded), instead of a database error that would stop every due edit."""
    from datetime import UTC, datetime, timedelta

    from jurisgrid.editing.schedule import apply_due
    from jurisgrid.models.history import scheduled

    s = EditSettings()
    code = f"{w['station']}Z92"
    sid = run_edit(edit_engine, "createZone", {"code": code, "name": "later", "station": w["station"]},
                   principal=ADMIN, settings=s,
                   effective_from=datetime.now(UTC) + timedelta(hours=1)).scheduled_id
    run_edit(edit_engine, "createZone", {"code": code, "name": "now", "station": w["station"]},
             principal=ADMIN, settings=s)
    try:
        with edit_engine.begin() as conn:
            conn.execute(text("UPDATE scheduled_edit SET effective_from = now() - interval '1 s' "
                              "WHERE id = :i"), {"i": sid})
        apply_due(edit_engine, settings=s)
        with edit_engine.connect() as conn:
            row = next(r for r in scheduled(conn) if r["id"] == sid)
        assert row["status"] == "failed" and row["error_code"] == "DUPLICATE_CODE", row
    finally:
        run_edit(edit_engine, "retireZone", {"code": code}, principal=ADMIN, settings=s)


def test_valid_codes_pass_and_the_formats_are_settings(edit_engine: Engine, w) -> None:  # type: ignore[no-untyped-def]
    code = f"{w['station']}Z93"
    out = run_edit(edit_engine, "createZone", {"code": code, "name": "ok", "station": w["station"]},
                   principal=ADMIN, settings=EditSettings(), dry_run=True)
    assert out.revision is None
    custom = EditSettings(edit_zone_code_format=r"{station}-Q\d{3}")
    run_edit(edit_engine, "createZone", {"code": f"{w['station']}-Q001", "name": "ok",
                                         "station": w["station"]}, principal=ADMIN, settings=custom,
             dry_run=True)
    with pytest.raises(RuleViolation) as exc:
        run_edit(edit_engine, "createZone", {"code": code, "name": "ok", "station": w["station"]},
                 principal=ADMIN, settings=custom, dry_run=True)
    assert exc.value.code == "INVALID_CODE" and exc.value.details[0]["format"] == r"{station}-Q\d{3}"
    unchecked = EditSettings(edit_zone_code_format="")
    run_edit(edit_engine, "createZone", {"code": "anything", "name": "ok", "station": w["station"]},
             principal=ADMIN, settings=unchecked, dry_run=True)


def test_unique_violations_name_the_code_not_the_constraint(edit_engine: Engine, w) -> None:  # type: ignore[no-untyped-def]
    with edit_engine.connect() as conn:
        with pytest.raises(IntegrityError) as caught:
            conn.execute(text("INSERT INTO grid (code, name, community_id, zone_id, geom) SELECT code, "
                              "name, community_id, zone_id, geom FROM grid WHERE code = :g"),
                         {"g": w["grid"]})
        conn.rollback()
    assert "grid_code_key" in str(caught.value)  # what used to reach the client
    err = map_db_error(caught.value)
    assert isinstance(err, RuleViolation) and err.code == "DUPLICATE_CODE"
    assert err.message == f"grid code {w['grid']} already exists"
    assert "grid_code_key" not in err.message


def test_control_characters_are_refused_below_graphql_too(edit_engine: Engine, w) -> None:  # type: ignore[no-untyped-def]
    """GraphQL refuses them at its boundary; the CLI and scheduled edits come through here."""
    before = fingerprint(edit_engine)
    with pytest.raises(RuleViolation) as exc:
        run_edit(edit_engine, "updateZone", {"code": w["zone"], "name": "bell\u0007"}, principal=ADMIN,
                 settings=EditSettings())
    assert exc.value.code == "INVALID_NAME" and exc.value.details == [{"field": "name",
                                                                       "characters": ["U+0007"]}]
    assert fingerprint(edit_engine) == before
