"""Tile statements on the event loop: asynchronous psycopg2 connections, pooled per event loop.

A tile is one or two prepared statements. Running them on the thread pool (as blocking
psycopg2 calls) cost each tile two thread hand-overs, about a fifth of the server's CPU per
tile, and that CPU is taken from PostgreSQL on a small machine. psycopg2's asynchronous
connections (``async_=1``, always autocommit) let the event loop wait on the socket instead:
:meth:`TilePool.execute` sends the statement and awaits readability, nothing else.

Sessions are made like the app's (database, statement timeout) and plan prepared statements
generically (``plan_cache_mode=force_generic_plan``: a tile statement takes 20–70 ms to plan
and a few ms to run). Each connection prepares a statement on first use, by name. At most
``size`` connections per event loop; callers beyond wait (``timeout`` seconds, then an error).
A connection whose statement failed on the connection itself (lost, or the caller was
cancelled while the statement ran — the statement is cancelled too) is closed rather than
reused; one whose statement merely failed (a timeout, bad SQL) is reused — autocommit leaves no
transaction to roll back.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections import OrderedDict, deque
from typing import Any

import psycopg2
import psycopg2.extensions as ext
from sqlalchemy import Engine

from jurisgrid.db import companion, connect_args, socket_dropped


class PoolTimeout(RuntimeError):
    pass


async def _ready(conn: Any) -> None:
    """Drive ``conn.poll()`` until the connection or its statement is done (raises its error)."""
    loop = asyncio.get_running_loop()
    while True:
        state = conn.poll()
        if state == ext.POLL_OK:
            return
        fd = conn.fileno()
        fut = loop.create_future()

        def wake(f: asyncio.Future[None] = fut) -> None:
            if not f.done():
                f.set_result(None)

        if state == ext.POLL_READ:
            watch, unwatch = loop.add_reader, loop.remove_reader
        elif state == ext.POLL_WRITE:
            watch, unwatch = loop.add_writer, loop.remove_writer
        else:  # pragma: no cover - psycopg2 documents no other state
            raise psycopg2.OperationalError(f"unexpected poll state {state}")
        watch(fd, wake)
        try:
            await fut
        finally:
            unwatch(fd)


# prepared statements kept per connection, least recently used dropped first: the default tiles
# need about 60 (8 layers × 3 crs × 2 statements, the as-of ones, the change log), and each
# ?properties= selection is a statement of its own (tiles/store.py) — a bound, whatever clients ask
MAX_PREPARED = 128


class _Connection:
    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.prepared: OrderedDict[str, None] = OrderedDict()

    async def one(self, sql: str, params: dict[str, Any] | None = None) -> tuple[Any, ...] | None:
        cur = self.raw.cursor()
        try:
            cur.execute(sql, params)
            await _ready(self.raw)
            return cur.fetchone() if cur.description is not None else None
        finally:
            cur.close()


class TilePool:
    """Asynchronous connections for one event loop (use it from that loop only)."""

    def __init__(self, kwargs: dict[str, Any], size: int, timeout: float) -> None:
        self._kwargs = kwargs
        self._size = size
        self._timeout = timeout
        self._idle: list[_Connection] = []
        self._open = 0
        self._waiters: deque[asyncio.Future[_Connection | None]] = deque()
        self._closed = False

    async def execute(self, name: str, sql: str, types: str, args: str,
                      params: dict[str, Any]) -> tuple[Any, ...]:
        """Run ``sql`` as the prepared statement ``name`` (``types`` its parameter types, ``args``
        its pyformat arguments from ``params``) and return its one row."""
        conn = await self._acquire()
        reuse = False
        try:
            if name in conn.prepared:
                conn.prepared.move_to_end(name)
            else:
                if len(conn.prepared) >= MAX_PREPARED:
                    oldest, _ = conn.prepared.popitem(last=False)
                    await conn.one(f"DEALLOCATE {oldest}")
                await conn.one(f"PREPARE {name}({types}) AS {sql}")
                conn.prepared[name] = None
            row = await conn.one(f"EXECUTE {name}({args})", params)
            reuse = True
        except psycopg2.Error as exc:
            # a statement error leaves the session usable; a lost connection does not
            lost = (isinstance(exc, psycopg2.InterfaceError | psycopg2.OperationalError)
                    and not isinstance(exc, ext.QueryCanceledError))
            reuse = not conn.raw.closed and not lost
            raise
        except BaseException:  # cancelled while the statement ran: stop it, then drop the session
            if not conn.raw.closed and conn.raw.isexecuting():
                with contextlib.suppress(psycopg2.Error):
                    conn.raw.cancel()
            raise
        finally:
            self._release(conn, reuse=reuse)
        if row is None:
            raise RuntimeError(f"{name} returned no row")
        return tuple(row)

    async def _acquire(self) -> _Connection:
        if self._closed:
            raise RuntimeError("the tile pool is closed")
        while self._idle:
            idle = self._idle.pop()
            if not socket_dropped(idle.raw):
                return idle
            idle.raw.close()  # the server ended it (restart, pg_terminate_backend): replace it
            self._open -= 1
        if self._open < self._size:
            self._open += 1
            try:
                raw = psycopg2.connect(**self._kwargs, async_=1)
                await _ready(raw)
            except BaseException:
                self._open -= 1
                raise
            return _Connection(raw)
        fut: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            conn = await asyncio.wait_for(fut, self._timeout)
        except TimeoutError:
            raise PoolTimeout(f"no tile connection free within {self._timeout:g} s "
                              f"({self._size} in use)") from None
        if conn is None:  # a connection was closed: open a new one in its place
            return await self._acquire()
        return conn

    def _release(self, conn: _Connection, *, reuse: bool) -> None:
        if not reuse or self._closed:
            conn.raw.close()
            self._open -= 1
            handed: _Connection | None = None
        else:
            handed = conn
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(handed)
                return
        if handed is not None:
            self._idle.append(handed)

    def close(self) -> None:
        """Close the idle connections; those in use close when they come back."""
        self._closed = True
        while self._idle:
            self._idle.pop().raw.close()
            self._open -= 1


class _Pools:
    """The tile pools of one engine, one per event loop (a TestClient runs its own loop)."""

    def __init__(self, engine: Engine) -> None:
        self.kwargs, self.size, timeout_ms = connect_args(engine)
        self.kwargs["options"] = (f"{self.kwargs.get('options', '')} -c statement_timeout={timeout_ms} "
                                  "-c plan_cache_mode=force_generic_plan").strip()
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TilePool] = (
            weakref.WeakKeyDictionary())
        self._lock = threading.Lock()

    def for_loop(self, loop: asyncio.AbstractEventLoop) -> TilePool:
        pool = self._by_loop.get(loop)
        if pool is None:
            with self._lock:
                pool = self._by_loop.setdefault(loop, TilePool(self.kwargs, self.size, timeout=30.0))
        return pool

    def close(self) -> None:
        with self._lock:
            pools = list(self._by_loop.values())
            self._by_loop.clear()
        for pool in pools:
            pool.close()


def tile_pool(engine: Engine) -> TilePool:
    """The tile pool of ``engine`` for the running event loop."""
    pools = companion(engine, "tiles:async", lambda: _Pools(engine), _Pools.close)
    return pools.for_loop(asyncio.get_running_loop())
