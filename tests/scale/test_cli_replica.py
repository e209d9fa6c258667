"""``jurisgrid db replica add|status|stop|start|remove`` on the scale tests' own primary (in
process, with JURISGRID_HOME naming that primary's folder)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from typer.testing import CliRunner, Result

from jurisgrid.config import get_settings
from tests.scale.conftest import Pair


@pytest.fixture
def cli(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    from jurisgrid.cli import app

    monkeypatch.setenv("JURISGRID_HOME", str(pair.primary.home))
    monkeypatch.delenv("JURISGRID_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, ["db", "replica", *args])
    get_settings.cache_clear()


def test_replica_commands(pair: Pair, cli: Callable[..., Result]) -> None:
    r = cli("add")
    assert r.exit_code == 0, r.output
    assert "replica 2 streaming" in r.output and "JURISGRID_REPLICA_URLS=" in r.output
    replica2 = pair.primary.home / "replica-2"
    assert (replica2 / "pgdata" / "standby.signal").exists()

    r = cli("status")
    assert r.exit_code == 0, r.output
    rows = [line for line in r.output.splitlines() if "streaming" in line]
    assert len(rows) == 2, r.output  # replica 1 (the fixture's) and 2, both streaming
    assert "primary at" in r.output

    assert cli("stop", "2").exit_code == 0
    assert not [line for line in cli("status").output.splitlines()
                if "streaming" in line and "│ 2 " in line]
    assert cli("start", "2").exit_code == 0

    r = cli("remove", "2")
    assert r.exit_code == 0, r.output
    assert not replica2.exists()
    with pair.engine.connect() as c:
        slots = set(c.exec_driver_sql("SELECT slot_name FROM pg_replication_slots").scalars())
    assert slots == {"jurisgrid_replica_1"}

    r = cli("remove", "7")
    assert r.exit_code == 1 and "no replica 7" in r.output
