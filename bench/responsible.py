"""Benchmark "who is responsible here": single points and 100,000-point batches
(docs/design.md, Performance principles).

    .venv/bin/python -m bench.responsible [--scale 1] [--seconds 10] [--points 100000]

Loads the demo county into the dedicated database ``jurisgrid_bench``, starts the real server
(``jurisgrid serve``, one worker unless ``--workers``) and measures, over HTTP from a lean
raw-socket asyncio client:

* single points: GraphQL ``responsibleFor`` against ``GET /api/responsible``, the bare endpoint
  that answers from the very same in-memory index — so the ratio is what GraphQL costs on top —
  and against ``GET /api/responsible?via=sql``, which runs the single-point PostGIS statement;
* one ``responsibleForMany`` request of 100,000 points, against the physical limits measured in
  the same run: one set-based PostGIS statement, and the Shapely STRtree index in-process.

Targets (PASS/FAIL): GraphQL ≥ 50 % of the bare endpoint's throughput at 16 clients, GraphQL
p99 < 20 ms at 16 clients, 100k points < 2 s end-to-end (goal 0.5 s), server RSS < 600 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from jurisgrid.config import get_settings
from jurisgrid.db import make_engine
from jurisgrid.localdb import LocalCluster

BENCH_DB = "jurisgrid_bench"
HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
JITTER_DEG = 1e-4            # about 10 m around an address point
SINGLE_POINTS = 4_000        # distinct pre-encoded single-point requests, cycled
MAX_REQUESTS = 5_000_000     # hard cap per load phase, whatever the clock says
REQUEST_TIMEOUT_S = 120.0    # a bulk request, or the slack on top of a load phase

T = TypeVar("T")

GQL_ONE = ("query($lon: Float!, $lat: Float!) { responsibleFor(lon: $lon, lat: $lat) { "
           "onBoundary distanceToBoundaryM grid { code } zone { code } station { code name } "
           "officers { role person { name } } } }")
GQL_MANY = ("query($points: Coordinates!) { responsibleForMany(points: $points) { "
            "count resolved gridCodes zoneCodes stationCodes onBoundary } }")

# the PostGIS limit: the boundary rule (jg_grid_of, inlined by the planner; jg_on_boundary) for
# all points in one statement, answering the same columns as responsibleForMany
BULK_SQL = """
SELECT w.code, z.code, s.code,
       jg_on_boundary(w.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))
FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(x, y, i)
LEFT JOIN LATERAL jg_grid_of(ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)) h ON true
LEFT JOIN grid w ON w.id = h
LEFT JOIN zone z ON z.id = w.zone_id
LEFT JOIN station s ON s.id = z.station_id
ORDER BY p.i
"""


# -- the database ------------------------------------------------------------------------------
def bench_database_url() -> str:
    """The bench database (``jurisgrid_bench`` unless --database) on JURISGRID_DATABASE_URL's
    server, else on the local cluster."""
    env = os.environ.get("JURISGRID_DATABASE_URL")
    if not env:
        cluster = LocalCluster((ROOT / get_settings().db.home).resolve())
        cluster.start()
        cluster.ensure_database(BENCH_DB)
        return cluster.url(BENCH_DB)
    admin = create_engine(make_url(env).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": BENCH_DB}).first()
            if exists is None:
                conn.execute(text(f'CREATE DATABASE "{BENCH_DB}"'))
    finally:
        admin.dispose()
    return make_url(env).set(database=BENCH_DB).render_as_string(hide_password=False)


def seeded_as(engine: Engine) -> str | None:
    """What the bench last loaded here (kept as the database's comment)."""
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname = current_database()")).scalar_one()


def prepare_database(engine: Engine, scale: float, seed: int, reseed: bool, console: Console) -> None:
    """Migrate; (re)load the demo county unless it is already there at this scale and seed."""
    from jurisgrid.models.migrate import upgrade
    from jurisgrid.seed import load as loader

    upgrade(engine)
    tag = f"jurisgrid-bench demo scale={scale:g} seed={seed}"
    if not reseed and not loader.database_is_empty(engine) and seeded_as(engine) == tag:
        console.print(f"database {BENCH_DB}: demo county already loaded ({tag})")
        return
    from jurisgrid.seed.generate import generate

    t0 = time.perf_counter()
    if not loader.database_is_empty(engine):
        loader.clear(engine)
    demo = generate(scale=scale, seed=seed)
    t1 = time.perf_counter()
    counts = loader.load(engine, demo)
    del demo
    with engine.begin() as conn:
        conn.exec_driver_sql(f"COMMENT ON DATABASE \"{BENCH_DB}\" IS '{tag}'")
    console.print(f"database {BENCH_DB}: loaded the demo county at scale {scale:g} "
                  f"(generate {t1 - t0:.1f} s, load {time.perf_counter() - t1:.1f} s): "
                  + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


def sample_points(engine: Engine, n: int, seed: int, outside: float = 0.0) -> np.ndarray:
    """``n`` [lon, lat] rows: address points jittered by ~10 m, plus a fraction ``outside``
    spread uniformly over the county's box grown by 10 % (so some fall outside the county)."""
    with engine.connect() as conn:
        xy = np.array(conn.execute(text(
            "SELECT ST_X(geom), ST_Y(geom) FROM address_point ORDER BY id")).all(), dtype=float)
        box = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                                "FROM (SELECT ST_Extent(geom) AS e FROM county) c")).one()
    if len(xy) == 0:
        raise SystemExit(f"{BENCH_DB} has no address points: run with --reseed")
    rng = np.random.default_rng(seed)
    pts = xy[rng.integers(0, len(xy), n)] + rng.normal(0.0, JITTER_DEG, (n, 2))
    k = round(n * outside)
    if k:
        x0, y0, x1, y1 = (float(v) for v in box)
        dx, dy = (x1 - x0) * 0.05, (y1 - y0) * 0.05
        where = rng.choice(n, k, replace=False)
        pts[where, 0] = rng.uniform(x0 - dx, x1 + dx, k)
        pts[where, 1] = rng.uniform(y0 - dy, y1 + dy, k)
    return pts


