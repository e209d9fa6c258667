"""Several processes starting one fresh project cluster at once get one working server.

The suite's two workers do exactly this on a fresh clone: each session fixture starts the
project cluster. Before the lock in ``LocalCluster``, a second starter could take the data folder
while the first was still running ``initdb``, before our settings were written, and start it on
PostgreSQL's default port and socket — where no client of the cluster looks — so every test of
the run failed to connect (seen once in a clean-clone CI run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from jurisgrid.localdb import ClusterError, LocalCluster

ROOT = Path(__file__).resolve().parents[2]

# each starter waits for the same instant, so all of them reach start() together
_STARTER = """
import sys, time
from pathlib import Path
from jurisgrid.localdb import LocalCluster
at = float(sys.argv[2])
time.sleep(max(0.0, at - time.time()))
c = LocalCluster(Path(sys.argv[1]))
c.start()
print(c.port)
"""


@pytest.fixture
def home() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="jg_race_", dir="/tmp"))
    os.chmod(base, 0o755)   # the postgres user must reach it when we run as root
    cluster_home = base / ".jurisgrid"
    yield cluster_home
    LocalCluster(cluster_home).stop()
    shutil.rmtree(base, ignore_errors=True)


def test_concurrent_starts_make_one_server_on_the_clusters_own_port(home: Path) -> None:
    at = time.time() + 1.5
    procs = [
        subprocess.Popen([sys.executable, "-c", _STARTER, str(home), str(at)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    cluster = LocalCluster(home)
    assert {out.strip() for out, _ in outs} == {str(cluster.port)}
    assert cluster.port != 5432
    # postmaster.pid, line 4: the port the server listens on; line 5: its socket folder
    pid_lines = (cluster.pgdata / "postmaster.pid").read_text().splitlines()
    assert int(pid_lines[3]) == cluster.port
    assert Path(pid_lines[4]) == cluster.rundir.resolve()
    log = cluster.logfile.read_text()
    assert log.count("starting PostgreSQL") == 1, log
    assert not (home / "pgdata.new").exists()
    conn = psycopg2.connect(dbname="postgres", user="jurisgrid", host=str(cluster.rundir.resolve()),
                            port=cluster.port)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW port")
            assert int(cur.fetchone()[0]) == cluster.port
    finally:
        conn.close()


def test_an_interrupted_initdb_is_made_again(home: Path) -> None:
    """What an ``initdb`` killed halfway leaves (``pgdata.new``) is not a cluster: the next start
    makes a new one; a ``pgdata`` with files but no cluster is refused, not overwritten."""
    home.mkdir(parents=True)
    (home / "pgdata.new").mkdir()
    (home / "pgdata.new" / "PG_VERSION").write_text("15\n")   # a half-made folder
    cluster = LocalCluster(home)
    assert not cluster.initialised
    cluster.start()
    assert cluster.running() and cluster.port != 5432
    assert not (home / "pgdata.new").exists()
    cluster.stop()

    other = LocalCluster(home.parent / "other")
    other.pgdata.mkdir(parents=True)
    keep = other.pgdata / "notes.txt"
    keep.write_text("not a cluster")
    with pytest.raises(ClusterError, match="no PG_VERSION"):
        other.start()
    assert keep.read_text() == "not a cluster"


def test_stopping_a_cluster_never_made_creates_nothing(tmp_path: Path) -> None:
    """The start/stop lock lives in the cluster's folder; a stop where there is no cluster
    (``jurisgrid db stop`` in the wrong folder) must not make that folder for it."""
    home = tmp_path / "elsewhere" / ".jurisgrid"
    LocalCluster(home).stop()
    assert not home.parent.exists()
