"""The app's own cost of one request, counted in instructions: a figure that load does not move.

    valgrind --tool=callgrind --callgrind-out-file=/tmp/rc/cg.out \\
        .venv/bin/python -m bench.request_cost [--requests 100]
    # then, per kind: the instructions of cg.out.<n> (its "totals:" line) / --requests

On this shared 2-core machine requests per second scatter by ±25 % between runs minutes apart,
and so does CPU time per request (contention); a regression of a few per cent is invisible in
them. Here the app (``create_app``, its lifespan, the demo county in ``jurisgrid_bench`` as
bench/responsible.py loads it) is called in-process — no uvicorn, no sockets, the same for any
two versions of the code — with the requests of bench/responsible.py and bench/tiles.py:

* ``graphql``: ``responsibleFor`` of one point (bench.responsible's query);
* ``bare``: ``GET /api/responsible`` of the same points;
* ``tile304``: tiles revalidated with their current ETag (bench.tiles' 304 phase).

Under callgrind each kind ends with a dump (``callgrind_control --dump=<kind>``), so the count
between two dumps is that kind's requests alone (the database's work is another process and not
counted). Without callgrind it prints the CPU time of this thread per request (noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from sqlalchemy import text

from bench.responsible import GQL_ONE, bench_database_url
from bench.tiles import tile_set
from jurisgrid.app import create_app
from jurisgrid.config import get_settings
from jurisgrid.db import make_engine

Scope = dict[str, Any]
Request = tuple[Scope, bytes]


def scope_for(method: str, path: str, query: bytes = b"",
              headers: tuple[tuple[bytes, bytes], ...] = ()) -> Scope:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
            "root_path": "", "headers": [(b"host", b"127.0.0.1"), *headers],
            "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8000), "state": {}}


async def call(app: Callable[..., Awaitable[None]], scope: Scope,
               body: bytes = b"") -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One request through the ASGI app: (status, headers, body)."""
    sent = False
    out: dict[str, Any] = {"status": 0, "headers": [], "body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # no disconnect while the app answers
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"], out["headers"] = message["status"], message.get("headers", [])
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    await app(dict(scope), receive, send)
    return out["status"], out["headers"], out["body"]


async def lifespan(app: Callable[..., Awaitable[None]]
                   ) -> tuple[asyncio.Queue[Any], asyncio.Queue[Any], asyncio.Future[None]]:
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    outbox: asyncio.Queue[Any] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    running = app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    task = asyncio.ensure_future(running)
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise SystemExit(f"the app did not start: {started}")
    return inbox, outbox, task


def callgrind_answers() -> bool:
    """Whether this process runs under callgrind (callgrind_control finds it)."""
    if shutil.which("callgrind_control") is None:
        return False
    found = subprocess.run(["callgrind_control", "-s", str(os.getpid())], capture_output=True)
    return found.returncode == 0 and b"not detected" not in found.stdout + found.stderr


async def measure(n: int) -> None:
    url = bench_database_url()
    os.environ["JURISGRID_DATABASE_URL"] = url
    get_settings.cache_clear()  # read again: the app's engine on the bench database
    app = create_app()
    inbox, outbox, running = await lifespan(app)
    engine = make_engine(url, pool_size=1)
    with engine.connect() as conn:
        pts = [(float(x), float(y)) for x, y in conn.execute(text(
            "SELECT ST_X(geom), ST_Y(geom) FROM address_point ORDER BY id LIMIT 400"))]
    tiles = tile_set(engine, 3, 1)[:120]
    engine.dispose()
    graphql: list[Request] = []
    for x, y in pts:
        body = orjson.dumps({"query": GQL_ONE, "variables": {"lon": x, "lat": y}})
        graphql.append((scope_for("POST", "/graphql", headers=(
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()))),
            body))
    bare = [(scope_for("GET", "/api/responsible", f"lon={x!r}&lat={y!r}".encode()), b"")
            for x, y in pts]
    revalidate: list[Request] = []
    for name, z, x, y in tiles:
        path = f"/tiles/{name}/{z}/{x}/{y}.mvt"
        status, headers, _ = await call(app, scope_for("GET", path))
        if status != 200:
            raise SystemExit(f"GET {path}: HTTP {status}")
        revalidate.append((scope_for("GET", path, headers=((b"if-none-match", dict(headers)[b"etag"]),)),
                           b""))
    kinds = {"graphql": (graphql, 200), "bare": (bare, 200), "tile304": (revalidate, 304)}
    for kind, (reqs, expected) in kinds.items():  # warm: caches, the lookup index, statements
        for i in range(20):
            status, _, body = await call(app, *reqs[i % len(reqs)])
            if status != expected or b'"errors"' in body:
                raise SystemExit(f"{kind}: HTTP {status} {body[:300]!r}")
    callgrind = callgrind_answers()

    def mark(label: str) -> None:
        if callgrind:
            subprocess.run(["callgrind_control", f"--dump={label}", str(os.getpid())],
                           check=True, capture_output=True)

    mark("start")
    for kind, (reqs, _) in kinds.items():
        t0 = time.thread_time()
        for i in range(n):
            await call(app, *reqs[i % len(reqs)])
        cpu_us = (time.thread_time() - t0) / n * 1e6
        mark(kind)
        print(f"{kind:8s} {n} requests" + ("; instructions: cg.out.<n> of this dump / "
                                            f"{n}" if callgrind else f"; CPU {cpu_us:.0f} µs a request"))
    await inbox.put({"type": "lifespan.shutdown"})
    await outbox.get()
    await running


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=100, help="requests of each kind")
    asyncio.run(measure(ap.parse_args().requests))


if __name__ == "__main__":
    main()
