"""Failure semantics (issue 16): a database that does not answer is a 503 with ``Retry-After``
(GraphQL: ``extensions.code: SERVICE_UNAVAILABLE``), never a raw 500; a pooled connection the
server dropped is replaced before use, and a read that loses its connection is retried once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from jurisgrid.app import create_app
from jurisgrid.config import ApiSettings, Settings
from jurisgrid.db import dispose, make_engine, read, read_engine, socket_dropped, unavailable
from jurisgrid.errors import ServiceUnavailable
from tests.auth.conftest import MakeToken
from tests.server import free_port

TILE = "/tiles/grids/10/816/419.mvt"
POINT = {"lon": 106.973, "lat": 30.8366}
REST = ["/api/responsible?lon=106.973&lat=30.8366", "/api/responsible?lon=106.973&lat=30.8366&via=sql",
        TILE, "/tiles/grids.json", "/ogc/collections", "/ogc/collections/grids/items?limit=1",
        "/ogc/collections/grids/items/511725001001001"]


def _app_client(engine: Engine, **api: Any) -> TestClient:
    settings = Settings()
    settings.api = ApiSettings(**api)
    return TestClient(create_app(engine=engine, settings=settings), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def down_client() -> Iterator[TestClient]:
    """An app whose database is a port nothing listens on: every statement fails to connect."""
    engine = make_engine(f"postgresql+psycopg2://jurisgrid@127.0.0.1:{free_port()}/nowhere",
                         pool_size=2)
    with _app_client(engine) as c:
        yield c
    dispose(engine)


@pytest.mark.parametrize("path", REST)
def test_rest_tiles_ogc_answer_503_with_retry_after(down_client: TestClient, path: str) -> None:
    res = down_client.get(path)
    assert res.status_code == 503, (res.status_code, res.text)
    assert res.headers["retry-after"].isdigit()
    assert res.headers["content-type"].startswith("application/json")
    assert res.json()["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_healthz_says_down_with_retry_after(down_client: TestClient) -> None:
    res = down_client.get("/healthz")
    assert res.status_code == 503 and res.headers["retry-after"].isdigit()
    assert res.json()["database"] == "down"


def test_graphql_gets_a_typed_error_not_a_masked_one(down_client: TestClient) -> None:
    query = "{ county { code } stations(first: 1) { totalCount } }"
    res = down_client.post("/graphql", json={"query": query})
    assert res.status_code == 200, res.text
    errors = res.json()["errors"]
    assert errors and {e["extensions"]["code"] for e in errors} == {"SERVICE_UNAVAILABLE"}
    assert all(e["extensions"]["retryAfter"] > 0 for e in errors)


def test_graphql_with_a_token_while_down_is_a_503_graphql_answer(down_client: TestClient) -> None:
    """The token lookup runs before execution; it used to end as a raw text/plain 500."""
    res = down_client.post("/graphql", json={"query": "{ me { role } }"},
                           headers={"Authorization": "Bearer jg_anything"})
    assert res.status_code == 503 and res.headers["retry-after"].isdigit()
    body = res.json()
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


# --- dropped connections on a live database ---------------------------------------------

@pytest.fixture(scope="module")
def own_engine(database_url: str, engine: Engine) -> Iterator[tuple[Engine, str]]:
    """An engine on the test database whose sessions carry their own application_name, so
    this module can terminate exactly its own backends."""
    name = f"jg_drop_{uuid.uuid4().hex[:8]}"
    url = make_url(database_url).update_query_dict({"application_name": name})
    eng = make_engine(url.render_as_string(hide_password=False), pool_size=3)
    yield eng, name
    dispose(eng)


def _terminate(engine: Engine, application_name: str) -> int:
    with engine.connect() as conn:
        n = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = :n AND pid <> pg_backend_pid()"), {"n": application_name}).scalar_one()
        conn.commit()
    return int(n)


def test_stale_pooled_connections_are_replaced_after_terminate(
        own_engine: tuple[Engine, str], engine: Engine, make_token: MakeToken) -> None:
    """``pg_terminate_backend`` on every pooled session (what a restart does to them): the next
    requests — the token lookup first — are answered normally, none as a raw 500."""
    from jurisgrid.auth.cache import cache_for

    eng, name = own_engine
    token = make_token("viewer")
    auth = {"Authorization": f"Bearer {token.secret}"}
    with _app_client(eng, anonymous_reads=False) as c:
        def all_ok() -> None:
            cache_for(eng).clear()  # the token is looked up on the database each time
            for path in REST[:-1]:
                res = c.get(path, headers=auth)
                assert res.status_code == 200, (path, res.status_code, res.text)
            res = c.post("/graphql", json={"query": "{ me { role } county { code } }"}, headers=auth)
            assert res.status_code == 200 and "errors" not in res.json(), res.text

        all_ok()
        assert _terminate(engine, name) >= 1
        all_ok()
        assert _terminate(engine, name) >= 1
        all_ok()


def test_socket_dropped_sees_a_terminated_session(own_engine: tuple[Engine, str], engine: Engine) -> None:
    eng, _name = own_engine
    with read_engine(eng).connect() as conn:
        raw = conn.connection.dbapi_connection
        conn.execute(text("SELECT 1"))
        assert not socket_dropped(raw)
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            admin.commit()
        import time
        t0 = time.monotonic()
        while not socket_dropped(raw):
            assert time.monotonic() - t0 < 5, "the terminated session never showed"
            time.sleep(0.02)


def test_a_read_that_loses_its_connection_is_retried_once(own_engine: tuple[Engine, str],
                                                          engine: Engine) -> None:
    eng, _ = own_engine
    calls: list[int] = []

    def fn(conn: Connection) -> int:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        calls.append(pid)
        if len(calls) == 1:  # the session dies between two statements of the read
            with engine.connect() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
                admin.commit()
        return int(conn.execute(text("SELECT 41 + 1")).scalar_one())

    assert read(eng, fn) == 42
    assert len(calls) == 2 and calls[0] != calls[1]


def test_a_read_that_keeps_failing_is_service_unavailable(own_engine: tuple[Engine, str],
                                                         engine: Engine) -> None:
    eng, _ = own_engine

    def fn(conn: Connection) -> int:
        with engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:p)"),
                          {"p": conn.execute(text("SELECT pg_backend_pid()")).scalar_one()})
            admin.commit()
        return int(conn.execute(text("SELECT 1")).scalar_one())

    with pytest.raises(ServiceUnavailable):
        read(eng, fn)


def test_statement_errors_are_not_outages(own_engine: tuple[Engine, str]) -> None:
    """A bad statement or a timeout is no 503: only unreachability is."""
    import psycopg2
    import psycopg2.extensions
    from sqlalchemy.exc import DBAPIError

    eng, _ = own_engine
    with pytest.raises(DBAPIError):
        read(eng, lambda conn: conn.execute(text("SELECT 1/0")).scalar_one())
    assert unavailable(psycopg2.extensions.QueryCanceledError("canceling statement due to "
                                                               "statement timeout")) is None
    assert unavailable(psycopg2.OperationalError("connection refused")) is not None


def test_unexpected_errors_are_json_500_not_text(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever escapes a route is a JSON error without details (and logged), never text/plain."""
    from jurisgrid.routes import ogc

    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(ogc, "read", boom)
    c = TestClient(client.app, raise_server_exceptions=False)
    res = c.get("/ogc/collections")
    assert res.status_code == 500 and res.headers["content-type"].startswith("application/json")
    assert res.json()["error"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret" not in res.text

