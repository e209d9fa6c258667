"""A plain ``pip install`` from a clean clone gives a working map: the wheel built from the
committed files holds the web map and its MapLibre GL JS, and the committed copy is the version
``web/package-lock.json`` pins.

The wheel is built from the files git tracks (copied to a temporary folder, as a clean clone
would have them), so a file that is only present locally — git-ignored or never added — fails
the test. ``--no-build-isolation`` uses the .venv's setuptools (a dev dependency): no network,
about three seconds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENDOR = "jurisgrid/web/static/vendor/maplibre-gl"


def _tracked(*paths: str) -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    out = subprocess.run(["git", "ls-files", "-z", "--", *paths], cwd=ROOT, check=True,
                         capture_output=True).stdout
    return [p for p in out.decode().split("\0") if p and (ROOT / p).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    src = tmp_path_factory.mktemp("clone")
    for rel in _tracked("jurisgrid", "pyproject.toml", "README.md"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    dist = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "-q", "-w", str(dist), str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (whl,) = dist.glob("jurisgrid-*.whl")
    return zipfile.ZipFile(whl)


def test_wheel_ships_the_map(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for f in ("maplibre-gl.js", "maplibre-gl.css", "VERSION", "LICENSE.txt"):
        member = f"{VENDOR}/{f}"
        assert member in names, f"{member} is not in the wheel: pip install would serve a 503 map"
        assert wheel.read(member) == (ROOT / member).read_bytes()
    assert "jurisgrid/web/static/index.html" in names


def test_wheel_ships_every_tracked_package_file(wheel: zipfile.ZipFile) -> None:
    """Every file git tracks under jurisgrid/ is installed (SQL, migrations, seed data, static
    files …): a new kind of file needs a package-data pattern in pyproject.toml."""
    names = set(wheel.namelist())
    missing = [p for p in _tracked("jurisgrid") if p not in names]
    assert not missing, f"tracked but not in the wheel (add to package-data): {missing}"


def test_committed_maplibre_is_the_locked_version() -> None:
    lock = json.loads((ROOT / "web" / "package-lock.json").read_text())
    locked = lock["packages"]["node_modules/maplibre-gl"]["version"]
    committed = (ROOT / VENDOR / "VERSION").read_text().strip()
    assert committed == locked, f"run ./dev web and commit {VENDOR}: {committed} != {locked}"
    head = (ROOT / VENDOR / "maplibre-gl.js").read_text(encoding="utf-8")[:400]
    assert f"v{locked}" in head or locked in head
