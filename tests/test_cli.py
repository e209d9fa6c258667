"""The CLI manages a project-local cluster: start, status, stop — also when run as root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jurisgrid.localdb import ClusterError, LocalCluster, check_postgis, pg_bindir
from jurisgrid.models.migrate import head_revision


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "JURISGRID_DATABASE_URL"}
    env["JURISGRID_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "jurisgrid.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_db_start_status_upgrade_stop(tmp_path: Path) -> None:
    home = tmp_path / "state"
    assert _cli("db", "status", home=home).returncode == 1       # nothing yet
    r = _cli("db", "start", home=home)
    assert r.returncode == 0, r.stderr
    try:
        r = _cli("db", "status", home=home)
        assert r.returncode == 0 and "running" in r.stderr
        r = _cli("db", "upgrade", home=home)
        assert r.returncode == 0 and f"migration {head_revision()}" in r.stderr, r.stderr
        assert (home / "pgdata" / "PG_VERSION").exists()
        assert (home / "run").is_dir()
    finally:
        r = _cli("db", "stop", home=home)
    assert r.returncode == 0, r.stderr
    assert _cli("db", "status", home=home).returncode == 1


def test_missing_postgis_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import jurisgrid.localdb as ld

    real = Path.exists

    def no_postgis(p: Path) -> bool:
        return False if p.name == "postgis.control" else real(p)

    monkeypatch.setattr(Path, "exists", no_postgis)
    with pytest.raises(ClusterError, match=r"apt-get install postgresql-\d+-postgis-3"):
        check_postgis(pg_bindir())
    with pytest.raises(ClusterError, match="PostGIS is not installed"):
        LocalCluster(tmp_path).init()
    assert ld  # module imported for monkeypatching only


def test_seed_refuses_bad_scale(tmp_path: Path) -> None:
    r = _cli("seed", "demo", "--scale", "0", home=tmp_path)
    assert r.returncode == 2 and "--scale" in r.stderr  # refused input (jurisgrid/cli/console.py)


def test_one_error_mapping_for_every_command() -> None:
    """Every command of ``jurisgrid`` is registered through cli/console.Typer, so a refused input
    anywhere is one red line on stderr and exit status 2; an environment failure is status 1."""
    import typer
    from typer.testing import CliRunner

    from jurisgrid.cli import app
    from jurisgrid.cli.console import Typer, fail
    from jurisgrid.errors import NotFound
    from jurisgrid.geo.crs import CoordinateError

    def walk(t: typer.Typer) -> list[typer.Typer]:
        return [t, *(x for g in t.registered_groups if g.typer_instance for x in walk(g.typer_instance))]

    typers = walk(app)
    assert len(typers) >= 10 and all(isinstance(t, Typer) for t in typers)  # db replica: 10th
    commands = [c for t in typers for c in t.registered_commands]
    assert len(commands) >= 25 and all(hasattr(c.callback, "__wrapped__") for c in commands)

    demo = Typer()

    @demo.command("missing")
    def missing() -> None:
        raise NotFound("no grid with code 'X'\n(look it up with `jurisgrid export grids`)")

    @demo.command("coords")
    def coords() -> None:
        raise CoordinateError("latitude 106.9 is out of range")

    @demo.command("down")
    def down() -> None:
        fail("cannot reach the database")

    runner = CliRunner()
    r = runner.invoke(demo, ["missing"])
    assert r.exit_code == 2
    assert r.output.strip() == "error: no grid with code 'X' (look it up with `jurisgrid export grids`)"
    r = runner.invoke(demo, ["coords"])
    assert r.exit_code == 2 and "latitude 106.9 is out of range" in r.output
    r = runner.invoke(demo, ["down"])
    assert r.exit_code == 1 and "cannot reach the database" in r.output
    r = runner.invoke(demo, ["nope"])
    assert r.exit_code == 2  # click's own usage errors: the same status as refused input
