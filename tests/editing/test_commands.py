"""Typed edit commands (issue 14 item 3): one model per operation in the registry; every writer
— GraphQL (``options:`` or the deprecated four arguments), ``jurisgrid edit`` and the grid
import — goes through it, with a typed error naming the field and nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest
import shapely
from sqlalchemy import Engine, text

from jurisgrid.editing.commands import Command, ReassignGrids
from jurisgrid.editing.registry import OPS
from jurisgrid.editing.runner import run_edit
from jurisgrid.errors import Forbidden, InvalidInput
from tests.editing.conftest import ADMIN, EDITOR
from tests.editing.helpers import fingerprint


@pytest.fixture
def grid_and_zone(edit_engine: Engine) -> tuple[str, str, str]:
    """A grid, its zone, and a zone of another station."""
    with edit_engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT g.code, z.code, (SELECT z2.code FROM zone z2 WHERE z2.station_id <> z.station_id "
            "ORDER BY z2.code LIMIT 1) FROM grid g JOIN zone z ON z.id = g.zone_id "
            "ORDER BY g.code LIMIT 1")).one())  # type: ignore[return-value]


def test_every_operation_has_a_command_model() -> None:
    import jurisgrid.editing.execute  # noqa: F401

    assert len(OPS) >= 25
    for name, op in OPS.items():
        assert issubclass(op.command, Command), name
        assert op.command.model_config.get("extra") == "forbid", name


@pytest.mark.parametrize("args, field, words", [
    ({"grids": ["511725001001001"]}, "toZone", "Field required"),
    ({"grids": [], "toZone": "Z"}, "grids", "non-empty list"),
    ({"grids": ["A", "A"], "toZone": "Z"}, "grids", "listed twice"),
    ({"grids": "A", "toZone": "Z"}, "grids", "valid list"),
    ({"grids": ["A"], "toZone": "Z", "tozone": "Z"}, "tozone", "Extra inputs"),
])
def test_bad_arguments_name_the_field_and_write_nothing(edit_engine: Engine, edit_settings: Any,
                                                        args: dict[str, Any], field: str,
                                                        words: str) -> None:
    before = fingerprint(edit_engine)
    with pytest.raises(InvalidInput) as exc:
        run_edit(edit_engine, "reassignGrids", args, principal=ADMIN, settings=edit_settings)
    assert exc.value.code == "BAD_USER_INPUT"
    assert any(d["field"] == field for d in exc.value.details), exc.value.details
    assert field in exc.value.message and words in exc.value.message, exc.value.message
    assert fingerprint(edit_engine) == before


def test_unknown_operation_and_crs_are_refused(edit_engine: Engine, edit_settings: Any) -> None:
    with pytest.raises(InvalidInput, match="unknown operation 'teleportGrid'"):
        run_edit(edit_engine, "teleportGrid", {}, principal=ADMIN, settings=edit_settings)
    with pytest.raises(InvalidInput) as exc:
        run_edit(edit_engine, "createAddressPoint", {"code": "X", "address": "a", "lon": 106.9,
                                                     "lat": 30.8, "crs": "EPSG:9999"},
                 principal=ADMIN, settings=edit_settings)
    assert exc.value.details[0]["field"] == "crs"


def test_the_role_is_checked_before_the_arguments(edit_engine: Engine, edit_settings: Any) -> None:
    """An editor asking for an admin operation is Forbidden whatever it sends."""
    with pytest.raises(Forbidden):
        run_edit(edit_engine, "createStation", {"nonsense": 1}, principal=EDITOR, settings=edit_settings)


def test_a_typed_command_runs_and_round_trips_as_json(edit_engine: Engine, edit_settings: Any,
                                                      grid_and_zone: tuple[str, str, str]) -> None:
    grid, _home, other = grid_and_zone
    cmd = ReassignGrids(grids=[grid], to_zone=other)
    assert cmd.as_args() == {"grids": [grid], "toZone": other}
    assert OPS["reassignGrids"].parse(cmd.as_args()) == cmd
    out = run_edit(edit_engine, "reassignGrids", cmd, principal=ADMIN, settings=edit_settings,
                   dry_run=True)
    assert out.revision is None and out.impact.grids == [grid]


# -- GraphQL: options and the deprecated arguments ----------------------------------------------
OPTIONS = """mutation($grids: [String!]!, $zone: String!, $o: EditOptions) {
  reassignGrids(grids: $grids, toZone: $zone, options: $o) {
    __typename ... on EditSuccess { dryRun revision { id reason } scheduledId }
    ... on EditError { code message details } } }"""
BOTH = """mutation($grids: [String!]!, $zone: String!, $o: EditOptions) {
  reassignGrids(grids: $grids, toZone: $zone, options: $o, reason: "old style") {
    __typename ... on EditError { code message details } } }"""


def test_options_input(edit_engine: Engine, egql: Any, grid_and_zone: tuple[str, str, str]) -> None:
    grid, home, other = grid_and_zone
    before = fingerprint(edit_engine)
    r = egql(OPTIONS, {"grids": [grid], "zone": other, "o": {"dryRun": True, "reason": "look"}})
    r = r["reassignGrids"]
    assert r["__typename"] == "EditSuccess" and r["dryRun"] is True and r["revision"] is None, r
    assert fingerprint(edit_engine) == before
    r = egql(BOTH, {"grids": [grid], "zone": other, "o": {"dryRun": True}})["reassignGrids"]
    assert r["__typename"] == "ValidationError" and r["code"] == "BAD_USER_INPUT", r
    assert "reason" in r["message"] and r["details"][0]["field"] == "reason", r
    assert fingerprint(edit_engine) == before
    seen = egql("{ currentRevision }")["currentRevision"]
    r = egql(OPTIONS, {"grids": [grid], "zone": other,
                       "o": {"reason": "typed options", "expectedRevision": seen}})["reassignGrids"]
    assert r["__typename"] == "EditSuccess" and r["revision"]["reason"] == "typed options", r
    back = egql(OPTIONS, {"grids": [grid], "zone": home,
                          "o": {"expectedRevision": r["revision"]["id"]}})["reassignGrids"]
    assert back["__typename"] == "EditSuccess", back


def test_options_schedule_and_revert_refuses_effective_from(egql: Any,
                                                            grid_and_zone: tuple[str, str, str]) -> None:
    grid, _home, other = grid_and_zone
    r = egql(OPTIONS, {"grids": [grid], "zone": other,
                       "o": {"effectiveFrom": "2099-01-01T00:00:00+08:00"}})["reassignGrids"]
    assert r["__typename"] == "EditSuccess" and r["scheduledId"] is not None, r
    c = egql("mutation($i: Int!) { cancelScheduledEdit(id: $i) { __typename } }", {"i": r["scheduledId"]})
    assert c["cancelScheduledEdit"]["__typename"] == "CancelSuccess"
    r = egql("""mutation { revert(revision: 1, options: {effectiveFrom: "2099-01-01T00:00:00Z"}) {
      __typename ... on EditError { code details } } }""")["revert"]
    assert r["__typename"] == "ValidationError" and r["details"][0]["field"] == "options.effectiveFrom"


def test_the_four_arguments_are_deprecated_on_every_edit_mutation(egql: Any) -> None:
    q = """{ __schema { mutationType { fields { name
      args(includeDeprecated: true) { name isDeprecated type { name kind ofType { name } } } } } } }"""
    fields = egql(q)["__schema"]["mutationType"]["fields"]
    edits = [f for f in fields if any(a["name"] == "options" for a in f["args"])]
    assert len(edits) >= 25
    for f in edits:
        args = {a["name"]: a for a in f["args"]}
        assert (args["options"]["type"]["name"] or args["options"]["type"]["ofType"]["name"]) == "EditOptions"
        for old in ("reason", "expectedRevision", "dryRun"):
            assert args[old]["isDeprecated"], (f["name"], old)


# -- the CLI ------------------------------------------------------------------------------------
@pytest.fixture
def cli(edit_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``jurisgrid edit …`` in-process (typer's runner) on the editing database."""
    from typer.testing import CliRunner

    import jurisgrid.cli.console as console
    from jurisgrid.cli import app

    monkeypatch.setattr(console, "engine", lambda: edit_engine)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["edit", *args], env={"COLUMNS": "200"})

    return run


