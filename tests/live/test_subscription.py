"""``jurisdictionChanged`` end to end: a WebSocket subscription (graphql-transport-ws) through
the app, ``NOTIFY jurisdiction_changed`` committed on the database, the event received."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from jurisgrid.geo.crs import Crs, from_wgs84
from jurisgrid.live import listener_for

SUB = ("subscription($bbox: [Float!], $stations: [String!], $crs: Crs! = WGS84) { "
       "jurisdictionChanged(bbox: $bbox, stations: $stations, crs: $crs) { "
       "revision codes { grids zones stations communities } bbox } }")
PROTO = ["graphql-transport-ws"]


@pytest.fixture(autouse=True)
def deadline() -> Iterator[None]:
    """A lost event must fail the test, not hang it."""
    def boom(*_: Any) -> None:
        raise TimeoutError("no WebSocket message within 20 s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def notify(engine: Engine, payload: dict[str, Any] | str, *, commit: bool = True) -> None:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_notify('jurisdiction_changed', :p)"), {"p": body})
        if commit:
            conn.commit()
        else:
            conn.rollback()


def wait_subscribed(engine: Engine, n: int = 1) -> None:
    lst = listener_for(engine)
    t0 = time.monotonic()
    while not (lst.listening and lst.subscriber_count >= n):
        assert time.monotonic() - t0 < 10, "the subscription never registered"
        time.sleep(0.01)


def open_sub(ws, variables: dict[str, Any] | None = None, init: dict[str, Any] | None = None,  # type: ignore[no-untyped-def]
             sid: str = "1") -> None:
    ws.send_json({"type": "connection_init", "payload": init or {}})
    assert ws.receive_json()["type"] == "connection_ack"
    ws.send_json({"id": sid, "type": "subscribe", "payload": {"query": SUB, "variables": variables or {}}})


def change(rev: int, bbox: list[float] | None, stations: list[str] | None = None) -> dict[str, Any]:
    return {"revision": rev, "codes": {"grid": [f"g{rev}"], "zone": ["z1"], "station": stations or ["s1"]},
            "bbox": bbox}


def test_event_arrives_with_codes_and_bbox(client, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    with client.websocket_connect("/graphql", subprotocols=PROTO) as ws:
        open_sub(ws)
        wait_subscribed(engine)
        notify(engine, {"revision": 41, "codes": {"grid": ["511725001001001", "511725001001002"],
                                                  "zone": ["Z1"], "station": ["S1", "S2"]},
                        "bbox": [106.9, 30.8, 107.0, 30.9]})
        msg = ws.receive_json()
        assert msg["type"] == "next" and msg["id"] == "1"
        assert msg["payload"]["data"]["jurisdictionChanged"] == {
            "revision": 41, "bbox": [106.9, 30.8, 107.0, 30.9],
            "codes": {"grids": ["511725001001001", "511725001001002"], "zones": ["Z1"],
                      "stations": ["S1", "S2"], "communities": []}}
        ws.send_json({"id": "1", "type": "complete"})
    t0 = time.monotonic()
    while listener_for(engine).subscriber_count:
        assert time.monotonic() - t0 < 5, "the subscriber was not released"
        time.sleep(0.01)


def test_rolled_back_and_malformed_notifications_are_not_delivered(client, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    with client.websocket_connect("/graphql", subprotocols=PROTO) as ws:
        open_sub(ws)
        wait_subscribed(engine)
        notify(engine, change(1, None), commit=False)           # never committed
        notify(engine, "not json")                               # logged and skipped
        notify(engine, change(2, None))
        msg = ws.receive_json()["payload"]["data"]["jurisdictionChanged"]
        assert msg["revision"] == 2 and msg["bbox"] is None


def test_filters_bbox_and_stations(client, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    with client.websocket_connect("/graphql", subprotocols=PROTO) as ws:
        open_sub(ws, {"bbox": [106.0, 30.0, 106.5, 30.5]}, sid="box")
        open_sub_more(ws, {"stations": ["S9"]}, sid="st")
        wait_subscribed(engine, 2)
        notify(engine, change(10, [107.0, 31.0, 107.1, 31.1], ["S1"]))   # neither
        notify(engine, change(11, [106.4, 30.4, 106.6, 30.6], ["S1"]))   # box only (touches)
        notify(engine, change(12, [107.0, 31.0, 107.1, 31.1], ["S1", "S9"]))  # station only
        got = {}
        for _ in range(2):
            m = ws.receive_json()
            got[m["id"]] = m["payload"]["data"]["jurisdictionChanged"]["revision"]
        assert got == {"box": 11, "st": 12}


def open_sub_more(ws, variables: dict[str, Any], sid: str) -> None:  # type: ignore[no-untyped-def]
    ws.send_json({"id": sid, "type": "subscribe", "payload": {"query": SUB, "variables": variables}})


def test_bbox_in_gcj02(client, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    with client.websocket_connect("/graphql", subprotocols=PROTO) as ws:
        open_sub(ws, {"crs": "GCJ02"})
        wait_subscribed(engine)
        notify(engine, change(20, [106.9, 30.8, 107.0, 30.9]))
        box = ws.receive_json()["payload"]["data"]["jurisdictionChanged"]["bbox"]
    x0, y0 = from_wgs84(Crs.GCJ02, 106.9, 30.8)
    x1, y1 = from_wgs84(Crs.GCJ02, 107.0, 30.9)
    assert box == pytest.approx([x0, y0, x1, y1], abs=1e-12)
    assert box[0] - 106.9 > 0.001        # shifted by a few hundred metres, as GCJ-02 is


def test_bad_filter_is_a_clear_error(client) -> None:  # type: ignore[no-untyped-def]
    with client.websocket_connect("/graphql", subprotocols=PROTO) as ws:
        open_sub(ws, {"bbox": [1.0, 2.0]})
        msg = ws.receive_json()
        assert msg["type"] == "error"
        assert "bbox needs 4 numbers" in msg["payload"][0]["message"]
        assert msg["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_websocket_respects_auth(locked_client, make_token, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from starlette.websockets import WebSocketDisconnect

    with locked_client.websocket_connect("/graphql", subprotocols=PROTO) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        with pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_json()
        assert exc.value.code == 4403
    with locked_client.websocket_connect("/graphql", subprotocols=PROTO) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": "Bearer jg_wrong"}})
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()
    t = make_token("viewer")
    with locked_client.websocket_connect("/graphql", subprotocols=PROTO) as ws:
        open_sub(ws, init={"Authorization": f"Bearer {t.secret}"})
        wait_subscribed(engine)
        notify(engine, change(30, None))
        assert ws.receive_json()["payload"]["data"]["jurisdictionChanged"]["revision"] == 30
    with locked_client.websocket_connect("/graphql", subprotocols=PROTO,
                                         headers={"Authorization": f"Bearer {t.secret}"}) as ws:
        open_sub(ws)
        wait_subscribed(engine)
        notify(engine, change(31, None))
        assert ws.receive_json()["payload"]["data"]["jurisdictionChanged"]["revision"] == 31
