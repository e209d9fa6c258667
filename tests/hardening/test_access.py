"""Cache and access headers (issue 16): answers under a token are private and vary on
``Authorization``; the pages around the API follow the anonymous-read setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from jurisgrid.routes.access import private_cache_control, with_policy
from tests.auth.conftest import MakeToken

TILE = "/tiles/grids/10/816/419.mvt"
PAGES = ["/", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"]


def _past() -> str:
    return (datetime.now(UTC) - timedelta(hours=2)).isoformat().replace("+00:00", "Z")


def test_past_as_of_tiles_under_a_token_are_private(locked_client: TestClient,
                                                    make_token: MakeToken) -> None:
    """They used to be ``public, max-age=86400`` without ``Vary``: a shared cache would have
    served a token holder's tile to anyone."""
    auth = {"Authorization": f"Bearer {make_token('viewer').secret}"}
    past = _past()
    res = locked_client.get(TILE, params={"asOf": past}, headers=auth)
    assert res.status_code == 200, res.text
    cc = [d.strip() for d in res.headers["cache-control"].split(",")]
    assert "private" in cc and "public" not in cc and "max-age=86400" in cc
    assert "authorization" in res.headers["vary"].lower()
    # revalidation keeps the same rule
    again = locked_client.get(TILE, params={"asOf": past},
                              headers={**auth, "If-None-Match": res.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["cache-control"].startswith("private")
    assert "authorization" in again.headers["vary"].lower()
    # and without the token: refused
    assert locked_client.get(TILE, params={"asOf": past}).status_code == 401


@pytest.mark.parametrize("request_", [
    ("GET", TILE, None), ("GET", "/api/responsible?lon=106.973&lat=30.8366", None),
    ("GET", "/ogc/collections", None), ("GET", "/tiles/grids.json", None),
    ("POST", "/graphql", {"query": "{ county { code } }"}),
])
def test_everything_under_a_token_is_private_and_varies(locked_client: TestClient,
                                                        make_token: MakeToken, request_) -> None:  # type: ignore[no-untyped-def]
    method, path, body = request_
    auth = {"Authorization": f"Bearer {make_token('viewer').secret}"}
    res = locked_client.request(method, path, json=body, headers=auth)
    assert res.status_code == 200, res.text
    assert res.headers["cache-control"].split(",")[0].strip() == "private"
    assert "public" not in res.headers["cache-control"]
    assert "authorization" in res.headers["vary"].lower()


def test_anonymous_answers_stay_public_but_vary(client: TestClient) -> None:
    res = client.get(TILE)
    assert res.status_code == 200
    assert res.headers["cache-control"] == "public, no-cache"
    assert "authorization" in res.headers["vary"].lower()
    # the static files of the map depend on nobody: no Vary
    assert "vary" not in client.get("/static/js/api.js").headers


@pytest.mark.parametrize("path", [*PAGES, "/graphql"])
def test_pages_follow_the_anonymous_read_setting(locked_client: TestClient, client: TestClient,
                                                 make_token: MakeToken, path: str) -> None:
    html = {"Accept": "text/html"}
    refused = locked_client.get(path, headers=html)
    assert refused.status_code == 401, (path, refused.status_code)
    assert refused.json()["error"]["code"] == "UNAUTHENTICATED"
    assert refused.headers["www-authenticate"] == "Bearer"
    bad = locked_client.get(path, headers={**html, "Authorization": "Bearer jg_forged"})
    assert bad.status_code == 401
    ok = locked_client.get(path, headers={**html, "Authorization": f"Bearer {make_token().secret}"})
    assert ok.status_code in (200, 503), (path, ok.status_code)  # 503: / without map assets
    assert ok.headers["cache-control"].startswith("private")
    assert client.get(path, headers=html).status_code in (200, 503)  # anonymous reads on: open


def test_static_files_stay_open(locked_client: TestClient) -> None:
    assert locked_client.get("/static/js/api.js").status_code == 200


@pytest.mark.parametrize(("given", "expected"), [
    (None, "private"), ("public, no-cache", "private, no-cache"),
    ("public, max-age=86400", "private, max-age=86400"), ("no-store", "private, no-store"),
    ("private", "private"),
])
def test_private_cache_control(given: str | None, expected: str) -> None:
    assert private_cache_control(given) == expected


def test_with_policy_on_raw_headers() -> None:
    raw = [(b"content-type", b"x"), (b"cache-control", b"public, max-age=86400"), (b"vary", b"Accept")]
    assert with_policy(raw, under_token=True) == [
        (b"content-type", b"x"), (b"cache-control", b"private, max-age=86400"),
        (b"vary", b"Accept, Authorization")]
    assert with_policy(raw, under_token=False) == [
        (b"content-type", b"x"), (b"cache-control", b"public, max-age=86400"),
        (b"vary", b"Accept, Authorization")]
    assert with_policy([(b"vary", b"authorization")], under_token=True) == [
        (b"vary", b"authorization"), (b"cache-control", b"private")]
