"""``jurisgrid load`` stores the manifest's time zone as the county's (issue 11), and another
county loads next to one already there."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine, text

from jurisgrid.onboard.pipeline import load_jurisdiction
from tests.onboard.test_sample import SAMPLE


def test_manifest_time_zone_becomes_the_countys(empty_engine: Engine, tmp_path: Path) -> None:
    data = tmp_path / "sample"
    shutil.copytree(SAMPLE, data)
    manifest = data / "manifest.toml"
    manifest.write_text('time_zone = "Asia/Urumqi"\n' + manifest.read_text(encoding="utf-8"),
                        encoding="utf-8")
    report = load_jurisdiction(empty_engine, data)
    assert report.written and report.bad == []
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT code, time_zone FROM county")).all() == [
            ("990101", "Asia/Urumqi")]
