"""Benchmark jurisgrid against PostGraphile 4 (+ @graphile/postgis and connection-filter-postgis)
on the same database and machine, answers compared first (issue 15, "Done when").

    .venv/bin/python -m bench.postgraphile [--seconds 8] [--runs 3] [--clients 1 16]

The peer is installed under bench/postgraphile/ (``npm ci`` there; bench-only, not part of the
product) and started with ``node`` on the bench database ``jurisgrid_bench`` (bench.responsible
loads it). Three workloads, each at 1 and 16 closed-loop clients over keep-alive HTTP (the load
client of bench.responsible):

* **bbox list**: the grids in a box (~60 at scale 1) with their zone's code and GeoJSON —
  ``grids(bbox:) { nodes { code zone { code } geometry } }`` against
  ``allGrids(filter: {geom: {intersects: <the box>}}) { nodes { code zoneByZoneId { code }
  geom { geojson } } }``, 200 boxes placed at random;
* **single point**: address points jittered by ~10 m — ``responsibleFor { grid zone station }``
  against the boundary rule as a filter: ``allGrids(filter: {geom: {intersects: <point>}},
  orderBy: CODE_ASC, first: 1) { … zoneByZoneId { … stationByStationId { code } } }``;
* **100,000 points** uniform over the county's bounding box in one request —
  ``responsibleForMany { gridCodes }`` against a SQL function applying the same boundary rule
  to all points in one statement (``peer.grid_codes_at``, made in the schema ``peer`` of the
  bench database and exposed by PostGraphile as ``gridCodesAt``); the peer does no nearest
  search for the points outside, jurisgrid does.

Before timing, every request of each workload is sent to both servers and the answers must
agree (codes; GeoJSON coordinates to 1e-9°, PostGraphile's default precision). Printed per
run: req/s, p50 and p99 for both, and the ratio jurisgrid/peer of req/s; with ``--runs`` > 1,
the spread (min–max) of each ratio over the runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from bench import responsible as bench_responsible
from bench.responsible import (
    HOST,
    BenchError,
    LoadResult,
    Server,
    _free_port,
    bench_database_url,
    check_graphql,
    http_post,
    prepare_database,
    run_async,
    run_phase,
    running_server,
    sample_points,
    stop_process,
)
from jurisgrid.db import make_engine

PEER_DIR = Path(__file__).resolve().parent / "postgraphile"
PLUGINS = ("@graphile/postgis,postgraphile-plugin-connection-filter,"
           "postgraphile-plugin-connection-filter-postgis")
# 16 clients each sending 100,000 points queue behind each other on one worker: a request's
# time budget (30 s by default) would cut them, and so would the load client's slack
SERVER_ENV = {"JURISGRID_REQUEST_TIMEOUT_S": "600"}
BOXES = 200
TARGET_GRIDS = 60
POINTS = 100_000

JG_BBOX = ("query($b: [Float!]) { grids(bbox: $b, first: 1000) { nodes { code zone { code } "
           "geometry } } }")
PEER_BBOX = ("query($g: GeoJSON!) { allGrids(filter: {geom: {intersects: $g}}, orderBy: CODE_ASC)"
             " { nodes { code zoneByZoneId { code } geom { geojson } } } }")
JG_POINT = ("query($lon: Float!, $lat: Float!) { responsibleFor(lon: $lon, lat: $lat) { "
            "grid { code } zone { code } station { code } } }")
PEER_POINT = ("query($g: GeoJSON!) { allGrids(filter: {geom: {intersects: $g}}, "
              "orderBy: CODE_ASC, first: 1) { nodes { code zoneByZoneId { code "
              "stationByStationId { code } } } } }")
JG_MANY = "query($p: Coordinates!) { responsibleForMany(points: $p) { gridCodes } }"
# one JSON argument: PostGraphile binds each element of a list argument as its own placeholder
# (at most 65,535), and JSON is text to it unless --dynamic-json
PEER_MANY = "query($p: JSON!) { gridCodesAt(points: $p) }"
# the boundary rule of jg_grid_at (README): the grids within 1e-7° of the point, the smallest code
PEER_SQL = """
CREATE SCHEMA IF NOT EXISTS peer;
DROP FUNCTION IF EXISTS peer.grid_codes_at(float8[], float8[]);
CREATE OR REPLACE FUNCTION peer.grid_codes_at(points json) RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT array_agg(g.code ORDER BY p.i)
  FROM json_array_elements(points) WITH ORDINALITY AS p(v, i)
  LEFT JOIN LATERAL (SELECT code FROM public.grid
                     WHERE ST_DWithin(geom, ST_SetSRID(ST_MakePoint((p.v->>0)::float8,
                                                                    (p.v->>1)::float8), 4326), 1e-7)
                     ORDER BY code LIMIT 1) g ON true
