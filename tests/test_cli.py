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
    assert r.returncode == 1 and "--scale" in r.stderr
