"""Two neighbouring counties of 达州 (通川区 and 达川区) at test scale in a database of their
own: the many-counties tests (issue 11) run against it — generated once per session, quick."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from jurisgrid.db import dispose, make_engine
from tests.conftest import TEST_SCALE, TEST_SEED, _server_url
from tests.dbs import scratch_database

COUNTIES = ["511702", "511703"]  # 通川区, 达川区: they share a border of about 100 km


@pytest.fixture(scope="session")
def pref_demos() -> list[Any]:
    from jurisgrid.seed.generate import generate_counties
    from jurisgrid.seed.reference import prefecture_counties

    return generate_counties(prefecture_counties("5117", COUNTIES), scale=TEST_SCALE,
                             seed=TEST_SEED)


@pytest.fixture(scope="session")
def pref_engine(pref_demos: list[Any]) -> Iterator[Engine]:
    from jurisgrid.models.migrate import upgrade
    from jurisgrid.seed.load import load_counties

    server, _ = _server_url()
    with scratch_database(server, "jurisgrid_pref") as url:
        eng = make_engine(url, pool_size=4)
        try:
            upgrade(eng)
            load_counties(eng, pref_demos)
            yield eng
        finally:
            dispose(eng)


@pytest.fixture(scope="session")
def pref_client(pref_engine: Engine):
    from fastapi.testclient import TestClient

    from jurisgrid.app import create_app
    from jurisgrid.config import Settings

    with TestClient(create_app(engine=pref_engine, settings=Settings())) as c:
        yield c


@pytest.fixture(scope="session")
def pref_gql(pref_client):
    """POST a GraphQL query (optionally with a token) to the two-county app; the decoded body."""

    def run(query: str, variables: dict | None = None, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        res = pref_client.post("/graphql", json={"query": query, "variables": variables or {}},
                               headers=headers)
        assert res.status_code == 200, res.text
        return res.json()

    return run


@pytest.fixture
def token(pref_engine: Engine) -> Iterator[Any]:
    """Make API tokens (role, optionally scoped to a county or a station); deleted afterwards."""
    from sqlalchemy import text

    from jurisgrid.auth.tokens import IssuedToken, issue_token

    made: list[int] = []

    def make(role: str, county: str | None = None, station: str | None = None) -> IssuedToken:
        with pref_engine.begin() as conn:
            t = issue_token(conn, role=role, county_code=county, station_code=station, label="t")
        made.append(t.id)
        return t

    yield make
    with pref_engine.begin() as conn:
        conn.execute(text("DELETE FROM api_token WHERE id = ANY(:i)"), {"i": made})