$$;
"""


# -- the peer ----------------------------------------------------------------------------------
def node_url(url: str) -> str:
    """The bench database's URL as node-postgres reads it (a Unix socket as ``?host=``)."""
    u = make_url(url)
    host = u.query.get("host") or u.host or "localhost"
    port = u.query.get("port") or u.port or 5432
    auth = quote(u.username or "postgres") + (f":{quote(u.password)}" if u.password else "")
    if str(host).startswith("/"):
        return f"postgres://{auth}@localhost:{port}/{u.database}?host={quote(str(host))}"
    return f"postgres://{auth}@{host}:{port}/{u.database}"


def _wait_graphql(port: int, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 90) -> None:
    body = orjson.dumps({"query": "{ __typename }"})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"PostGraphile exited ({proc.returncode}):\n" + log.read_text()[-3000:])
        try:
            req = urllib.request.Request(f"http://{HOST}:{port}/graphql", data=body,
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("PostGraphile did not answer in time:\n" + log.read_text()[-3000:])


@contextmanager
def running_peer(url: str, logdir: Path) -> Iterator[Server]:
    """PostGraphile 4 (production mode: no GraphiQL, no query log, no watch) on a free port."""
    cli = PEER_DIR / "node_modules" / "postgraphile" / "cli.js"
    if not cli.exists():
        raise SystemExit(f"PostGraphile is not installed: run `npm ci` in {PEER_DIR}")
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is not installed")
    port = _free_port()
    log = logdir / "postgraphile.log"
    cmd = [node, str(cli), "--connection", node_url(url), "--schema", "public,peer",
           "--host", HOST, "--port", str(port), "--append-plugins", PLUGINS,
           "--disable-query-log", "--disable-default-mutations", "--body-size-limit", "20MB",
           "--max-pool-size", "10"]
    env = {**os.environ, "NODE_ENV": "production"}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=PEER_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        _wait_graphql(port, proc, log)
        yield Server(proc, port, log)
    finally:
        stop_process(proc)


# -- workloads ---------------------------------------------------------------------------------
@dataclass
class Workload:
    name: str
    jg: list[bytes]          # request bodies
    peer: list[bytes]
    same: Callable[[Any, Any], str | None]   # (jurisgrid data, peer data) -> what differs
    bulk: bool = False       # seconds per request: phases of --bulk-seconds, no warm-up


def _boxes(engine: Engine, seed: int) -> list[list[float]]:
    """Boxes holding about TARGET_GRIDS grids: the side from the grids' mean area, centres at
    random in the middle of their extent."""
    with engine.connect() as conn:
        x0, y0, x1, y1, n = conn.execute(text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), c FROM (SELECT "
            "ST_Extent(geom) AS e, count(*) AS c FROM grid) s")).one()
        area = conn.execute(text("SELECT sum(ST_Area(geom)) FROM grid")).scalar_one()
    side = float(np.sqrt(TARGET_GRIDS * area / n)) * 0.8
    rng = np.random.default_rng(seed)
    cx = rng.uniform(x0 + (x1 - x0) * 0.2, x1 - (x1 - x0) * 0.2, BOXES)
    cy = rng.uniform(y0 + (y1 - y0) * 0.2, y1 - (y1 - y0) * 0.2, BOXES)
    return [[float(x - side / 2), float(y - side / 2), float(x + side / 2), float(y + side / 2)]
            for x, y in zip(cx, cy, strict=True)]


def _polygon(b: list[float]) -> dict[str, Any]:
    x0, y0, x1, y1 = b
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _close(a: Any, b: Any, tol: float = 1e-9) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) <= tol
    return bool(a == b)


