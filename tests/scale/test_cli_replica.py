"""``jurisgrid db replica add|status|stop|start|remove`` on the scale tests' own primary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.scale.conftest import Pair

JURISGRID = str(Path(sys.executable).with_name("jurisgrid"))


def _cli(pair: Pair, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JURISGRID_")}
    env["JURISGRID_HOME"] = str(pair.primary.home)
    return subprocess.run([JURISGRID, "db", "replica", *args], capture_output=True, text=True,
                          env=env, cwd="/", timeout=120)


def test_replica_commands(pair: Pair) -> None:
    r = _cli(pair, "add")
    assert r.returncode == 0, r.stderr
    assert "replica 2 streaming" in r.stderr and "JURISGRID_REPLICA_URLS=" in r.stderr
    replica2 = pair.primary.home / "replica-2"
    assert (replica2 / "pgdata" / "standby.signal").exists()

    r = _cli(pair, "status")
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if "streaming" in line]
    assert len(rows) == 2, r.stdout  # replica 1 (the fixture's) and 2, both streaming
    assert "primary at" in r.stdout

    assert _cli(pair, "stop", "2").returncode == 0
    assert "no" in next(line for line in _cli(pair, "status").stdout.splitlines()
                        if line.strip().startswith("│ 2") or line.strip().startswith("2"))
    assert _cli(pair, "start", "2").returncode == 0

    r = _cli(pair, "remove", "2")
    assert r.returncode == 0, r.stderr
    assert not replica2.exists()
    with pair.engine.connect() as c:
        slots = set(c.exec_driver_sql("SELECT slot_name FROM pg_replication_slots").scalars())
    assert slots == {"jurisgrid_replica_1"}

    r = _cli(pair, "remove", "7")
    assert r.returncode == 1 and "no replica 7" in r.stderr
