"""End to end: the real server (uvicorn via `jurisgrid serve`) and two clients editing the same
grid at the same moment, both from the same currentRevision — exactly one wins, the other gets
a ConflictError, and the grid ends up where the winner put it (no lost or mixed update)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from tests.server import running_server

pytestmark = pytest.mark.e2e

REASSIGN = """mutation($grids: [String!]!, $zone: String!, $exp: Int) {
  reassignGrids(grids: $grids, toZone: $zone, expectedRevision: $exp, reason: "e2e race") {
    __typename ... on EditSuccess { revision { id actor } }
    ... on ConflictError { code currentRevision } ... on EditError { code message } } }"""


@pytest.fixture(scope="module")
def edit_server(edit_engine, edit_url: str, tokens) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with running_server(edit_url, env={"JURISGRID_WORKERS": "2"}, startup_timeout=60,
                        stop_timeout=15) as base:
        yield base


def _post(base: str, secret: str, query: str, variables: dict) -> dict:
    r = httpx.post(f"{base}/graphql", json={"query": query, "variables": variables},
                   headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    return body["data"]


def test_two_clients_same_grid_exactly_one_wins(edit_server: str, edit_engine, tokens) -> None:
    with edit_engine.connect() as conn:
        grid = conn.execute(text("SELECT code FROM grid ORDER BY code LIMIT 1 OFFSET 5")).scalar_one()
        zones = list(conn.execute(text("SELECT code FROM zone ORDER BY code")).scalars())
    for round_ in range(4):
        with edit_engine.connect() as conn:
            here = conn.execute(text("SELECT z.code FROM grid g JOIN zone z ON z.id = g.zone_id "
                                     "WHERE g.code = :g"), {"g": grid}).scalar_one()
        # both clients really move the grid (a move to where it already is changes nothing)
        z1, z2 = [z for z in zones if z != here][round_:round_ + 2]
        cur = _post(edit_server, tokens["admin"], "{ currentRevision }", {})["currentRevision"]
        barrier = threading.Barrier(2)
        results: dict[str, dict] = {}

        def client(name: str, zone: str, secret: str, barrier: threading.Barrier = barrier,
                   results: dict[str, dict] = results, cur: int = cur) -> None:
            barrier.wait()
            results[name] = _post(edit_server, secret, REASSIGN,
                                  {"grids": [grid], "zone": zone, "exp": cur})["reassignGrids"]

        threads = [threading.Thread(target=client, args=("a", z1, tokens["admin"])),
                   threading.Thread(target=client, args=("b", z2, tokens["editor"]))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        kinds = sorted(r["__typename"] for r in results.values())
        assert kinds == ["ConflictError", "EditSuccess"], (round_, results)
        winner = "a" if results["a"]["__typename"] == "EditSuccess" else "b"
        loser = "b" if winner == "a" else "a"
        assert results[loser]["currentRevision"] == results[winner]["revision"]["id"]
        with edit_engine.connect() as conn:
            zone_now = conn.execute(text("SELECT z.code FROM grid g JOIN zone z ON z.id = g.zone_id "
                                         "WHERE g.code = :g"), {"g": grid}).scalar_one()
            n_revs = conn.execute(text("SELECT count(*) FROM revision WHERE id > "
                                       ":c"), {"c": cur}).scalar_one()
        assert zone_now == (z1 if winner == "a" else z2)
        assert n_revs == 1
