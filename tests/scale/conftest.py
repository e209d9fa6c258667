"""A primary and a streaming replica of its own (issue 17): a throwaway cluster in a temporary
folder, migrated and loaded with the small demo county, and a ``pg_basebackup -R`` copy of it
on another port — the code of ``jurisgrid db replica add``. Stopping either disturbs no other
test."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from jurisgrid.db import dispose, make_engine
from jurisgrid.localdb import LocalCluster, ReplicaCluster


@dataclass
class Pair:
    primary: LocalCluster
    replica: ReplicaCluster
    url: str
    replica_url: str
    engine: Engine  # on the primary


@pytest.fixture(scope="session")
def pair(demo: Any) -> Iterator[Pair]:
    from jurisgrid.models.migrate import upgrade
    from jurisgrid.seed.load import load

    home = Path(tempfile.mkdtemp(prefix="jg_scale_", dir="/tmp"))
    os.chmod(home, 0o755)
    primary = LocalCluster(home / ".jurisgrid")
    engine = None
    try:
        primary.start()
        primary.ensure_database("jurisgrid")
        url = primary.url("jurisgrid")
        engine = make_engine(url, pool_size=4)
        upgrade(engine)
        load(engine, demo)
        replica = ReplicaCluster.make(primary)
        yield Pair(primary, replica, url, replica.url("jurisgrid"), engine)
    finally:
        if engine is not None:
            dispose(engine)
        for r in (home / ".jurisgrid").glob("replica-*"):
            ReplicaCluster(r).stop()
        primary.stop()
        shutil.rmtree(home, ignore_errors=True)


def wait_for(cond: Callable[[], bool], timeout_s: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
