"""A WebSocket subscription ends when its token is revoked (issue 16): it is closed with code
4403 and the reason "token revoked" within the token cache's TTL, also when the revocation was
made by another process (here: a plain UPDATE, which no cache of this process hears about)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from starlette.websockets import WebSocketDisconnect

from jurisgrid.gql.subscriptions import REVOKED_CLOSE_CODE
from tests.auth.conftest import MakeToken
from tests.live.test_subscription import (  # deadline: the same autouse 20 s alarm
    PROTO,
    SUB,
    deadline,  # noqa: F401
    notify,
    wait_subscribed,
)

TTL_S = 0.5


@pytest.fixture(scope="module")
def short_ttl_client(engine: Engine) -> Iterator[TestClient]:
    from jurisgrid.app import create_app
    from jurisgrid.config import ApiSettings, Settings

    settings = Settings()
    settings.api = ApiSettings(anonymous_reads=False, token_cache_ttl_s=TTL_S)
    with TestClient(create_app(engine=engine, settings=settings)) as c:
        yield c


def _revoke_elsewhere(engine: Engine, token_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE api_token SET revoked_at = now() WHERE id = :i"), {"i": token_id})


@pytest.mark.parametrize("via", ["connection_init", "header"])
def test_revoked_token_closes_the_subscription(short_ttl_client: TestClient, engine: Engine,
                                               make_token: MakeToken, via: str) -> None:
    token = make_token("viewer")
    auth = f"Bearer {token.secret}"
    headers = {"Authorization": auth} if via == "header" else {}
    init = {"Authorization": auth} if via == "connection_init" else {}
    with short_ttl_client.websocket_connect("/graphql", subprotocols=PROTO, headers=headers) as ws:
        ws.send_json({"type": "connection_init", "payload": init})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": SUB, "variables": {}}})
        wait_subscribed(engine)
        notify(engine, {"revision": 7, "codes": {"grid": ["g"]}, "bbox": None})
        assert ws.receive_json()["payload"]["data"]["jurisdictionChanged"]["revision"] == 7

        _revoke_elsewhere(engine, token.id)
        t0 = time.monotonic()
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:  # nothing but the close may arrive now
                msg = ws.receive_json()
                pytest.fail(f"a message after the revocation: {msg}")
        elapsed = time.monotonic() - t0
    assert closed.value.code == REVOKED_CLOSE_CODE and closed.value.reason == "token revoked"
    assert elapsed < 3 * TTL_S + 1.0, elapsed


def test_event_after_revocation_is_not_delivered(short_ttl_client: TestClient, engine: Engine,
                                                 make_token: MakeToken) -> None:
    """An event arriving right after the revocation (before the periodic check) is not sent:
    the token is checked before each event."""
    from jurisgrid.auth.cache import cache_for

    token = make_token("viewer")
    with short_ttl_client.websocket_connect("/graphql", subprotocols=PROTO) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token.secret}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": SUB, "variables": {}}})
        wait_subscribed(engine)
        _revoke_elsewhere(engine, token.id)
        cache_for(engine).clear()  # as if the TTL had just run out
        notify(engine, {"revision": 8, "codes": {"grid": ["g"]}, "bbox": None})
        with pytest.raises(WebSocketDisconnect) as closed:
            msg = ws.receive_json()
            pytest.fail(f"delivered after the revocation: {msg}")
    assert closed.value.code == REVOKED_CLOSE_CODE


def test_valid_token_keeps_streaming_past_the_ttl(short_ttl_client: TestClient, engine: Engine,
                                                  make_token: MakeToken) -> None:
    token = make_token("viewer")
    with short_ttl_client.websocket_connect("/graphql", subprotocols=PROTO) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token.secret}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": SUB, "variables": {}}})
        wait_subscribed(engine)
        time.sleep(3 * TTL_S)  # several re-checks pass
        notify(engine, {"revision": 9, "codes": {"grid": ["g"]}, "bbox": None})
        assert ws.receive_json()["payload"]["data"]["jurisdictionChanged"]["revision"] == 9
        ws.send_json({"id": "1", "type": "complete"})
