"""The per-process LISTEN: parsing, fan-out, reconnecting, stopping, slow subscribers."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from sqlalchemy import Engine, text

from jurisgrid.live import listener as live
from jurisgrid.live.listener import ChangeListener, SubscriberTooSlow, parse_payload


def test_parse_payload() -> None:
    c = parse_payload(json.dumps({"revision": 7, "codes": {"grid": ["a", "b"], "station": ["S"]},
                                  "bbox": [1, 2, 3.5, 4]}))
    assert c.revision == 7 and c.codes == {"grid": ("a", "b"), "station": ("S",)}
    assert c.bbox == (1.0, 2.0, 3.5, 4.0)
    assert c.touches_bbox((3.5, 4.0, 9, 9)) and not c.touches_bbox((3.6, 0, 9, 9))
    bare = parse_payload('{"revision": 8}')               # a huge change may omit its codes
    assert bare.codes == {} and bare.bbox is None and bare.touches_bbox((0, 0, 1, 1))
    for bad in ("[]", "nope", '{"codes": 3}'):
        with pytest.raises(ValueError):
            parse_payload(bad)


def _notify(engine: Engine, rev: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_notify('jurisdiction_changed', :p)"),
                     {"p": json.dumps({"revision": rev})})


def _listener_pids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'jurisgrid-listen'")).scalars())


def test_fan_out_reconnect_and_stop(engine: Engine) -> None:
    lst = ChangeListener(engine)

    async def scenario() -> list[int]:
        got: list[int] = []
        async with lst.subscribe() as a, lst.subscribe() as b:
            assert lst.subscriber_count == 2 and len(_listener_pids(engine)) >= 1
            await asyncio.to_thread(_notify, engine, 1)
            got += [(await anext(a)).revision or 0, (await anext(b)).revision or 0]
            # the database drops the listening session: the thread reconnects by itself
            with engine.begin() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = current_database() "
                                  "AND application_name = 'jurisgrid-listen'"))
            t0 = time.monotonic()
            while lst.listening:  # noticed the loss …
                assert time.monotonic() - t0 < 70
                await asyncio.sleep(0.05)
            while not lst.listening:  # … and listens again
                assert time.monotonic() - t0 < 75
                await asyncio.sleep(0.05)
            await asyncio.to_thread(_notify, engine, 2)
            got += [(await anext(a)).revision or 0, (await anext(b)).revision or 0]
            await asyncio.to_thread(lst.stop)
            with pytest.raises(StopAsyncIteration):   # stopping ends the subscriptions
                await anext(b)
        return got

    assert asyncio.run(asyncio.wait_for(scenario(), 90)) == [1, 1, 2, 2]
    assert lst.subscriber_count == 0 and not lst.listening


def _outside(engine: Engine, rev: int | None = None) -> int:
    """On a connection outside the engine (a commit through the engine makes its watcher
    distrust what it hears until confirmed): notify revision ``rev``, or, without one, do what
    a data change does to the version; returns the version."""
    import psycopg2

    cargs, kwargs = engine.dialect.create_connect_args(engine.url)
    conn = psycopg2.connect(*cargs, **kwargs)
    try:
        with conn, conn.cursor() as cur:
            if rev is not None:
                cur.execute("SELECT pg_notify('jurisdiction_changed', %s)",
                            (json.dumps({"revision": rev}),))
                cur.execute("SELECT version FROM data_version")
            else:
                cur.execute("UPDATE data_version SET version = version + 1 RETURNING version")
            version = int(cur.fetchone()[0])
            if rev is None:
                cur.execute("SELECT pg_notify('jg_data_version', %s)", (str(version),))
        return version
    finally:
        conn.close()


def test_one_listen_session_serves_the_lookup_index_and_the_subscriptions(engine: Engine) -> None:
    """The data-version watcher (the lookup index's) and live updates share one connection: one
    session per process in pg_stat_activity, whatever is listened to."""
    from jurisgrid.models.versions import watcher

    w = watcher(engine)
    lst = ChangeListener(engine)

    async def scenario() -> None:
        async with lst.subscribe() as a:
            assert w.is_listening("jurisdiction_changed")
            assert len(_listener_pids(engine)) == 1
            await asyncio.to_thread(_outside, engine, 41)
            assert (await anext(a)).revision == 41
            # as the lookup does after this process's own commits (earlier tests'): read, confirm
            w.confirm(await asyncio.to_thread(_outside, engine, 42))
            version = await asyncio.to_thread(_outside, engine)
            t0 = time.monotonic()
            while w.current() != version:
                assert time.monotonic() - t0 < 10
                await asyncio.sleep(0.02)
            assert len(_listener_pids(engine)) == 1

    try:
        asyncio.run(asyncio.wait_for(scenario(), 30))
    finally:
        lst.stop()
    with pytest.raises(ValueError):
        w.listen("x; DROP TABLE grid", lambda _p: None)   # channels are identifiers


def test_a_slow_subscriber_is_dropped_not_buffered_forever(engine: Engine,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "QUEUE_SIZE", 3)
    lst = ChangeListener(engine)

    async def scenario() -> None:
        async with lst.subscribe() as a:
            for i in range(6):
                await asyncio.to_thread(_notify, engine, i)
            while lst.notifications < 6:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)
            assert (await anext(a)).revision == 0
            assert (await anext(a)).revision == 1
            assert (await anext(a)).revision == 2       # the first QUEUE_SIZE, then the end
            with pytest.raises(SubscriberTooSlow):
                await anext(a)

    try:
        asyncio.run(asyncio.wait_for(scenario(), 30))
    finally:
        lst.stop()


def test_lifespan_stops_the_listener(engine: Engine) -> None:
    from fastapi.testclient import TestClient

    from jurisgrid.app import create_app
    from jurisgrid.config import Settings
    from jurisgrid.live import listener_for
    from tests.live.test_subscription import PROTO, open_sub, wait_subscribed

    with TestClient(create_app(engine=engine, settings=Settings())) as c:
        with c.websocket_connect("/graphql", subprotocols=PROTO) as ws:
            open_sub(ws)
            wait_subscribed(engine)
        assert listener_for(engine).listening
    assert not listener_for(engine).listening
    assert _listener_pids(engine) == []
