"""Incident categories as data (issue 11 item 5): add, rename, weigh and map local 警情 codes
through GraphQL and the CLI; refusals write nothing; an import counts a mapped local code under
its category and lists unknown categories in its report instead of dropping them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from jurisgrid.io.transfer import ImportRefused, import_file
from jurisgrid.models.policy import current_policy
from tests.editing.helpers import grid_shape

FIELDS = "code name weight incidents localCodes { localCode name }"
RESULT = f"__typename ... on IncidentCategory {{ {FIELDS} }} ... on EditError {{ code message details }}"


def state(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text(
            "SELECT md5(coalesce((SELECT string_agg(code || name, '|' ORDER BY code) "
            "FROM incident_category), '') "
            "|| coalesce((SELECT string_agg(local_code || category || coalesce(name, ''), '|' "
            "ORDER BY local_code) FROM incident_category_alias), '') "
            "|| (SELECT count(*) FROM sizing_policy))")).scalar_one())


def run(egql: Any, mutation: str, args: str, who: str = "admin") -> dict[str, Any]:
    return egql(f"mutation {{ {mutation}({args}) {{ {RESULT} }} }}", who=who)[mutation]


def refused(engine: Engine, egql: Any, mutation: str, args: str, who: str = "admin") -> dict[str, Any]:
    before = state(engine)
    r = run(egql, mutation, args, who)
    assert r["__typename"] != "IncidentCategory", r
    assert state(engine) == before
    return r


def test_add_rename_weigh_and_map(edit_engine: Engine, egql: Any) -> None:
    r = run(egql, "createIncidentCategory", 'code: "BURGLARY", name: "入室盗窃", weight: 3.5')
    assert r["__typename"] == "IncidentCategory" and r["weight"] == 3.5 and r["incidents"] == 0, r
    with edit_engine.connect() as conn:
        assert current_policy(conn).policy.category_weights["BURGLARY"] == 3.5
    listed = {c["code"]: c for c in egql(f"{{ incidentCategories {{ {FIELDS} }} }}")["incidentCategories"]}
    assert listed["BURGLARY"]["name"] == "入室盗窃" and "CRIMINAL" in listed
    r = run(egql, "renameIncidentCategory", 'code: "BURGLARY", name: "盗窃（入室）"')
    assert r["name"] == "盗窃（入室）", r
    r = run(egql, "setIncidentCategoryWeight", 'code: "BURGLARY", weight: 4')
    assert r["weight"] == 4, r
    r = run(egql, "mapIncidentCategory", 'localCode: "0301", category: "BURGLARY", name: "入室盗窃"')
    assert r["localCodes"] == [{"localCode": "0301", "name": "入室盗窃"}], r
    r = run(egql, "mapIncidentCategory", 'localCode: "0301", category: "CRIMINAL"')   # moves it
    assert {"localCode": "0301", "name": None} in r["localCodes"], r
    r = run(egql, "unmapIncidentCategory", 'localCode: "0301"')
    assert r["code"] == "CRIMINAL" and r["localCodes"] == [], r


@pytest.mark.parametrize("mutation, args, code", [
    ("createIncidentCategory", 'code: "burglary", name: "x"', "INVALID_CODE"),
    ("createIncidentCategory", 'code: "CRIMINAL", name: "新"', "DUPLICATE_CODE"),
    ("createIncidentCategory", 'code: "NEW_ONE", name: "纠纷"', "DUPLICATE_CODE"),
    ("createIncidentCategory", 'code: "NEW_ONE", name: " "', "INVALID_NAME"),
    ("createIncidentCategory", 'code: "NEW_ONE", name: "x", weight: -1', "BAD_USER_INPUT"),
    ("renameIncidentCategory", 'code: "NOPE", name: "x"', "NOT_FOUND"),
    ("renameIncidentCategory", 'code: "FIRE", name: "纠纷"', "DUPLICATE_CODE"),
    ("setIncidentCategoryWeight", 'code: "FIRE", weight: 1e9', "BAD_USER_INPUT"),
    ("mapIncidentCategory", 'localCode: "纠纷", category: "FIRE"', "DUPLICATE_CODE"),
    ("mapIncidentCategory", 'localCode: "0101", category: "NOPE"', "NOT_FOUND"),
    ("unmapIncidentCategory", 'localCode: "never-mapped"', "NOT_FOUND"),
])
def test_refusals_write_nothing(edit_engine: Engine, egql: Any, mutation: str, args: str,
                                code: str) -> None:
    assert refused(edit_engine, egql, mutation, args)["code"] == code


def test_only_county_wide_admins(edit_engine: Engine, egql: Any) -> None:
    for who in ("editor", "viewer", "scoped"):
        r = refused(edit_engine, egql, "createIncidentCategory", 'code: "NEW_TWO", name: "x"', who=who)
        assert r["__typename"] == "ForbiddenError", r


def _incidents(path: Path, engine: Engine, categories: list[str]) -> Path:
    with engine.connect() as conn:
        grid = conn.execute(text("SELECT code FROM grid ORDER BY code LIMIT 1")).scalar_one()
    p = grid_shape(engine, grid).representative_point()
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [p.x, p.y]},
         "properties": {"code": f"CAT-TEST-{i}", "category": c, "occurred": "2026-03-01 10:00:00"}}
        for i, c in enumerate(categories)]}, ensure_ascii=False), encoding="utf-8")
    return path


def test_import_maps_local_codes_and_lists_unknown_ones(edit_engine: Engine, egql: Any,
                                                        tmp_path: Path) -> None:
    assert run(egql, "mapIncidentCategory", 'localCode: "0102", category: "PUBLIC_ORDER"')["__typename"] \
        == "IncidentCategory"
    path = _incidents(tmp_path / "110.geojson", edit_engine, ["0102", "刑事", "9999", "9999", "8888"])
    with pytest.raises(ImportRefused) as exc:
        import_file(edit_engine, "incidents", path, dry_run=True)
    assert "unknown incident categories: 8888 (1), 9999 (2)" in exc.value.message
    assert sorted(d["index"] for d in exc.value.details) == [2, 3, 4]
    report = import_file(edit_engine, "incidents", path, partial=True, dry_run=True)
    assert report.unknown_categories == {"8888": 1, "9999": 2}
    assert report.result is not None and report.result.inserted == 2
    run(egql, "unmapIncidentCategory", 'localCode: "0102"')


def test_cli(edit_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import jurisgrid.cli.console as console
    from jurisgrid.cli import app

    monkeypatch.setattr(console, "engine", lambda: edit_engine)
    invoke: Any = CliRunner().invoke
    r = invoke(app, ["categories", "map", "0201", "TRAFFIC", "--name", "交通事故"])
    assert r.exit_code == 0 and "0201 (交通事故)" in r.stdout, r.output
    r = invoke(app, ["categories", "list"])
    assert r.exit_code == 0 and "TRAFFIC" in r.stdout and "0201" in r.stdout, r.output
    before = state(edit_engine)
    r = invoke(app, ["categories", "add", "lower", "x"])
    assert r.exit_code == 2 and "category code" in r.stderr, r.output
    assert state(edit_engine) == before
    r = invoke(app, ["categories", "unmap", "0201"])
    assert r.exit_code == 0, r.output


def test_create_incident_resolves_local_codes(edit_engine: Engine, egql: Any) -> None:
    """createIncident accepts what the import accepts (a mapped local code) and refuses an
    unknown category by name, writing nothing."""
    with edit_engine.connect() as conn:
        grid = conn.execute(text("SELECT code FROM grid ORDER BY code LIMIT 1")).scalar_one()
    p = grid_shape(edit_engine, grid).representative_point()
    run(egql, "mapIncidentCategory", 'localCode: "0401", category: "FIRE"')
    q = """mutation($c: String!, $cat: String!, $lon: Float!, $lat: Float!) {
      createIncident(code: $c, category: $cat, occurredAt: "2026-03-01T10:00:00+08:00", lon: $lon,
      lat: $lat, options: {dryRun: true}) { __typename ... on EditError { code message details } } }"""
    before = state(edit_engine)
    r = egql(q, {"c": "CAT-EDIT-2", "cat": "NO_SUCH", "lon": p.x, "lat": p.y})["createIncident"]
    assert r["code"] == "UNKNOWN_CATEGORY" and r["details"][0]["field"] == "category", r
    assert state(edit_engine) == before
    r = egql(q.replace("options: {dryRun: true}", "options: {reason: \"110\"}"),
             {"c": "CAT-EDIT-1", "cat": "0401", "lon": p.x, "lat": p.y})["createIncident"]
    assert r["__typename"] == "EditSuccess", r
    with edit_engine.connect() as conn:
        got = conn.execute(text("SELECT category FROM incident WHERE code = 'CAT-EDIT-1'")).scalar_one()
    assert got == "FIRE"
    gone = egql('mutation { retireIncident(code: "CAT-EDIT-1") { __typename } }')["retireIncident"]
    assert gone["__typename"] == "EditSuccess"
    run(egql, "unmapIncidentCategory", 'localCode: "0401"')
