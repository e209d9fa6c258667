"""A query's time budget (gql/budget.py): past it, the answer is a typed TIMEOUT error and the
query's statement is cancelled in PostgreSQL — not left running until the statement timeout.

The slow query is a real one: a read of ``grid`` while another session holds a lock on the
table (as a migration or a long maintenance statement would), so its statement waits in
PostgreSQL for as long as the lock is held."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

BUDGET_S = 1.0


@pytest.fixture(scope="module")
def budget_client(engine: Engine) -> Iterator[object]:
    from fastapi.testclient import TestClient

    from jurisgrid.app import create_app
    from jurisgrid.config import ApiSettings, Settings

    settings = Settings()
    settings.api = ApiSettings(request_timeout_s=BUDGET_S)
    with TestClient(create_app(engine=engine, settings=settings)) as c:
        yield c


def _waiting(engine: Engine) -> int:
    """Statements of this database waiting on a lock (ours, blocked by the holder)."""
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND state = 'active'")).scalar_one())


def test_a_query_past_its_budget_is_a_timeout_and_its_statement_is_cancelled(
        budget_client, engine: Engine) -> None:
    q = {"query": "{ grids(first: 5) { totalCount nodes { code } } }"}
    assert "errors" not in budget_client.post("/graphql", json=q).json()  # fine without the lock
    holder = engine.connect()
    try:
        holder.execute(text("LOCK TABLE grid IN ACCESS EXCLUSIVE MODE"))
        t0 = time.perf_counter()
        res = budget_client.post("/graphql", json=q)
        elapsed = time.perf_counter() - t0
        assert res.status_code == 200
        out = res.json()
        assert out["data"] is None
        assert [e["extensions"]["code"] for e in out["errors"]] == ["TIMEOUT"], out
        assert BUDGET_S <= elapsed < BUDGET_S + 3, elapsed
        # the blocked statement was cancelled while the lock is still held
        deadline = time.monotonic() + 3
        while _waiting(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting(engine) == 0
    finally:
        holder.rollback()
        holder.close()
    # the pool is healthy afterwards
    out = budget_client.post("/graphql", json=q).json()
    assert "errors" not in out and out["data"]["grids"]["totalCount"] > 0


def test_mutations_are_not_cut_short_by_the_budget(budget_client) -> None:
    """The budget starts only for queries: a mutation answered TIMEOUT could still commit."""
    from jurisgrid.gql import budget

    started: list[bool] = []
    original = budget.RequestBudget.start

    def spy(self: budget.RequestBudget) -> None:
        original(self)
        started.append(self.started)

    budget.RequestBudget.start = spy  # type: ignore[method-assign]
    try:
        budget_client.post("/graphql", json={"query": "{ currentRevision }"})
        budget_client.post("/graphql", json={"query": "mutation { revert(revision: 1) { __typename } }"})
    finally:
        budget.RequestBudget.start = original  # type: ignore[method-assign]
    assert started == [True]
