"""The CLI outside a project folder (issue 16): no silent ``initdb`` wherever a command runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jurisgrid.localdb import ClusterError, LocalCluster, ensure_project_home, is_project_folder

ROOT = Path(__file__).resolve().parents[2]


def _env_without_jurisgrid() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("JURISGRID_")}


@pytest.mark.parametrize("args", [["token", "list"], ["db", "upgrade"], ["sizing", "report"]])
def test_a_command_outside_a_project_refuses_and_creates_nothing(tmp_path: Path, args: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "jurisgrid.cli", *args], cwd=tmp_path,
                          env={**_env_without_jurisgrid(), "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    said = " ".join(proc.stderr.split())  # rich wraps long lines
    assert "is not a jurisgrid project folder" in said and "jurisgrid db start" in said
    assert list(tmp_path.iterdir()) == []  # no .jurisgrid/, no cluster


def test_project_folders(tmp_path: Path) -> None:
    assert is_project_folder(ROOT)
    assert not is_project_folder(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "something-else"\n')
    assert not is_project_folder(tmp_path)
    (tmp_path / "pyproject.toml").write_text("not toml [[[")
    assert not is_project_folder(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "jurisgrid"\n')
    assert is_project_folder(tmp_path)
    other = tmp_path / "deploy"
    (other / ".jurisgrid").mkdir(parents=True)
    assert is_project_folder(other)


def test_ensure_project_home(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path / ".jurisgrid")
    with pytest.raises(ClusterError, match="not a jurisgrid project folder"):
        ensure_project_home(cluster, explicit=False)
    ensure_project_home(cluster, explicit=True)  # JURISGRID_HOME named it: allowed
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "jurisgrid"\n')
    ensure_project_home(cluster, explicit=False)
    assert not cluster.home.exists()  # checking creates nothing
