"""Read replicas (issue 17) on a real primary and a real streaming standby (tests/scale/conftest.py):
reads are served by the replica, read-your-writes holds after a mutation, a replica that lags is
taken out and returns, and a replica stopped under requests costs no failed request and returns
when restarted."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from jurisgrid.config import DatabaseSettings, Settings
from jurisgrid.db import read_engine
from jurisgrid.models.versions import watcher
from jurisgrid.replicas import PollingWatcher, ReadRouter, router_of
from jurisgrid.tiles.sizing import KEY_SQL
from tests.scale.conftest import Pair, wait_for

SERVED_BY = "x-jurisgrid-served-by"
STATIONS = "{ stations(first: 50) { totalCount edges { node { code } } } }"
POLICY = "{ sizingPolicy { version } }"
UPDATE_POLICY = """mutation($c: JSON!) { updateSizingPolicy(changes: $c, reason: "replica test")
  { version } }"""
RESPONSIBLE = """query($lon: Float!, $lat: Float!) {
  responsibleFor(lon: $lon, lat: $lat) { grid { code } station { code phone } } }"""


class Routed:
    def __init__(self, client: TestClient, router: ReadRouter, pair: Pair) -> None:
        self.client, self.router, self.pair = client, router, pair

    def gql(self, query: str, variables: dict | None = None, *, token: str | None = None,
            after: str | None = None) -> tuple[dict, Any]:
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if after:
            headers["X-Jurisgrid-After-LSN"] = after
        r = self.client.post("/graphql", json={"query": query, "variables": variables or {}},
                             headers=headers)
        assert r.status_code == 200, r.text
        return r.json(), r.headers

    def primary_lsn(self) -> str:
        with self.pair.engine.connect() as c:
            return str(c.exec_driver_sql("SELECT pg_current_wal_insert_lsn()::text").scalar_one())

    def on_replica(self, sql: str) -> Any:
        with read_engine(self.router.replicas[0].engine).connect() as c:
            return c.exec_driver_sql(sql).scalar()


@pytest.fixture(scope="module")
def routed(pair: Pair) -> Iterator[Routed]:
    from jurisgrid.app import create_app

    settings = Settings()
    settings.db = DatabaseSettings(database_url=pair.url, replica_urls=pair.replica_url,
                                   replica_check_interval_s=0.2, replica_max_lag_s=30.0,
                                   replica_version_poll_s=0.05)
    app = create_app(engine=pair.engine, settings=settings)
    with TestClient(app) as client:
        router = router_of(app)
        assert router is not None
        wait_for(lambda: bool(router.rotation), what="the replica in rotation")
        yield Routed(client, router, pair)


@pytest.fixture(scope="module")
def place(pair: Pair) -> dict[str, Any]:
    """A point inside a grid, the grid's station, and a tile holding the point (zoom 13)."""
    with pair.engine.connect() as c:
        row = c.execute(text(
            "SELECT ST_X(p), ST_Y(p), g.code, s.code FROM (SELECT code, zone_id, "
            "ST_PointOnSurface(geom) AS p FROM grid ORDER BY code LIMIT 1) g "
            "JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id")).one()
    lon, lat = float(row[0]), float(row[1])
    z = 13
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    return {"lon": lon, "lat": lat, "grid": row[2], "station": row[3], "tile": (z, x, y)}


@pytest.fixture(scope="module")
def admin(pair: Pair) -> str:
    from jurisgrid.auth.tokens import create_token

    with pair.engine.begin() as conn:
        return create_token(conn, role="admin", label="replica tests")


def test_replica_engine_is_a_standby_with_a_polling_watcher(routed: Routed) -> None:
    replica = routed.router.replicas[0]
    assert routed.on_replica("SELECT pg_is_in_recovery()") is True
    assert isinstance(watcher(replica.engine), PollingWatcher)  # a standby cannot LISTEN
    assert routed.router.status()[0]["healthy"] is True


