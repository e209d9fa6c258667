"""``jurisgrid load`` as a user runs it: progress, the report on the console and as JSON, exit
status 0; a refused set (``--strict`` on the worked example's overlap and gap) exits 2, lists
every problem and writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine

from tests.onboard.conftest import counts
from tests.onboard.test_sample import SAMPLE


def _cli(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "JURISGRID_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "jurisgrid.cli", "load", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_load_and_refuse(empty_engine: Engine, tmp_path: Path) -> None:
    refused = _cli(empty_engine, str(SAMPLE), "--strict", "--report", str(tmp_path / "strict.json"))
    assert refused.returncode == 2, refused.stderr
    assert "nothing was written" in refused.stderr and "overlap" in refused.stderr
    bad = json.loads((tmp_path / "strict.json").read_text())["bad"]
    assert bad and all({"file", "index", "reason"} <= set(b) for b in bad)
    assert set(counts(empty_engine).values()) == {0}

    ok = _cli(empty_engine, str(SAMPLE), "--report", str(tmp_path / "r.json"))
    assert ok.returncode == 0, ok.stderr
    assert "snapped_vertices" in ok.stderr and "噪音扰民" in ok.stderr and "loaded" in ok.stderr
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["written"] and rep["counts"]["grids"] == 6 and rep["bad"] == []
    assert counts(empty_engine)["grid"] == 6
    again = _cli(empty_engine, str(SAMPLE))
    assert again.returncode == 2 and "already holds county 990101" in again.stderr
