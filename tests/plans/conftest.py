"""Plan tests write (plans, and publishing them), so they get their own throwaway database,
migrated and seeded with the small demo county."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from jurisgrid.auth.principal import Principal, Role
from jurisgrid.config import EditSettings
from jurisgrid.db import dispose, make_engine
from tests.conftest import _server_url
from tests.dbs import scratch_database

PLANNER = Principal(actor="test-planner", role=Role.PLANNER, station_code=None)
EDITOR = Principal(actor="test-editor", role=Role.EDITOR, station_code=None)
ADMIN = Principal(actor="test-admin", role=Role.ADMIN, station_code=None)
VIEWER = Principal(actor="test-viewer", role=Role.VIEWER, station_code=None)


@pytest.fixture(scope="session")
def plan_engine(demo: Any) -> Iterator[Engine]:
    from jurisgrid.models.migrate import upgrade
    from jurisgrid.seed.load import load

    server, _ = _server_url()
    with scratch_database(server, "jurisgrid_test_plans") as url:
        eng = make_engine(url, pool_size=4)
        upgrade(eng)
        load(eng, demo)
        yield eng
        dispose(eng)


@pytest.fixture(scope="session")
def settings() -> EditSettings:
    return EditSettings()