def same_bbox(jg: Any, peer: Any) -> str | None:
    a, b = jg["grids"]["nodes"], peer["allGrids"]["nodes"]
    if [n["code"] for n in a] != [n["code"] for n in b]:
        return f"codes differ: {len(a)} vs {len(b)} grids"
    for x, y in zip(a, b, strict=True):
        if x["zone"]["code"] != y["zoneByZoneId"]["code"]:
            return f"{x['code']}: zone {x['zone']['code']} vs {y['zoneByZoneId']['code']}"
        g, h = x["geometry"], y["geom"]["geojson"]
        h = orjson.loads(h) if isinstance(h, str) else h   # JSON as text unless --dynamic-json
        if g["type"] != h["type"] or not _close(g["coordinates"], h["coordinates"]):
            return f"{x['code']}: geometry differs"
    return None


def same_point(jg: Any, peer: Any) -> str | None:
    r = jg["responsibleFor"]
    nodes = peer["allGrids"]["nodes"]
    a = (r["grid"]["code"], r["zone"]["code"], r["station"]["code"]) if r["grid"] else None
    b = ((nodes[0]["code"], nodes[0]["zoneByZoneId"]["code"],
          nodes[0]["zoneByZoneId"]["stationByStationId"]["code"]) if nodes else None)
    return None if a == b else f"{a} vs {b}"


def same_many(jg: Any, peer: Any) -> str | None:
    a, b = jg["responsibleForMany"]["gridCodes"], peer["gridCodesAt"]
    bad = sum(x != y for x, y in zip(a, b, strict=True)) + abs(len(a) - len(b))
    return None if bad == 0 else f"{bad} points differ"


def workloads(engine: Engine, seed: int, n_points: int) -> list[Workload]:
    boxes = _boxes(engine, seed)
    pts = sample_points(engine, 2_000, seed)
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom) AS e FROM county) c")).one()
    x0, y0, x1, y1 = (float(v) for v in (x0, y0, x1, y1))
    rng = np.random.default_rng(seed)
    many = np.column_stack([rng.uniform(x0, x1, n_points), rng.uniform(y0, y1, n_points)])
    d = orjson.dumps
    return [
        Workload("bbox list with geometry",
                 [d({"query": JG_BBOX, "variables": {"b": b}}) for b in boxes],
                 [d({"query": PEER_BBOX, "variables": {"g": _polygon(b)}}) for b in boxes],
                 same_bbox),
        Workload("single point",
                 [d({"query": JG_POINT, "variables": {"lon": x, "lat": y}}) for x, y in pts.tolist()],
                 [d({"query": PEER_POINT, "variables": {"g": {"type": "Point", "coordinates": [x, y]}}})
                  for x, y in pts.tolist()],
                 same_point),
        Workload(f"{n_points:,} points over the county's box",
                 [d({"query": JG_MANY, "variables": {"p": many.tolist()}})],
                 [d({"query": PEER_MANY, "variables": {"p": d(many.tolist()).decode()}})],
                 same_many, bulk=True),
    ]


def _post(port: int, body: bytes) -> Any:
    req = urllib.request.Request(f"http://{HOST}:{port}/graphql", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=300) as r:
        doc = orjson.loads(r.read())
    if doc.get("errors"):
        raise BenchError(f"errors: {str(doc['errors'])[:500]}")
    return doc["data"]


def compare(w: Workload, jg_port: int, peer_port: int, limit: int) -> int:
    """Send (up to ``limit`` of) the workload's requests to both; raise on the first difference."""
    n = 0
    for a, b in list(zip(w.jg, w.peer, strict=True))[:limit]:
        diff = w.same(_post(jg_port, a), _post(peer_port, b))
        if diff is not None:
            raise BenchError(f"{w.name}: answers differ: {diff}\n  jurisgrid: {a[:300]!r}")
        n += 1
    return n


# -- running -----------------------------------------------------------------------------------
@dataclass
class Pair:
    workload: str
    clients: int
    jg: LoadResult
    peer: LoadResult

    @property
    def ratio(self) -> float:
        return self.jg.rps / self.peer.rps if self.peer.rps else float("nan")


