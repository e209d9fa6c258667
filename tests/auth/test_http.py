"""Bearer tokens over HTTP: GraphQL and REST, anonymous reads on and off, one lookup per
token per TTL (no database round trip without a header)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event

from jurisgrid.auth.tokens import hash_secret
from jurisgrid.db import read_engine
from tests.auth.conftest import MakeToken

ME = "{ me { actor role stationCode anonymous } }"
POINT = {"lon": 106.973, "lat": 30.8366}
TILE = "/tiles/grids/10/816/419.mvt"


def _post(client, query: str, token: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/graphql", json={"query": query}, headers=headers)


def test_anonymous_reads_on(client) -> None:  # type: ignore[no-untyped-def]
    res = _post(client, ME)
    assert res.status_code == 200
    assert res.json()["data"]["me"] == {"actor": "anonymous", "role": "viewer", "stationCode": None,
                                        "anonymous": True}
    assert client.get("/api/responsible", params=POINT).status_code == 200


def test_token_sets_the_principal(client, make_token: MakeToken, station_code: str) -> None:  # type: ignore[no-untyped-def]
    t = make_token("editor", station_code, "gis")
    res = _post(client, ME, t.secret)
    assert res.status_code == 200, res.text
    assert res.json()["data"]["me"] == {"actor": f"gis#{t.id}", "role": "editor",
                                        "stationCode": station_code, "anonymous": False}


@pytest.mark.parametrize("header", ["Bearer jg_unknown", "Basic dXNlcjpwdw==", "Bearer", "jg_x"])
def test_bad_credentials_get_401_even_with_anonymous_reads(client, header: str) -> None:  # type: ignore[no-untyped-def]
    res = client.post("/graphql", json={"query": ME}, headers={"Authorization": header})
    assert res.status_code == 401
    assert res.headers["www-authenticate"] == "Bearer"
    body = res.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    rest = client.get("/api/responsible", params=POINT, headers={"Authorization": header})
    assert rest.status_code == 401 and rest.json()["error"]["code"] == "UNAUTHENTICATED"
    tile = client.get(TILE, headers={"Authorization": header})  # answered before FastAPI's routing
    assert tile.status_code == 401 and tile.json()["error"]["code"] == "UNAUTHENTICATED"


def test_anonymous_reads_off(locked_client, make_token: MakeToken) -> None:  # type: ignore[no-untyped-def]
    res = _post(locked_client, "{ county { code } }")
    assert res.status_code == 401
    err = res.json()["errors"][0]
    assert err["extensions"]["code"] == "UNAUTHENTICATED" and "anonymous reads" in err["message"]
    rest = locked_client.get("/api/responsible", params=POINT)
    assert rest.status_code == 401 and "Bearer" in rest.json()["error"]["message"]
    assert locked_client.get(TILE).status_code == 401

    t = make_token("viewer")
    ok = _post(locked_client, "{ county { code } me { role anonymous } }", t.secret)
    assert ok.status_code == 200 and ok.json()["data"]["me"] == {"role": "viewer", "anonymous": False}
    rest = locked_client.get("/api/responsible", params=POINT,
                             headers={"Authorization": f"Bearer {t.secret}"})
    assert rest.status_code == 200 and rest.json()["grid"] is not None
    tile = locked_client.get(TILE, headers={"Authorization": f"Bearer {t.secret}"})
    assert tile.status_code == 200 and tile.headers["etag"]
    # the IDE page follows the anonymous-read setting too (issue 16; routes/access.py)
    assert locked_client.get("/graphql", headers={"Accept": "text/html"}).status_code == 401
    ide = locked_client.get("/graphql", headers={"Accept": "text/html",
                                                 "Authorization": f"Bearer {t.secret}"})
    assert ide.status_code == 200 and "text/html" in ide.headers["content-type"]


def test_revoked_token_stops_at_once_in_this_process(locked_client, make_token: MakeToken,  # type: ignore[no-untyped-def]
                                                     engine: Engine) -> None:
    from jurisgrid.auth.tokens import revoke

    t = make_token("viewer")
    assert _post(locked_client, ME, t.secret).status_code == 200   # now cached
    with engine.begin() as conn:
        revoke(conn, t.id)
    res = _post(locked_client, ME, t.secret)
    assert res.status_code == 401 and res.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.fixture
def auth_statements(engine: Engine) -> Iterator[list[str]]:
    """Statements touching api_token on the request path (reads use the autocommit sibling)."""
    seen: list[str] = []

    def on(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if "api_token" in statement:
            seen.append(statement)

    reader = read_engine(engine)
    event.listen(reader, "before_cursor_execute", on)
    yield seen
    event.remove(reader, "before_cursor_execute", on)


def test_one_lookup_per_token_then_cached(client, make_token: MakeToken,  # type: ignore[no-untyped-def]
                                          auth_statements: list[str]) -> None:
    q = "{ responsibleFor(lon: 106.973, lat: 30.8366) { grid { code } } }"
    for _ in range(3):
        assert _post(client, q).status_code == 200
    assert auth_statements == []          # anonymous: no database round trip for auth
    t = make_token("viewer")
    for _ in range(5):
        assert _post(client, q, t.secret).status_code == 200
    assert len(auth_statements) == 1      # one lookup, then the per-process cache
    assert "UPDATE api_token" in auth_statements[0]


def test_cache_expires_after_the_ttl(engine: Engine, make_token: MakeToken, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from jurisgrid.auth import cache as cache_mod
    from jurisgrid.auth.resolve import resolve_principal
    from jurisgrid.config import ApiSettings

    api = ApiSettings(token_cache_ttl_s=30)
    t = make_token("planner")
    now = [1000.0]
    monkeypatch.setattr(cache_mod.time, "monotonic", lambda: now[0])
    p = asyncio.run(resolve_principal(engine, api, f"Bearer {t.secret}"))
    key = hash_secret(t.secret)
    assert cache_mod.cache_for(engine).get(key) == p
    now[0] += 29
    assert cache_mod.cache_for(engine).get(key) == p
    now[0] += 2
    assert cache_mod.cache_for(engine).get(key) is None
