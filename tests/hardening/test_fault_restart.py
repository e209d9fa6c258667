"""Fault test (issue 16): PostgreSQL restarted under load, against the real server.

The server runs on a throwaway cluster of its own (a temporary folder, its own port), so
stopping PostgreSQL disturbs no other test. A few client threads send a mix of reads —
GraphQL with and without a token, tiles, REST, OGC — while the cluster is stopped and started
again. Every answer must be either correct or a clean "try again" (HTTP 503 with
``Retry-After``; in GraphQL, errors whose ``extensions.code`` is ``SERVICE_UNAVAILABLE``), and
once the database is back the same server answers everything again, without a restart.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from jurisgrid.db import dispose, make_engine
from jurisgrid.localdb import LocalCluster
from tests.server import running_server

pytestmark = pytest.mark.e2e

THREADS = 4
WARM_S, DOWN_S, AFTER_S = 2.0, 3.0, 8.0
RECOVERED_WITHIN_S = 4.0   # after PostgreSQL answers again, everything must be answered again


@dataclass
class Answer:
    t: float
    kind: str
    outcome: str   # ok | unavailable | failure
    detail: str = ""


@pytest.fixture(scope="module")
def own_cluster(demo: Any) -> Iterator[tuple[LocalCluster, str]]:
    """A cluster in a temporary folder (readable by the postgres user when we are root),
    migrated and loaded with the small demo county; removed afterwards."""
    from jurisgrid.models.migrate import upgrade
    from jurisgrid.seed.load import load

    home = Path(tempfile.mkdtemp(prefix="jg_fault_", dir="/tmp"))
    os.chmod(home, 0o755)
    cluster = LocalCluster(home / ".jurisgrid")
    try:
        cluster.start()
        cluster.ensure_database("jurisgrid")
        url = cluster.url("jurisgrid")
        engine: Engine = make_engine(url, pool_size=2)
        upgrade(engine)
        load(engine, demo)
        dispose(engine)
        yield cluster, url
    finally:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)


def _token(url: str) -> str:
    from jurisgrid.auth.tokens import issue_token

    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            return issue_token(conn, role="viewer", label="fault test").secret
    finally:
        dispose(engine)


def _classify(res: httpx.Response, graphql: bool) -> tuple[str, str]:
    if res.status_code == 503:
        ok = res.headers.get("retry-after", "").isdigit()
        return ("unavailable", "") if ok else ("failure", "503 without Retry-After")
    if res.status_code != 200:
        return "failure", f"HTTP {res.status_code}: {res.text[:200]}"
    if not graphql:
        return "ok", ""
    body = res.json()
    errors = body.get("errors") or []
    if not errors:
        return "ok", ""
    codes = {e.get("extensions", {}).get("code") for e in errors}
    if codes == {"SERVICE_UNAVAILABLE"}:
        return "unavailable", ""
    return "failure", f"GraphQL errors {sorted(map(str, codes))}: {errors[0].get('message')}"


def _requests(token: str) -> list[tuple[str, str, str, dict[str, Any] | None, dict[str, str]]]:
    auth = {"Authorization": f"Bearer {token}"}
    return [
        ("gql-point", "POST", "/graphql", {"query": "{ responsibleFor(lon: 106.973, lat: 30.8366) "
                                                    "{ grid { code } station { name } } }"}, {}),
        ("gql-list-token", "POST", "/graphql",
         {"query": "{ me { role } grids(first: 5) { totalCount edges { node { code } } } }"}, auth),
        ("gql-list", "POST", "/graphql", {"query": "{ stations(first: 3) { edges { node { code zones "
                                                   "{ code grids { code } } } } } }"}, {}),
        ("tile", "GET", "/tiles/grids/10/816/419.mvt", None, {}),
        ("tile-token", "GET", "/tiles/zones/9/408/209.mvt", None, auth),
        ("rest-sql", "GET", "/api/responsible?lon=106.973&lat=30.8366&via=sql", None, {}),
        ("ogc", "GET", "/ogc/collections/grids/items?limit=2", None, auth),
    ]


def test_postgres_restart_under_load(own_cluster: tuple[LocalCluster, str]) -> None:
    cluster, url = own_cluster
    token = _token(url)
    env = {"JURISGRID_TOKEN_CACHE_TTL_S": "0.5"}  # token lookups reach the database often
    answers: list[Answer] = []
    lock = threading.Lock()
    stop = threading.Event()
    with running_server(url, workers=2, env=env, startup_timeout=120) as base:
        t0 = time.monotonic()

        def client(n: int) -> None:
            reqs = _requests(token)
            with httpx.Client(base_url=base, timeout=30) as http:
                i = n
                while not stop.is_set():
                    kind, method, path, body, headers = reqs[i % len(reqs)]
                    i += 1
                    try:
                        res = http.request(method, path, json=body, headers=headers)
                        outcome, detail = _classify(res, path == "/graphql")
                    except httpx.HTTPError as exc:  # the server itself did not answer
                        outcome, detail = "failure", f"{type(exc).__name__}: {exc}"
                    with lock:
                        answers.append(Answer(time.monotonic() - t0, kind, outcome, detail))
                    time.sleep(0.01)

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(THREADS)]
        for th in threads:
            th.start()
        time.sleep(WARM_S)
        t_down = time.monotonic() - t0
        cluster.stop()
        time.sleep(DOWN_S)
        cluster.start()
        t_up = time.monotonic() - t0
        time.sleep(AFTER_S)
        stop.set()
        for th in threads:
            th.join(timeout=40)

    counts = Counter(a.outcome for a in answers)
    by_kind = Counter((a.kind, a.outcome) for a in answers)
    print(f"\nrestart at {t_down:.1f} s, back at {t_up:.1f} s; answers {dict(counts)}")
    print("per kind:", dict(sorted(by_kind.items())))
    failures = [a for a in answers if a.outcome == "failure"]
    assert not failures, f"{len(failures)} failures, e.g. {[(a.kind, a.detail) for a in failures[:5]]}"
    before = [a for a in answers if a.t < t_down]
    assert before and all(a.outcome == "ok" for a in before)
    assert counts["unavailable"] > 0, "the outage was never seen: did the cluster stop?"
    late = [a for a in answers if a.t > t_up + RECOVERED_WITHIN_S]
    assert len(late) > 20 and all(a.outcome == "ok" for a in late), \
        Counter((a.kind, a.outcome) for a in late if a.outcome != "ok")
    assert {a.kind for a in late} == {k for k, *_ in _requests(token)}
