"""End to end: a WebSocket subscriber sees a real ``reassignGrids`` mutation, sent over HTTP with
an editor's bearer token, as one ``jurisdictionChanged`` event with its codes and box; a scoped
editor's attempt on another station's grid is refused and sends nothing."""

from __future__ import annotations

import time

import shapely
from sqlalchemy import Engine, text

from jurisgrid.auth.tokens import issue_token
from jurisgrid.live import listener_for
from tests.live.test_subscription import PROTO, deadline, open_sub  # noqa: F401  (fixture)

MUTATION = """mutation($grids: [String!]!, $zone: String!) {
  reassignGrids(grids: $grids, toZone: $zone, reason: "live test") {
    __typename
    ... on EditSuccess { revision { id actor } impact { grids zones stations } }
    ... on ForbiddenError { message }
  } }"""


def test_mutation_reaches_the_subscriber(io_engine: Engine) -> None:
    from fastapi.testclient import TestClient

    from jurisgrid.app import create_app
    from jurisgrid.config import Settings

    with io_engine.begin() as conn:
        grid, zone, station, geom = conn.execute(text(
            "SELECT g.code, z2.code, s2.code, ST_AsBinary(g.geom) FROM grid g "
            "JOIN zone z ON z.id = g.zone_id JOIN zone z2 ON z2.station_id <> z.station_id "
            "JOIN station s2 ON s2.id = z2.station_id "
            "ORDER BY g.code DESC, z2.code LIMIT 1")).one()
        other_station = conn.execute(text(
            "SELECT s.code FROM station s WHERE s.code <> :s AND NOT EXISTS (SELECT 1 FROM zone z "
            "JOIN grid g ON g.zone_id = z.id WHERE z.station_id = s.id AND g.code = :g) "
            "ORDER BY s.code LIMIT 1"),
            {"s": station, "g": grid}).scalar_one()
        editor = issue_token(conn, role="editor", label="live-editor").secret
        scoped = issue_token(conn, role="editor", station_code=other_station, label="scoped").secret
    with TestClient(create_app(engine=io_engine, settings=Settings())) as client, \
            client.websocket_connect("/graphql", subprotocols=PROTO) as ws:
        open_sub(ws)
        lst = listener_for(io_engine)
        t0 = time.monotonic()
        while not (lst.listening and lst.subscriber_count):
            assert time.monotonic() - t0 < 10
            time.sleep(0.01)
        # refused: the scoped editor's station is neither the grid's nor the target's
        res = client.post("/graphql", json={"query": MUTATION, "variables": {"grids": [grid], "zone": zone}},
                          headers={"Authorization": f"Bearer {scoped}"}).json()
        assert res["data"]["reassignGrids"]["__typename"] == "ForbiddenError", res
        res = client.post("/graphql", json={"query": MUTATION, "variables": {"grids": [grid], "zone": zone}},
                          headers={"Authorization": f"Bearer {editor}"}).json()
        out = res["data"]["reassignGrids"]
        assert out["__typename"] == "EditSuccess", res
        assert out["revision"]["actor"].startswith("live-editor#")
        msg = ws.receive_json()
    ev = msg["payload"]["data"]["jurisdictionChanged"]
    assert ev["revision"] == out["revision"]["id"]          # the refused edit sent nothing first
    assert grid in ev["codes"]["grids"] and station in ev["codes"]["stations"]
    minx, miny, maxx, maxy = shapely.from_wkb(bytes(geom)).bounds
    bx = ev["bbox"]
    assert bx[0] <= minx + 1e-9 and bx[1] <= miny + 1e-9 and bx[2] >= maxx - 1e-9 and bx[3] >= maxy - 1e-9