# -- the server --------------------------------------------------------------------------------
@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _wait_healthy(server: Server, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise SystemExit(f"the server exited ({server.proc.returncode}):\n"
                             + server.log.read_text()[-3000:])
        try:
            with urllib.request.urlopen(f"http://{HOST}:{server.port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not become healthy in {timeout_s:.0f} s:\n"
                     + server.log.read_text()[-3000:])


@contextmanager
def running_server(url: str, logdir: Path, extra_env: dict[str, str],
                   workers: int = 1) -> Iterator[Server]:
    """``jurisgrid serve`` (uvicorn; with 2+ workers, one SO_REUSEPORT socket each —
    jurisgrid/serving.py) on a free 127.0.0.1 port, stopped on the way out (also on ^C)."""
    port = _free_port()
    log = logdir / "server.log"
    cmd = [sys.executable, "-m", "jurisgrid.cli", "serve", "--host", HOST, "--port", str(port),
           "--workers", str(workers)]
    env = {**os.environ, **extra_env, "JURISGRID_DATABASE_URL": url}
    with spawned_server(cmd, env, port, log) as server:
        yield server


@contextmanager
def spawned_server(cmd: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[Server]:
    """Run ``cmd`` (a server on ``port`` answering /healthz) with its output in ``log``; yield
    it once healthy, stop it on the way out (also on ^C). bench/tipg.py starts tipg with it."""
    with log.open("wb") as out:
        # own session: a ^C in the terminal reaches the bench, which then stops the server
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Server(proc, port, log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, 15 s to exit, then SIGKILL: a server the bench started (ours or a peer)."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


@dataclass
class CpuClock:
    """CPU seconds so far: the whole machine (busy), the server process, this process."""

    wall: float
    busy: float
    server: float
    bench: float

    @classmethod
    def now(cls, server_pid: int) -> CpuClock:
        tick = os.sysconf("SC_CLK_TCK")
        cpu = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        busy = sum(cpu) - cpu[3] - cpu[4]  # all but idle and iowait
        server_ticks = 0
        for pid in process_tree(server_pid):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            server_ticks += int(stat[11]) + int(stat[12])
        own = os.times()
        return cls(time.monotonic(), busy / tick, server_ticks / tick,
                   own.user + own.system)

    def cores_since(self, before: CpuClock) -> tuple[float, float, float]:
        """Cores busy in the server, in this process, and elsewhere (mostly PostgreSQL)."""
        wall = max(self.wall - before.wall, 1e-9)
        server, bench = self.server - before.server, self.bench - before.bench
        other = self.busy - before.busy - server - bench
        return server / wall, bench / wall, max(other, 0.0) / wall


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (uvicorn's workers), from /proc/<pid>/task/*/children."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo += [int(c) for c in task.read_text().split()]
            except FileNotFoundError:
                continue
    return out


def process_memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB of the server: summed over the process and its workers."""
    rss = hwm = 0.0
    for p in process_tree(pid):
        fields: dict[str, float] = {}
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024  # kB → MB
        rss += fields.get("VmRSS", 0.0)
        hwm += fields.get("VmHWM", 0.0)
    return rss, hwm


# -- a lean HTTP/1.1 client over raw sockets ---------------------------------------------------
def http_post(port: int, path: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def http_get(port: int, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: application/json\r\n\r\n".encode()


class HttpConnection:
    """One keep-alive connection: write a pre-encoded request, read status and body. A
    response with ``Connection: close`` closes it; the next request connects again (within that
    request's time), as any HTTP/1.1 client does."""

    def __init__(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = reader
        self.writer: asyncio.StreamWriter | None = writer
        self.reconnects = 0

    @classmethod
    async def open(cls, port: int) -> HttpConnection:
        reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 20)
        return cls(port, reader, writer)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port, limit=1 << 20)
            self.reconnects += 1
        self.writer.write(raw)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if status in (204, 304):  # no body, whatever the headers say (RFC 9110)
            body = b""
        elif at >= 0:
            end = lower.index(b"\r\n", at + 2)
            body = await self.reader.readexactly(int(lower[at + 17:end]))
        elif b"\r\ntransfer-encoding: chunked" in lower:
            body = await self._chunked()
        else:
            raise ValueError("response without Content-Length or chunked encoding")
        if b"\r\nconnection: close" in lower:
            self.close()
        return status, body

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts: list[bytes] = []
        for _ in range(1_000_000):
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)
        raise ValueError("too many chunks")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when it is installed (cheaper per request), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


# -- single points: closed-loop load at a fixed number of clients --------------------------------
Check = Callable[[int, bytes], str | None]


def check_bare(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}"
    return None if body.startswith(b"{") else f"not a JSON object: {body[:200]!r}"


def check_graphql(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}"
    if not body.startswith(b'{"data":') or b'"errors"' in body:
        return f"GraphQL errors: {body[:300]!r}"
    return None


@dataclass
class Phase:
    """One load phase: requests started after ``t_measure`` count, none start after ``t_end``."""

    t_measure: float
    t_end: float
    issued: int = 0
    latencies: list[float] = field(default_factory=list)
    last_done: float = 0.0
    failed: int = 0
    first_failure: str | None = None

    def record(self, t0: float, t1: float, error: str | None) -> None:
        if error is not None:  # counted in warm-up too: nothing may fail
            self.failed += 1
            self.first_failure = self.first_failure or error
        elif t0 >= self.t_measure:
            self.latencies.append(t1 - t0)
            self.last_done = max(self.last_done, t1)


async def _worker(port: int, reqs: list[bytes], check: Check, ph: Phase) -> None:
    conn = await HttpConnection.open(port)
    try:
        while ph.issued < MAX_REQUESTS:
            t0 = time.perf_counter()
            if t0 >= ph.t_end:
                break
            raw = reqs[ph.issued % len(reqs)]
            ph.issued += 1
            try:
                status, body = await conn.request(raw)
                error = check(status, body)
            except (OSError, EOFError, asyncio.LimitOverrunError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                conn.close()
                conn = await HttpConnection.open(port)
            ph.record(t0, time.perf_counter(), error)
    finally:
        conn.close()


async def load_phase(port: int, reqs: list[bytes], check: Check, clients: int,
                     warmup: float, seconds: float) -> Phase:
    now = time.perf_counter()
    ph = Phase(t_measure=now + warmup, t_end=now + warmup + seconds)
    async with asyncio.timeout(warmup + seconds + REQUEST_TIMEOUT_S), asyncio.TaskGroup() as tg:
        for _ in range(clients):
            tg.create_task(_worker(port, reqs, check, ph))
    return ph


@dataclass
class LoadResult:
    endpoint: str
    clients: int
    ok: int
    failed: int
    rps: float
    p50_ms: float
    p99_ms: float
    first_failure: str | None
    db_connects: int = 0  # new PostgreSQL sessions the server opened during the phase
    cores: tuple[float, float, float] = (0.0, 0.0, 0.0)  # server, client, PostgreSQL + other

    @classmethod
    def of(cls, endpoint: str, clients: int, ph: Phase) -> LoadResult:
        lat = np.asarray(ph.latencies) * 1000.0
        span = ph.last_done - ph.t_measure
        rps = len(lat) / span if len(lat) and span > 0 else 0.0
        p50, p99 = np.percentile(lat, [50, 99]) if len(lat) else (float("nan"), float("nan"))
        return cls(endpoint, clients, len(lat), ph.failed, rps, float(p50), float(p99),
                   ph.first_failure)


GRAPHQL, BARE, BARE_SQL = ("GraphQL responsibleFor", "GET /api/responsible",
                           "GET /api/responsible?via=sql")


def single_point_requests(port: int, pts: np.ndarray) -> dict[str, tuple[list[bytes], Check]]:
    gql = [http_post(port, "/graphql", orjson.dumps({"query": GQL_ONE,
                                                      "variables": {"lon": x, "lat": y}}))
           for x, y in pts.tolist()]
    bare = [http_get(port, f"/api/responsible?lon={x!r}&lat={y!r}") for x, y in pts.tolist()]
    sql = [http_get(port, f"/api/responsible?lon={x!r}&lat={y!r}&via=sql") for x, y in pts.tolist()]
    return {GRAPHQL: (gql, check_graphql), BARE: (bare, check_bare), BARE_SQL: (sql, check_bare)}


def db_sessions(engine: Engine) -> int:
    """Sessions ever opened on the bench database (a pool that churns shows up here)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        return int(conn.execute(text("SELECT sessions FROM pg_stat_database "
                                     "WHERE datname = current_database()")).scalar_one())


def run_phase(server: Server, engine: Engine, endpoint: str, reqs: list[bytes], check: Check,
              clients: int, args: argparse.Namespace) -> LoadResult:
    """One load phase, with the DB sessions opened and the CPU used meanwhile."""
    sessions = db_sessions(engine)
    cpu = CpuClock.now(server.pid)
    ph = run_async(load_phase(server.port, reqs, check, clients, args.warmup, args.seconds))
    r = LoadResult.of(endpoint, clients, ph)
    r.cores = CpuClock.now(server.pid).cores_since(cpu)
    r.db_connects = db_sessions(engine) - sessions
    return r


def run_single(server: Server, engine: Engine, pts: np.ndarray, args: argparse.Namespace,
               console: Console) -> list[LoadResult]:
    requests = single_point_requests(server.port, pts)
    results: list[LoadResult] = []
    for clients in args.clients:
        for endpoint, (reqs, check) in requests.items():
            r = run_phase(server, engine, endpoint, reqs, check, clients, args)
            results.append(r)
            console.print(f"  {endpoint:<29} {clients:>3} clients: {r.rps:7.1f} req/s  "
                          f"p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms  {r.ok:,} ok  "
                          f"{r.failed} failed  {r.db_connects} new DB sessions  cores "
                          + "/".join(f"{c:.2f}" for c in r.cores)
                          + " (server/client/PostgreSQL+other)")
            if r.first_failure:
                console.print(f"    first failure: {r.first_failure}", markup=False)
    return results


# -- 100k points: the API against the physical limits -------------------------------------------
@dataclass
class Timing:
    path: str
    cold_s: float        # first run: caches (the server's STRtree, PostgreSQL's buffers) warm up
    times_s: list[float]
    points: int

    @property
    def best_s(self) -> float:
        return min(self.times_s)

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)

    @property
    def points_per_s(self) -> float:
        return self.points / self.median_s


class BenchError(RuntimeError):
    """A request the benchmark needs failed; the message says how."""


async def _bulk_once(port: int, raw: bytes, n: int) -> tuple[float, dict[str, Any]]:
    conn = await HttpConnection.open(port)
    try:
        t0 = time.perf_counter()
        status, body = await asyncio.wait_for(conn.request(raw), REQUEST_TIMEOUT_S)
        doc = orjson.loads(body)
        elapsed = time.perf_counter() - t0
    finally:
        conn.close()
    if status != 200 or doc.get("errors"):
        raise BenchError(f"responsibleForMany failed: HTTP {status}: {body[:500]!r}")
    ans = doc["data"]["responsibleForMany"]
    if ans["count"] != n or len(ans["gridCodes"]) != n:
        raise BenchError(f"responsibleForMany answered {ans['count']} points for {n}")
    return elapsed, ans


def run_bulk_api(port: int, pts: np.ndarray, repeats: int,
                 console: Console) -> tuple[Timing, dict[str, Any]]:
    body = orjson.dumps({"query": GQL_MANY, "variables": {"points": pts.tolist()}})
    raw = http_post(port, "/graphql", body)
    cold, ans = run_async(_bulk_once(port, raw, len(pts)))
    times = [run_async(_bulk_once(port, raw, len(pts)))[0] for _ in range(repeats)]
    console.print(f"  request body {len(body) / 1e6:.1f} MB; {ans['resolved']:,} of "
                  f"{ans['count']:,} points in a grid, "
                  f"{sum(ans['onBoundary']):,} on a boundary")
    return Timing("API: responsibleForMany over HTTP", cold, times, len(pts)), ans


def _pg_array(values: np.ndarray) -> str:
    return "{" + ",".join(map(repr, values.tolist())) + "}"


def run_postgis(engine: Engine, pts: np.ndarray, repeats: int) -> tuple[Timing, list[str | None]]:
    """One set-based statement for all the points, timed here (execute + fetch)."""
    xs, ys = _pg_array(pts[:, 0]), _pg_array(pts[:, 1])
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET statement_timeout = '300s'")
        times: list[float] = []
        rows: Sequence[tuple[Any, ...]] = []
        for _ in range(repeats + 1):
            t0 = time.perf_counter()
            cur.execute(BULK_SQL, (xs, ys))
            rows = cur.fetchall()
            times.append(time.perf_counter() - t0)
        raw.rollback()
    finally:
        raw.close()
    timing = Timing("PostGIS: one set-based SQL statement", times[0], times[1:], len(pts))
    return timing, [r[0] for r in rows]


def run_strtree(engine: Engine, pts: np.ndarray,
                repeats: int) -> tuple[Timing, float, list[str | None]]:
    """``GridIndex.resolve`` in this process; returns the timing, the build time, the codes."""
    import shapely

    from jurisgrid.geo.lookup import GridIndex

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, ST_AsBinary(geom) FROM grid ORDER BY id")).all()
    t0 = time.perf_counter()
    index = GridIndex([r[0] for r in rows], shapely.from_wkb([bytes(r[1]) for r in rows]))
    build_s = time.perf_counter() - t0
    lon, lat = np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1])
    times: list[float] = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        res = index.resolve(lon, lat)
        times.append(time.perf_counter() - t0)
    codes = np.array([*index.codes, None], dtype=object)[res.grid].tolist()
    return Timing("STRtree: GridIndex.resolve in-process", times[0], times[1:], len(pts)), build_s, codes


def run_per_point(engine: Engine, n: int, seed: int, repeats: int) -> Table:
    """µs per point in ``GridIndex.resolve``, for points in a grid and points in none, with the
    bulk nearest search on the tree alone (before issue 15's cell index) and through the cell
    index (geo/nearest_cells.py): ``n`` points uniform over the county's box, split by where
    they fall, each part resolved on its own. Both must name the same nearest grid and metres."""
    import shapely

    from jurisgrid.geo.lookup import GridIndex

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, ST_AsBinary(geom) FROM grid ORDER BY id")).all()
        box = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                                "FROM (SELECT ST_Extent(geom) AS e FROM county) c")).one()
    codes, geoms = [r[0] for r in rows], shapely.from_wkb([bytes(r[1]) for r in rows])
    tree_only = GridIndex(codes, geoms, cells=False)
    with_cells = GridIndex(codes, geoms)
    t0 = time.perf_counter()
    cells = with_cells.prepare_nearest()
    build_s = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = (float(v) for v in box)
    lon, lat = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    inside = tree_only.resolve(lon, lat).grid >= 0
    table = Table(title=f"GridIndex.resolve per point ({n:,} points uniform over the county's "
                        f"box; best of {repeats})", title_justify="left")
    for col in ("points", "count", "tree µs/pt", "cells µs/pt", "tree ÷ cells"):
        table.add_column(col, justify="left" if col == "points" else "right")
    per: dict[str, float] = {}
    for label, sel in (("in a grid", inside), ("in no grid", ~inside)):
        x, y = np.ascontiguousarray(lon[sel]), np.ascontiguousarray(lat[sel])
        best: dict[str, float] = {}
        answers = []
        for name, index in (("tree", tree_only), ("cells", with_cells)):
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                res = index.resolve(x, y)
                times.append(time.perf_counter() - t0)
            best[name] = min(times) / max(1, len(x)) * 1e6
            answers.append(res)
        same = (np.array_equal(answers[0].nearest, answers[1].nearest)
                and np.array_equal(answers[0].nearest_m, answers[1].nearest_m, equal_nan=True))
        if not same:
            raise BenchError("the cell index and the tree name different nearest grids")
        per[label] = best["cells"]
        table.add_row(label, f"{len(x):,}", f"{best['tree']:.2f}", f"{best['cells']:.2f}",
                      f"{best['tree'] / best['cells']:.2f}×")
    table.caption = (f"cell index: {cells.nodes:,} nodes, built in {build_s:.2f} s (once per "
                     f"index; excluded). In no grid ÷ in a grid, with cells: "
                     f"{per['in no grid'] / per['in a grid']:.2f}×. Same nearest grid and metres "
                     "on both paths.")
    return table


def mismatches(a: list[str | None], b: list[str | None]) -> int:
    return sum(1 for x, y in zip(a, b, strict=True) if x != y)


# -- the report --------------------------------------------------------------------------------
def machine_info(engine: Engine, argv: list[str]) -> list[tuple[str, str]]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines()
                  if ln.startswith("model name")), platform.processor() or "?")
    with engine.connect() as conn:
        pg = conn.execute(text("SHOW server_version")).scalar_one()
        postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return [
        ("nproc", f"{len(os.sched_getaffinity(0))} (of {os.cpu_count()} CPUs)"),
        ("CPU", model),
        ("memory", f"{mem_gb:.1f} GB"),
        ("software", f"Python {platform.python_version()}, PostgreSQL {pg}, PostGIS {postgis}"),
        ("command", shlex.join([Path(sys.executable).name, "-m", "bench.responsible", *argv])),
    ]


def kv_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for k, v in rows:
        table.add_row(k, v)
    return table


def find(results: list[LoadResult], endpoint: str, clients: int) -> LoadResult | None:
    return next((r for r in results if r.endpoint == endpoint and r.clients == clients), None)


def single_table(results: list[LoadResult]) -> Table:
    table = Table(title="Single point over HTTP (keep-alive, closed loop)", title_justify="left")
    for col in ("endpoint", "clients", "req/s", "p50 ms", "p99 ms", "ok", "failed",
                "new DB sessions", "cores: server/client/PG+other"):
        table.add_column(col, justify="left" if col == "endpoint" else "right")
    for r in results:
        table.add_row(r.endpoint, str(r.clients), f"{r.rps:.1f}", f"{r.p50_ms:.2f}",
                      f"{r.p99_ms:.2f}", f"{r.ok:,}", str(r.failed), str(r.db_connects),
                      "/".join(f"{c:.2f}" for c in r.cores))
    for clients in sorted({r.clients for r in results}):
        g = find(results, GRAPHQL, clients)
        for label, bare in (("bare", BARE), ("bare SQL", BARE_SQL)):
            b = find(results, bare, clients)
            if g and b and b.rps > 0:
                table.add_row(f"[italic]ratio GraphQL / {label}[/italic]", str(clients),
                              f"{g.rps / b.rps:.2f}", f"{g.p50_ms / b.p50_ms:.2f}",
                              f"{g.p99_ms / b.p99_ms:.2f}", "", "", "", "")
    table.caption = ("GraphQL and the bare endpoint answer from the in-memory grid index (kept "
                     "current by LISTEN on data_version); via=sql runs the single PostGIS statement.")
    return table


def bulk_table(api: Timing, baselines: list[Timing], build_s: float) -> Table:
    table = Table(title=f"{api.points:,} points in one go (best/median of {len(api.times_s)})",
                  title_justify="left")
    for col in ("path", "first s", "best s", "median s", "points/s", "API ÷ this"):
        table.add_column(col, justify="left" if col == "path" else "right")
    for t in (api, *baselines):
        table.add_row(t.path, f"{t.cold_s:.3f}", f"{t.best_s:.3f}", f"{t.median_s:.3f}",
                      f"{t.points_per_s:,.0f}", f"{api.median_s / t.median_s:.2f}×")
    table.caption = (f"API ÷ this = API median time / this path's median time. "
                     f"STRtree build (excluded): {build_s:.3f} s.")
    return table


@dataclass
class Target:
    name: str
    value: str
    ok: bool
    required: bool = True


def targets(results: list[LoadResult], api: Timing, rss_mb: float) -> list[Target]:
    g, b, bs = find(results, GRAPHQL, 16), find(results, BARE, 16), find(results, BARE_SQL, 16)
    ratio = g.rps / b.rps if g and b and b.rps > 0 else float("nan")
    ratio_sql = g.rps / bs.rps if g and bs and bs.rps > 0 else float("nan")
    p99 = g.p99_ms if g else float("nan")
    failed = sum(r.failed for r in results)
    return [
        Target("GraphQL req/s ≥ 50 % of the bare SQL endpoint, 16 clients", f"{ratio_sql:.0%}",
               ratio_sql >= 0.5),
        Target("goal: GraphQL req/s ≥ 50 % of bare on the same index, 16 clients", f"{ratio:.0%}",
               ratio >= 0.5, required=False),
        Target("GraphQL p99 < 20 ms, 16 clients", f"{p99:.2f} ms", p99 < 20.0),
        Target(f"{api.points:,} points in one request < 2 s (median)", f"{api.median_s:.3f} s",
               api.median_s < 2.0),
        Target(f"goal: {api.points:,} points < 0.5 s (median)", f"{api.median_s:.3f} s",
               api.median_s < 0.5, required=False),
        Target("server RSS < 600 MB", f"{rss_mb:.0f} MB", rss_mb < 600.0),
        Target("no failed single-point requests", str(failed), failed == 0),
    ]


def targets_table(items: list[Target]) -> Table:
    table = Table(title="Targets", title_justify="left")
    for col in ("target", "measured", "result"):
        table.add_column(col)
    for t in items:
        verdict = ("[green]PASS[/green]" if t.ok else "[red]FAIL[/red]") if t.required else (
            "[green]met[/green]" if t.ok else "[yellow]not met[/yellow]")
        table.add_row(t.name, t.value, verdict)
    table.caption = ("With 16 clients in a closed loop, p99 < 20 ms needs at least 16 / 0.020 s = "
                     "800 req/s (Little's law).")
    return table


# -- main --------------------------------------------------------------------------------------
def _env_pair(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {value!r}")
    return key, val


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.responsible", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=float, default=1.0, help="demo county scale (default 1)")
    p.add_argument("--database", default=BENCH_DB,
                   help=f"database to load and measure (default {BENCH_DB})")
    p.add_argument("--seed", type=int, default=0, help="demo county seed (default 0)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    p.add_argument("--reseed", action="store_true", help="reload the demo county even if present")
    p.add_argument("--seconds", type=float, default=10.0, help="measured seconds per load phase")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per load phase")
    p.add_argument("--clients", type=int, nargs="+", default=[1, 16],
                   help="concurrent clients for the single-point phases (default 1 16)")
    p.add_argument("--points", type=int, default=100_000, help="points in the bulk request")
    p.add_argument("--repeats", type=int, default=5, help="timed runs of each bulk path")
    p.add_argument("--points-seed", type=int, default=2024, help="seed of the sampled points")
    p.add_argument("--lookup-only", action="store_true",
                   help="only the in-process per-point figures (in a grid / in none), no server")
    p.add_argument("--server-env", type=_env_pair, action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for the server, e.g. JURISGRID_POOL_SIZE=16 (repeatable)")
    args = p.parse_args(argv)
    if not (0 < args.seconds <= 600 and 0 <= args.warmup <= 60 and 1 <= args.repeats <= 50
            and 1 <= args.points <= 100_000 and all(1 <= c <= 256 for c in args.clients)):
        p.error("out of range: 0 < seconds ≤ 600, warmup ≤ 60, repeats 1–50, points 1–100000, "
                "clients 1–256")
    return args


def measure(url: str, engine: Engine, args: argparse.Namespace, console: Console) -> int:
    single_pts = sample_points(engine, SINGLE_POINTS, args.points_seed)
    bulk_pts = sample_points(engine, args.points, args.points_seed + 1, outside=0.02)
    with tempfile.TemporaryDirectory(prefix="jurisgrid-bench-") as tmp, \
            running_server(url, Path(tmp), dict(args.server_env), args.workers) as server:
        console.rule(f"single points, {args.warmup:g} s warm-up + {args.seconds:g} s each")
        single = run_single(server, engine, single_pts, args, console)
        console.rule(f"{args.points:,} points in one request")
        api, ans = run_bulk_api(server.port, bulk_pts, args.repeats, console)
        pg, pg_codes = run_postgis(engine, bulk_pts, args.repeats)
        tree, build_s, tree_codes = run_strtree(engine, bulk_pts, args.repeats)
        console.print(f"  grid codes differing from the API: PostGIS "
                      f"{mismatches(ans['gridCodes'], pg_codes)}, STRtree "
                      f"{mismatches(ans['gridCodes'], tree_codes)}")
        rss, peak = process_memory_mb(server.pid)
        log = server.log.read_text(errors="replace").strip()
    if log:  # each distinct line once
        lines = list(dict.fromkeys(ln.rstrip() for ln in log.splitlines()))
        console.print("server log (distinct lines):\n" + "\n".join(lines[-40:]), markup=False)
    console.rule("summary")
    console.print(single_table(single))
    console.print(bulk_table(api, [pg, tree], build_s))
    console.print(run_per_point(engine, args.points, args.points_seed, args.repeats))
    console.print(kv_table("Server memory (uvicorn process, after all runs)",
                           [("RSS", f"{rss:.0f} MB"), ("peak (VmHWM)", f"{peak:.0f} MB")]))
    items = targets(single, api, rss)
    console.print(targets_table(items))
    return 0 if all(t.ok for t in items if t.required) else 1


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through running_server, which stops the server


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    global BENCH_DB
    BENCH_DB = args.database
    # a report, not a terminal UI: keep the tables unwrapped when piped to a file
    console = Console(width=None if sys.stdout.isatty() else 130)
    for sig in (signal.SIGINT, signal.SIGTERM):  # also when started in the background
        signal.signal(sig, _interrupt)
    url = bench_database_url()
    engine = make_engine(url, pool_size=2, statement_timeout_ms=0)
    try:
        prepare_database(engine, args.scale, args.seed, args.reseed, console)
        console.print(kv_table("Machine", machine_info(engine, argv)))
        if args.lookup_only:
            console.print(run_per_point(engine, args.points, args.points_seed, args.repeats))
            return 0
        return measure(url, engine, args, console)
    except BenchError as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow] (the server has been stopped)")
        return 130
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
