"""Codes as configuration (issue 11 item 5): the grid, zone, station and person code formats
are per deployment (JURISGRID_CODE_FORMAT_<KIND>), national 区划 codes are checked (a real
province prefix, a township under its county), and the same formats hold in the edits, the
file import, ``jurisgrid load`` and ``jurisgrid edit`` (jurisgrid/codes.py, one place)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import shapely
from sqlalchemy import Engine

from jurisgrid import codes
from jurisgrid.config import EditSettings, get_settings
from jurisgrid.editing.runner import run_edit
from jurisgrid.errors import RuleViolation
from jurisgrid.io.formats import Layer
from jurisgrid.io.kinds import Refs, check
from tests.editing.conftest import ADMIN
from tests.editing.helpers import fingerprint

CUSTOM_GRID = r"{community}-G\d{2}"


def test_the_formats_and_their_parents() -> None:
    f = dict(codes.DEFAULTS)
    assert codes.parent_of("grid", "511725001001001", f) == "511725001001"
    assert codes.parent_of("grid", "5117250010010011", f) is None          # 16 digits
    assert codes.parent_of("zone", "511725PS01Z02", f) == "511725PS01"
    custom = {**f, "grid": CUSTOM_GRID}
    assert codes.parent_of("grid", "511725001001-G07", custom) == "511725001001"
    assert codes.parent_of("grid", "511725001001001", custom) is None
    assert codes.problem("grid", "511725001001-G07", CUSTOM_GRID, community="511725001001") is None
    assert "does not have the format 511725001002-G" in str(
        codes.problem("grid", "511725001001-G07", CUSTOM_GRID, community="511725001002"))
    assert "not a province code" in str(codes.problem("county", "991234", f["county"]))
    assert codes.problem("county", "511725", f["county"]) is None
    assert codes.problem("county", "5117", f["county"]) is not None
    assert codes.NATIONAL["community"].match("511725001001")
    assert not codes.NATIONAL["community"].match("5117250010011")


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JURISGRID_CODE_FORMAT_GRID", CUSTOM_GRID)
    monkeypatch.setenv("JURISGRID_EDIT_PERSON_CODE_FORMAT", r"JG\d{4}")
    s = EditSettings()
    assert s.edit_grid_code_format == CUSTOM_GRID and s.edit_person_code_format == r"JG\d{4}"
    assert codes.formats(s)["grid"] == CUSTOM_GRID
    assert EditSettings(edit_zone_code_format="Z").edit_zone_code_format == "Z"


def test_edits_follow_the_configured_person_format(edit_engine: Engine) -> None:
    custom = EditSettings(edit_person_code_format=r"JG\d{4}")
    before = fingerprint(edit_engine)
    out = run_edit(edit_engine, "createPerson", {"code": "JG0001", "name": "王五"}, principal=ADMIN,
                   settings=custom, dry_run=True)
    assert out.revision is None
    with pytest.raises(RuleViolation) as exc:
        run_edit(edit_engine, "createPerson", {"code": "P000001", "name": "王五"}, principal=ADMIN,
                 settings=custom, dry_run=True)
    assert exc.value.code == "INVALID_CODE" and r"JG\d{4}" in exc.value.message
    with pytest.raises(RuleViolation) as exc:
        run_edit(edit_engine, "createPerson", {"code": "JG0001", "name": "王五"}, principal=ADMIN,
                 settings=EditSettings(), dry_run=True)
    assert exc.value.details[0]["field"] == "code"
    assert fingerprint(edit_engine) == before


def test_a_county_code_needs_a_province(edit_engine: Engine, edit_settings: EditSettings) -> None:
    square = {"type": "Polygon", "coordinates": [[[120, 10], [120.01, 10], [120.01, 10.01],
                                                  [120, 10.01], [120, 10]]]}
    with pytest.raises(RuleViolation, match="not a province code"):
        run_edit(edit_engine, "createCounty", {"code": "991234", "name": "x", "geometry": square},
                 principal=ADMIN, settings=edit_settings, dry_run=True)


def _grid_layer(code_and_community: list[tuple[str, str | None]]) -> Layer:
    g = shapely.box(106.0, 30.0, 106.001, 30.001)
    return Layer(rows=[{"code": c, "name": "g", "zone": "Z1", **({"community": m} if m else {})}
                       for c, m in code_and_community], geoms=[g] * len(code_and_community))


def test_the_import_follows_the_configured_grid_format() -> None:
    county = shapely.box(105.9, 29.9, 106.1, 30.1)
    default = Refs(county=county, zones={"Z1"}, communities={"511725001001"})
    custom = Refs(county=county, zones={"Z1"}, communities={"511725001001"},
                  code_formats={**codes.DEFAULTS, "grid": CUSTOM_GRID})
    layer = _grid_layer([("511725001001-G07", None), ("511725001001001", None)])
    got = check("grids", layer, custom)
    assert [r["community"] for r in got.records] == ["511725001001"]
    assert [(p.index, p.field) for p in got.problems] == [(1, "code")]
    got = check("grids", layer, default)
    assert [(p.index, p.field) for p in got.problems] == [(0, "code")]
    mismatch = check("grids", _grid_layer([("511725001001-G07", "511725001002")]), custom)
    assert "does not match the grid code" in mismatch.problems[0].reason


@pytest.fixture
def person_format(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The deployment's person format is JG + 4 digits (env), for ``jurisgrid edit`` and load."""
    monkeypatch.setenv("JURISGRID_CODE_FORMAT_PERSON", r"JG\d{4}")
    monkeypatch.setenv("JURISGRID_CODE_FORMAT_GRID", CUSTOM_GRID)
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_cli_and_load_follow_the_deployment_formats(edit_engine: Engine, person_format: None,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import jurisgrid.cli.console as console
    from jurisgrid.cli import app
    from jurisgrid.onboard.derive import grid_code_problem, grid_community

    monkeypatch.setattr(console, "engine", lambda: edit_engine)
    run: Any = CliRunner().invoke
    r = run(app, ["edit", "createPerson", "code=JG0002", "name=赵六", "--dry-run"])
    assert r.exit_code == 0 and "dry run" in r.stdout, r.output
    r = run(app, ["edit", "createPerson", "code=P000002", "name=赵六", "--dry-run"])
    assert r.exit_code == 2 and "JG" in r.stderr, r.output
    assert grid_community("511725001001-G07") == "511725001001"
    assert grid_community("511725001001001") is None
    assert grid_code_problem("511725001001-G07", "511725001001") is None
    assert grid_code_problem("511725001001001", "511725001001") is not None
