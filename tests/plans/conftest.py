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


@pytest.fixture(scope="session")
def plan_tokens(plan_engine: Engine) -> dict[str, str]:
    from sqlalchemy import text

    from jurisgrid.auth.tokens import create_token

    with plan_engine.begin() as conn:
        first = conn.execute(text("SELECT code FROM station ORDER BY code LIMIT 1")).scalar_one()
        return {r: create_token(conn, role=r, label=f"t-plans-{r}")
                for r in ("viewer", "editor", "planner", "admin")} | {
            "scoped_planner": create_token(conn, role="planner", station_code=first, label="t-sp"),
            "scoped_station": first}


@pytest.fixture(scope="session")
def plan_client(plan_engine: Engine) -> Iterator[Any]:
    """A TestClient of the app on the plans database."""
    from fastapi.testclient import TestClient

    from jurisgrid.app import create_app
    from jurisgrid.config import Settings

    with TestClient(create_app(engine=plan_engine, settings=Settings())) as client:
        yield client


@pytest.fixture(scope="session")
def pgql(plan_client: Any, plan_tokens: dict[str, str]) -> Any:
    """POST GraphQL to the plans database as ``who`` (a key of ``plan_tokens``)."""

    def run(query: str, variables: dict[str, Any] | None = None,
            who: str = "planner") -> dict[str, Any]:
        res = plan_client.post("/graphql", json={"query": query, "variables": variables or {}},
                               headers={"Authorization": f"Bearer {plan_tokens[who]}"})
        assert res.status_code == 200, res.text
        body: dict[str, Any] = res.json()
        assert "errors" not in body, body
        return body["data"]

    return run