def measure(jg: Server, peer: Server, engine: Engine, ws: list[Workload], args: argparse.Namespace,
            console: Console) -> list[Pair]:
    out = []
    for w in ws:
        for clients in args.clients:
            res = []
            phase_args = (argparse.Namespace(**{**vars(args), "warmup": 0.0,
                                                "seconds": args.bulk_seconds})
                          if w.bulk else args)
            for server, bodies in ((jg, w.jg), (peer, w.peer)):
                reqs = [http_post(server.port, "/graphql", b) for b in bodies]
                r = run_phase(server, engine, w.name, reqs, check_graphql, clients, phase_args)
                if r.failed:
                    raise BenchError(f"{w.name}: {r.failed} failed: {r.first_failure}")
                res.append(r)
            p = Pair(w.name, clients, res[0], res[1])
            out.append(p)
            console.print(f"  {w.name:<36} {clients:>2} clients: jurisgrid {p.jg.rps:8.1f} req/s "
                          f"p50 {p.jg.p50_ms:7.1f} p99 {p.jg.p99_ms:7.1f} ms | PostGraphile "
                          f"{p.peer.rps:8.1f} req/s p50 {p.peer.p50_ms:7.1f} p99 "
                          f"{p.peer.p99_ms:7.1f} ms | ratio {p.ratio:5.2f}")
    return out


def table(runs: list[list[Pair]]) -> Table:
    t = Table(title="jurisgrid vs PostGraphile 4 (req/s ratio: goal ≥ 1.0, better ≥ 1.5)")
    for col in ("workload", "clients", "jurisgrid req/s", "p50/p99 ms", "PostGraphile req/s",
                "p50/p99 ms", "ratio (median)", "ratio spread"):
        t.add_column(col, justify="left" if col == "workload" else "right")
    for i, p in enumerate(runs[-1]):
        ratios = [r[i].ratio for r in runs]
        jg = statistics.median(r[i].jg.rps for r in runs)
        peer = statistics.median(r[i].peer.rps for r in runs)
        t.add_row(p.workload, str(p.clients), f"{jg:,.1f}",
                  f"{statistics.median(r[i].jg.p50_ms for r in runs):.1f}/"
                  f"{statistics.median(r[i].jg.p99_ms for r in runs):.1f}",
                  f"{peer:,.1f}",
                  f"{statistics.median(r[i].peer.p50_ms for r in runs):.1f}/"
                  f"{statistics.median(r[i].peer.p99_ms for r in runs):.1f}",
                  f"{statistics.median(ratios):.2f}", f"{min(ratios):.2f}–{max(ratios):.2f}")
    return t


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.postgraphile", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0, help="as bench.responsible (default 0)")
    ap.add_argument("--reseed", action="store_true")
    ap.add_argument("--seconds", type=float, default=8.0, help="measured seconds per phase")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--bulk-seconds", type=float, default=20.0,
                    help="measured seconds per phase of the 100,000-point requests")
    ap.add_argument("--runs", type=int, default=1, help="repeat the measurements; spread printed")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--points", type=int, default=POINTS)
    ap.add_argument("--workers", type=int, default=1,
                    help="jurisgrid serve --workers (default 1; PostGraphile's SQL uses every "
                         "core through PostgreSQL, one Python worker one core)")
    ap.add_argument("--compare", type=int, default=200, help="requests compared per workload")
    ap.add_argument("--only", nargs="*", default=None,
                    help="workloads to run (substrings of their names)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench_responsible.REQUEST_TIMEOUT_S = 600.0
    console = Console(width=max(160, Console().width))
    url = bench_database_url()
    engine = make_engine(url)
    try:
        prepare_database(engine, args.scale, args.seed, args.reseed, console)
        with engine.begin() as conn:
            conn.exec_driver_sql(PEER_SQL)
        ws = workloads(engine, args.seed, args.points)
        if args.only:
            ws = [w for w in ws if any(s in w.name for s in args.only)]
        with tempfile.TemporaryDirectory(prefix="jg-bench-pg-") as tmp, \
                running_server(url, Path(tmp), SERVER_ENV, args.workers) as jg, \
                running_peer(url, Path(tmp)) as peer:
            console.print(f"jurisgrid on :{jg.port} ({args.workers} worker(s)), PostGraphile 4 "
                          f"on :{peer.port} (one node process; its SQL runs in PostgreSQL's "
                          "backends, on every core)")
            for w in ws:
                n = compare(w, jg.port, peer.port, args.compare)
                console.print(f"  answers agree: {w.name} ({n} requests compared)")
            runs = []
            for i in range(args.runs):
                console.print(f"run {i + 1} of {args.runs}")
                runs.append(measure(jg, peer, engine, ws, args, console))
            console.print(table(runs))
    except BenchError as exc:
        console.print(f"[red]{exc}[/red]")
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["main", "node_url", "run_async"]