def test_reads_are_served_by_the_replica(routed: Routed, place: dict[str, Any]) -> None:
    replica = routed.router.replicas[0]
    seen: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(statement)

    event.listen(read_engine(replica.engine), "before_cursor_execute", count)
    try:
        body, headers = routed.gql(STATIONS)
    finally:
        event.remove(read_engine(replica.engine), "before_cursor_execute", count)
    assert headers[SERVED_BY] == "replica-1"
    assert seen, "the query ran no statement on the replica"
    with routed.pair.engine.connect() as c:
        expected = sorted(c.exec_driver_sql("SELECT code FROM station").scalars())
    got = body["data"]["stations"]
    assert got["totalCount"] == len(expected)
    assert sorted(e["node"]["code"] for e in got["edges"]) == expected

    body, headers = routed.gql(RESPONSIBLE, {"lon": place["lon"], "lat": place["lat"]})
    assert headers[SERVED_BY] == "replica-1"
    assert body["data"]["responsibleFor"]["grid"]["code"] == place["grid"]

    z, x, y = place["tile"]
    for path in (f"/tiles/grids/{z}/{x}/{y}.mvt", f"/api/responsible?lon={place['lon']}&lat={place['lat']}",
                 "/ogc/collections", "/tiles/grids.json"):
        r = routed.client.get(path)
        assert r.status_code == 200, (path, r.text)
        assert r.headers.get(SERVED_BY) == "replica-1", (path, dict(r.headers))
    r = routed.client.get(f"/api/responsible?lon={place['lon']}&lat={place['lat']}")
    assert r.json()["grid"]["code"] == place["grid"]


def test_zone_tiles_move_to_the_replica_once_it_holds_their_sizing(routed: Routed, admin: str,
                                                                   place: dict[str, Any]) -> None:
    """A zones tile needs the zone sizing of the current data and policy stored (tiles/sizing.py,
    a write). After a policy edit no one has stored it: the replica sends the tile to the
    primary, which stores it and answers; once the replica has replayed that, it answers the
    zone tiles itself, with the same bytes and ETag, and stays in rotation throughout."""
    z, x, y = place["tile"]
    path = f"/tiles/zones/{z}/{x}/{y}.mvt"
    body, headers = routed.gql(UPDATE_POLICY, {"c": {"default_weight": 1.25}}, token=admin)
    assert "errors" not in body, body
    lsn = headers["x-jurisgrid-lsn"]
    wait_for(lambda: routed.gql(POLICY, after=lsn)[1][SERVED_BY] == "replica-1",
             what="the replica to replay the policy edit")
    with routed.pair.engine.connect() as c:
        key = c.exec_driver_sql(f"SELECT {KEY_SQL}").scalar_one()
        assert not c.exec_driver_sql("SELECT count(*) FROM tile_zone_sizing WHERE key = %(k)s",
                                     {"k": key}).scalar_one()
    first = routed.client.get(path)
    assert first.status_code == 200 and first.headers[SERVED_BY] == "primary"
    assert len(first.content) > 0
    assert routed.router.rotation  # a tile that needs the primary does not take the replica out
    with routed.pair.engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM tile_zone_sizing WHERE key = %(k)s",
                                 {"k": key}).scalar_one() == 1
    stored_lsn = routed.primary_lsn()
    wait_for(lambda: routed.gql(POLICY, after=stored_lsn)[1][SERVED_BY] == "replica-1",
             what="the replica to replay the stored sizing")
    again = routed.client.get(path)
    assert again.status_code == 200 and again.headers[SERVED_BY] == "replica-1"
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]


def test_reads_fall_back_to_the_primary_without_replicas_in_rotation(routed: Routed) -> None:
    """With the rotation empty every read goes to the primary — the same answers."""
    replica = routed.router.replicas[0]
    routed.router.mark_down(replica, "test")
    try:
        body, headers = routed.gql(STATIONS)
        assert headers[SERVED_BY] == "primary"
        assert body["data"]["stations"]["totalCount"] > 0
    finally:
        wait_for(lambda: bool(routed.router.rotation), what="the replica back in rotation")


