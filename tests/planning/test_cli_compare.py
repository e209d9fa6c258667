"""``jurisgrid plans compare`` on a stored plan: the CSV is compare.comparison_csv of the same
alternatives; a bad name is refused with exit status 2 and nothing written."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from jurisgrid.config import EditSettings
from jurisgrid.planning import compare as cmp
from jurisgrid.planning.source import read_context
from tests.planning.helpers import border_moves, stored_plan


@pytest.fixture(scope="module")
def plan(plan_engine: Engine, settings: EditSettings) -> dict[str, Any]:
    with plan_engine.begin() as conn:
        station = conn.exec_driver_sql(
            "SELECT st.code FROM station st JOIN zone z ON z.station_id = st.id GROUP BY st.code "
            "HAVING count(*) >= 2 ORDER BY st.code DESC LIMIT 1").scalar_one()
        moves = border_moves(conn, station, n=1)
        pid = stored_plan(conn, station, "workbench cli", moves, settings=settings)
    return {"id": pid, "station": station, "moves": moves}


@pytest.fixture
def cli(plan_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Any:
    import jurisgrid.cli.plans as mod
    from jurisgrid.cli import app

    monkeypatch.setattr(mod, "engine", lambda: plan_engine)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["plans", "compare", *args])


def test_csv_of_live_and_a_plan(cli: Any, plan: dict[str, Any], plan_engine: Engine,
                                tmp_path: Path) -> None:
    out = tmp_path / "cmp.csv"
    r = cli(str(plan["id"]), "live", "--csv", str(out))
    assert r.exit_code == 0, r.output
    got = pd.read_csv(out, dtype={"zone": str, "plan": str})
    with plan_engine.connect() as conn:
        ctx = read_context(conn, plan["station"])
    alt = cmp.with_moves(ctx.base, plan["moves"], key=str(plan["id"]), name="workbench cli")
    want = cmp.comparison_csv(cmp.compare(ctx, [alt, ctx.base]))
    assert out.read_text(encoding="utf-8") == want
    summary = got[got.zone == "*"]
    assert list(summary.plan) == [str(plan["id"]), "live"] and list(summary.grids) == [1, 0]
    r = cli(str(plan["id"]), "live")  # the table
    assert r.exit_code == 0 and f"{plan['station']}:" in r.output and "1 grids differ" in r.output


@pytest.mark.parametrize(("args", "match"), [(["nope"], "not a plan id"), (["live", "live"], "once"),
                                             (["999999"], "999999")])
def test_refused(cli: Any, tmp_path: Path, args: list[str], match: str) -> None:
    out = tmp_path / "x.csv"
    r = cli(*args, "--csv", str(out))
    assert r.exit_code == 2 and match in r.output and not out.exists()


def test_stdout(cli: Any, plan: dict[str, Any]) -> None:
    r = cli("live", str(plan["id"]), "--csv", "-")
    assert r.exit_code == 0
    frame = pd.read_csv(io.StringIO(r.stdout))
    assert list(frame.columns) == list(cmp.CSV_COLUMNS)