def test_cli_edit(edit_engine: Engine, cli: Any, grid_and_zone: tuple[str, str, str]) -> None:
    grid, home, other = grid_and_zone
    before = fingerprint(edit_engine)
    r = cli("reassignGrids", f"grids={grid}", f"to-zone={other}", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "dry run: nothing written" in r.stdout and "grids 1" in r.stdout, r.stdout
    r = cli("reassignGrids", f"grids={grid}")
    assert r.exit_code == 2 and "toZone" in r.stderr and "Field required" in r.stderr, r.stderr
    r = cli("reassignGrids", f"grids={grid}", f"zone={other}")
    assert r.exit_code == 2 and "unknown field 'zone'" in r.stderr, r.stderr
    assert fingerprint(edit_engine) == before
    r = cli("updateZone", "--json", json.dumps({"code": home, "kind": "urban"}),
            "--reason", "from the CLI", "--actor", "cli-test")
    assert r.exit_code == 0 and r.stdout.startswith("revision "), r.output
    rid = int(r.stdout.split()[1])
    with edit_engine.connect() as conn:
        row = conn.execute(text("SELECT actor, kind, reason FROM revision WHERE id = :r"), {"r": rid}).one()
    assert tuple(row) == ("cli-test", "updateZone", "from the CLI")
    r = cli("--list")
    assert r.exit_code == 0 and "reassignGrids" in r.stdout and "toZone" in r.stdout


# -- the grid import goes through the registry ---------------------------------------------------
def test_grid_import_is_an_edit_operation(edit_engine: Engine) -> None:
    """load_grids runs ``importGrids`` through execute(): its role is checked (a viewer or an
    editor may not import) and a bad record is refused by the command model, nothing written."""
    from jurisgrid.io.load import load_grids

    with edit_engine.connect() as conn:
        code, name, community, zone, wkb = conn.execute(text(
            "SELECT g.code, g.name, c.code, z.code, ST_AsBinary(g.geom) FROM grid g "
            "JOIN community c ON c.id = g.community_id JOIN zone z ON z.id = g.zone_id "
            "ORDER BY g.code LIMIT 1")).one()
    rec = {"code": code, "name": name + " (renamed)", "community": community, "zone": zone,
           "geom": shapely.from_wkb(bytes(wkb))}
    assert "importGrids" in OPS and not OPS["importGrids"].schedulable
    before = fingerprint(edit_engine)
    for role in ("viewer", "editor"):
        with edit_engine.connect() as conn, pytest.raises(Forbidden):
            load_grids(conn, [rec], actor="t", reason=None, role=role)
    with edit_engine.connect() as conn, pytest.raises(InvalidInput) as exc:
        load_grids(conn, [{**rec, "name": None}], actor="t", reason=None)
    assert exc.value.details[0]["field"] == "records.0.name"
    assert fingerprint(edit_engine) == before
    with edit_engine.connect() as conn:
        trans = conn.begin()
        out = load_grids(conn, [rec], actor="t-import", reason="rename one")
        assert out.updated == 1 and out.revision is not None
        kind = conn.execute(text("SELECT kind FROM revision WHERE id = :r"), {"r": out.revision}).scalar_one()
        assert kind == "importGrids"
        trans.rollback()
    assert fingerprint(edit_engine) == before