def test_read_your_writes(routed: Routed, admin: str, place: dict[str, Any]) -> None:
    """With the replica's replay paused: a mutation's answer carries its LSN; sent back, the
    read is answered by the primary (the replica has not replayed it) and sees the write; without
    it the replica answers the old state. Once replay resumes the replica answers it too — the
    lookup index of the replica engine included (it follows the replica's data version)."""
    before = routed.gql(POLICY)[0]["data"]["sizingPolicy"]["version"]
    routed.on_replica("SELECT pg_wal_replay_pause()")
    try:
        body, headers = routed.gql(UPDATE_POLICY, {"c": {"default_weight": 1.5}}, token=admin)
        assert "errors" not in body, body
        after = body["data"]["updateSizingPolicy"]["version"]
        assert after == before + 1
        lsn = headers["x-jurisgrid-lsn"]
        assert body["extensions"]["lsn"] == lsn and headers[SERVED_BY] == "primary"

        stale, h = routed.gql(POLICY)
        assert h[SERVED_BY] == "replica-1" and stale["data"]["sizingPolicy"]["version"] == before
        fresh, h = routed.gql(POLICY, after=lsn)
        assert h[SERVED_BY] == "primary" and fresh["data"]["sizingPolicy"]["version"] == after

        # the in-memory lookup: a station's phone changed on the primary
        with routed.pair.engine.begin() as c:
            old_phone = c.execute(text("SELECT phone FROM station WHERE code = :s"),
                                  {"s": place["station"]}).scalar()
            c.execute(text("UPDATE station SET phone = '028-1234567' WHERE code = :s"),
                      {"s": place["station"]})
        phone_lsn = routed.primary_lsn()
        point = {"lon": place["lon"], "lat": place["lat"]}
        b, h = routed.gql(RESPONSIBLE, point)
        assert h[SERVED_BY] == "replica-1"
        assert b["data"]["responsibleFor"]["station"]["phone"] == old_phone
        b, h = routed.gql(RESPONSIBLE, point, after=phone_lsn)
        assert h[SERVED_BY] == "primary"
        assert b["data"]["responsibleFor"]["station"]["phone"] == "028-1234567"
    finally:
        routed.on_replica("SELECT pg_wal_replay_resume()")

    def replica_caught_up() -> bool:
        _, h = routed.gql(RESPONSIBLE, point, after=phone_lsn)
        return h[SERVED_BY] == "replica-1"

    wait_for(replica_caught_up, what="the replica to replay the write")
    b, h = routed.gql(RESPONSIBLE, point, after=phone_lsn)
    assert b["data"]["responsibleFor"]["station"]["phone"] == "028-1234567"
    b, h = routed.gql(POLICY, after=lsn)
    assert h[SERVED_BY] == "replica-1" and b["data"]["sizingPolicy"]["version"] == after


def test_a_bad_after_lsn_header_is_an_ordinary_read(routed: Routed) -> None:
    body, headers = routed.gql(POLICY, after="not-an-lsn")
    assert "errors" not in body and headers[SERVED_BY] == "replica-1"


def test_a_lagging_replica_leaves_the_rotation_and_returns(routed: Routed, place: dict[str, Any]) -> None:
    router = routed.router
    saved = router.settings.replica_max_lag_s
    router.settings.replica_max_lag_s = 0.3
    routed.on_replica("SELECT pg_wal_replay_pause()")
    try:
        with routed.pair.engine.begin() as c:
            c.execute(text("UPDATE station SET address = address WHERE code = :s"),
                      {"s": place["station"]})
        wait_for(lambda: not router.rotation, what="the lagging replica out of rotation")
        assert "behind" in router.status()[0]["reason"]
        body, headers = routed.gql(STATIONS)
        assert headers[SERVED_BY] == "primary" and "errors" not in body
    finally:
        routed.on_replica("SELECT pg_wal_replay_resume()")
        router.settings.replica_max_lag_s = saved
    wait_for(lambda: bool(router.rotation), what="the caught-up replica back in rotation")
    assert routed.gql(STATIONS)[1][SERVED_BY] == "replica-1"


def test_a_stopped_replica_costs_no_failed_request_and_returns(routed: Routed,
                                                              place: dict[str, Any]) -> None:
    """Requests of every routed kind while the replica is stopped (fast shutdown: its sessions
    are terminated mid-use) and after: every one answered correctly; then it is started again
    and serves reads again."""
    z, x, y = place["tile"]
    point = {"lon": place["lon"], "lat": place["lat"]}
    with routed.pair.engine.connect() as c:
        n_stations = c.exec_driver_sql("SELECT count(*) FROM station").scalar_one()

    def round_trip() -> list[str]:
        served = []
        body, h = routed.gql(STATIONS)
        assert "errors" not in body, body
        assert body["data"]["stations"]["totalCount"] == n_stations
        served.append(h[SERVED_BY])
        body, h = routed.gql(RESPONSIBLE, point)
        assert "errors" not in body, body
        assert body["data"]["responsibleFor"]["grid"]["code"] == place["grid"]
        served.append(h[SERVED_BY])
        for path in (f"/tiles/grids/{z}/{x}/{y}.mvt",
                     f"/api/responsible?lon={place['lon']}&lat={place['lat']}", "/ogc/collections"):
            r = routed.client.get(path)
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
            served.append(r.headers[SERVED_BY])
        return served

    assert set(round_trip()) == {"replica-1"}
    stopper = threading.Thread(target=routed.pair.replica.stop)
    stopper.start()
    served: list[str] = []
    t_end = time.monotonic() + 2.0
    while stopper.is_alive() or time.monotonic() < t_end:
        served += round_trip()
    stopper.join()
    assert not routed.pair.replica.running()
    assert not routed.router.rotation
    assert set(round_trip()) == {"primary"}
    assert "primary" in served

    routed.pair.replica.start()
    wait_for(lambda: bool(routed.router.rotation), what="the restarted replica back in rotation")
    assert set(round_trip()) == {"replica-1"}
