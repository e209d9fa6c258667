"""The event-loop tile pool (jurisgrid/tiles/pool.py) on a real PostgreSQL: prepared statements
per connection, the size limit and waiting, and what happens to a connection after a failed
statement, a lost session and a cancelled caller."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg2
import pytest
from sqlalchemy import Engine, text

from jurisgrid.db import connect_args
from jurisgrid.tiles.pool import PoolTimeout, TilePool

ECHO = ("jg_test_echo", "SELECT $1::int * 2, pg_backend_pid()", "integer", "%(v)s")
SLEEP = ("jg_test_sleep", "SELECT pg_sleep($1), pg_backend_pid()", "float8", "%(s)s")


def _pool(engine: Engine, size: int, timeout: float = 5.0) -> TilePool:
    kwargs, _, _ = connect_args(engine)
    return TilePool(kwargs, size, timeout)


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _echo(pool: TilePool, v: int) -> tuple[Any, ...]:
    return await pool.execute(*ECHO, {"v": v})


def test_statements_run_prepared_and_connections_are_reused(engine: Engine) -> None:
    async def main() -> list[tuple[Any, ...]]:
        pool = _pool(engine, size=2)
        try:
            return [await _echo(pool, i) for i in range(5)]
        finally:
            pool.close()

    rows = _run(main())
    assert [r[0] for r in rows] == [0, 2, 4, 6, 8]
    assert len({r[1] for r in rows}) == 1  # one after the other: the same session throughout


def test_at_most_size_sessions_and_the_rest_wait(engine: Engine) -> None:
    async def main() -> tuple[set[int], float]:
        pool = _pool(engine, size=2)
        try:
            t = time.perf_counter()
            rows = await asyncio.gather(*(pool.execute(*SLEEP, {"s": 0.2}) for _ in range(4)))
            return {r[1] for r in rows}, time.perf_counter() - t
        finally:
            pool.close()

    pids, took = _run(main())
    assert len(pids) == 2          # never more than two sessions
    assert 0.38 < took < 2.0       # two rounds of two: the last two waited for a connection


def test_a_caller_waits_no_longer_than_the_timeout(engine: Engine) -> None:
    async def main() -> None:
        pool = _pool(engine, size=1, timeout=0.1)
        try:
            slow = asyncio.create_task(pool.execute(*SLEEP, {"s": 0.5}))
            await asyncio.sleep(0.05)
            with pytest.raises(PoolTimeout, match="no tile connection free"):
                await _echo(pool, 1)
            await slow
            assert (await _echo(pool, 3))[0] == 6  # and the pool still works
        finally:
            pool.close()

    _run(main())


def test_a_failed_statement_keeps_the_session(engine: Engine) -> None:
    async def main() -> tuple[int, int]:
        pool = _pool(engine, size=1)
        try:
            pid = (await _echo(pool, 1))[1]
            with pytest.raises(psycopg2.errors.DivisionByZero):
                await pool.execute("jg_test_div", "SELECT 1 / $1", "integer", "%(v)s", {"v": 0})
            await pool.execute("jg_test_timeout", "SELECT set_config('statement_timeout', $1, false)",
                               "text", "%(t)s", {"t": "50"})
            with pytest.raises(psycopg2.errors.QueryCanceled):  # the statement timeout
                await pool.execute(*SLEEP, {"s": 1})
            return pid, (await _echo(pool, 2))[1]
        finally:
            pool.close()

    before, after = _run(main())
    assert before == after


def test_a_lost_session_is_replaced(engine: Engine) -> None:
    async def main() -> None:
        pool = _pool(engine, size=1)
        try:
            pid = (await _echo(pool, 1))[1]
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            await asyncio.sleep(0.1)
            # the idle session is seen dropped before use (db.socket_dropped) and replaced: no
            # request fails for it (issue 16); the new session prepares the statement again
            row = await _echo(pool, 3)
            assert row[0] == 6 and row[1] != pid
        finally:
            pool.close()

    _run(main())


def test_a_cancelled_caller_does_not_leave_a_busy_session_in_the_pool(engine: Engine) -> None:
    async def main() -> None:
        pool = _pool(engine, size=1)
        try:
            slow = asyncio.create_task(pool.execute(*SLEEP, {"s": 5}))
            await asyncio.sleep(0.1)
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
            t = time.perf_counter()
            assert (await _echo(pool, 4))[0] == 8
            assert time.perf_counter() - t < 4  # not queued behind the abandoned pg_sleep(5)
            with engine.connect() as conn:  # and the abandoned statement no longer runs
                running = conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                    "AND datname = current_database() "  # not another run's scratch database
                    "AND query LIKE 'EXECUTE jg_test_sleep%'")).scalar_one()
            assert running == 0
        finally:
            pool.close()

    _run(main())
