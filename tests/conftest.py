"""Test fixtures on a real PostGIS (docs/design.md, Testing).

A session fixture starts (or reuses) the project-managed local cluster — or uses
``JURISGRID_TEST_DATABASE_URL`` (a server URL whose user may create databases) — creates a
throwaway database, runs the migrations and loads a small demo county (scale 0.02). Tests that
write do it inside a transaction that is rolled back.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from jurisgrid.db import dispose, make_engine
from jurisgrid.localdb import LocalCluster
from tests.dbs import scratch_database

TEST_SCALE = 0.02
TEST_SEED = 7
ROOT = Path(__file__).resolve().parent.parent


def _server_url() -> tuple[str, LocalCluster | None]:
    url = os.environ.get("JURISGRID_TEST_DATABASE_URL")
    if url:
        return url, None
    cluster = LocalCluster((ROOT / ".jurisgrid").resolve())
    cluster.start()
    return cluster.url("postgres"), cluster


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    server, _ = _server_url()
    with scratch_database(server, "jurisgrid_test") as url:
        yield url


@pytest.fixture(scope="session")
def demo():  # type: ignore[no-untyped-def]
    from jurisgrid.seed.generate import generate

    return generate(scale=TEST_SCALE, seed=TEST_SEED)


@pytest.fixture(scope="session")
def engine(database_url: str, demo) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    from jurisgrid.models.migrate import upgrade
    from jurisgrid.seed.load import load

    eng = make_engine(database_url, pool_size=4)
    upgrade(eng)
    load(eng, demo)
    yield eng
    dispose(eng)


class StatementCounter:
    """The statements made on behalf of the test: in its own thread and in everything that runs
    in a copy of its context — the TestClient's event loop (anyio's portal copies the caller's
    context), the thread pool of sync resolvers and DataLoaders, tasks a request starts.

    The app's background work is not counted: the scheduled-edit applier (a task made at
    lifespan start, waking every few seconds) and the watcher threads run in contexts of their
    own. Counting them made test_no_n_plus_one depend on when a background round fell (11 > 10
    once in a clean-clone CI run: the applier's two statements during the query).
    """

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if _COUNTING.get() is self:
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


_COUNTING: ContextVar[StatementCounter | None] = ContextVar("count_sql", default=None)


@pytest.fixture
def count_sql(engine: Engine, client) -> Iterator[StatementCounter]:  # type: ignore[no-untyped-def]
    """Every statement the test causes through the engine and its read sibling (GraphQL reads).

    Depends on ``client`` so that the app's lifespan — and the background tasks it starts — runs
    before the counting context is set: tasks made after it would inherit it."""
    from jurisgrid.db import read_engine

    counter = StatementCounter()
    engines = (engine, read_engine(engine))
    for e in engines:
        event.listen(e, "before_cursor_execute", counter)
    token = _COUNTING.set(counter)
    yield counter
    _COUNTING.reset(token)
    for e in engines:
        event.remove(e, "before_cursor_execute", counter)


@pytest.fixture(scope="session")
def app(engine: Engine):  # type: ignore[no-untyped-def]
    from jurisgrid.app import create_app
    from jurisgrid.config import Settings

    return create_app(engine=engine, settings=Settings())


@pytest.fixture(scope="session")
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="session")
def gql(client):  # type: ignore[no-untyped-def]
    """POST a GraphQL query; returns the decoded response body."""

    def run(query: str, variables: dict | None = None) -> dict:
        res = client.post("/graphql", json={"query": query, "variables": variables or {}})
        assert res.status_code == 200, res.text
        return res.json()

    return run
