"""Growth bench (issue 17): a synthetic province of N counties, with 0, 1 and 2 read replicas.

    .venv/bin/python -m bench.province [--counties 1,5,20] [--scale 0.02] [--seconds 5]
                                       [--clients 8] [--workers 2] [--points 100000]
                                       [--rounds 1] [--pin-databases]

For each N, in a throwaway cluster of its own (a temporary folder, its own port; removed
afterwards): the province is generated and loaded (**seed time**: generation + load), two
streaming replicas are made (``jurisgrid db replica add``'s code), and the real server
(``jurisgrid serve``) is started three times — with no replica, one and two
(``JURISGRID_REPLICA_URLS``) — to measure GraphQL ``responsibleFor`` **throughput and p99**
(``--clients`` keep-alive clients for ``--seconds``) and **tile throughput** (grids, zones and
addresses tiles at zooms 10–15 over the province). Tiles are made by PostGIS (``ST_AsMVT``) on
the database the request is routed to, so they are the read a replica can take over, where
``responsibleFor`` is answered from each server's memory. Without replicas it also measures:
one **100,000-point** ``responsibleForMany`` (median of 3, after a cold one), the **all-zone
sizing** latency (``sizingReport``, median of 3), the server's **RSS** (summed over its workers)
and the **database size**. Before the server, **one point in process**: the median time of the
lookup index's single-point answer for points in a grid and points in none (the nearest-grid
search), without a server's noise — the figure that must not grow with the province.

``--rounds R`` measures each replica count R times, alternating the order, and gives the median
req/s with its range: single runs on a small shared machine swing by half.
``--pin-databases`` gives each PostgreSQL instance one core of its own (``sched_setaffinity`` on
its processes: the primary on core 0, replica *i* on core *i* mod the cores), as if each database
ran on a one-core machine of its own; the server and the load client are not pinned. Without it
every instance may use every core, and on a small machine a replica only takes CPU from the
primary and the server. A sample of tile requests after each phase checks which database answered
(``X-Jurisgrid-Served-By``).

The province: N county-level units made by the seed's own many-county generator
(jurisgrid/seed/generate.generate_counties): 1 is 渠县 alone; up to 7 the units of 达州; past 7,
copies of 达州's units moved 2.5° north per copy (codes 51<80+k>xx, names with a suffix) —
every block generated together, so its counties tile their union. Everything runs on one
machine: the replicas share its cores with the primary and the server, so on a small machine
a replica cannot add throughput, only show that routing to it costs none.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import orjson
import shapely
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text

from bench.responsible import (
    GQL_ONE,
    HOST,
    LoadResult,
    check_graphql,
    http_post,
    load_phase,
    process_memory_mb,
    process_tree,
    run_async,
    run_bulk_api,
    running_server,
    sample_points,
)
from bench.tiles import Tile, check_tile, http_requests, tile_set
from jurisgrid.db import dispose, make_engine
from jurisgrid.localdb import LocalCluster, ReplicaCluster
from jurisgrid.seed.reference import CountyRef, TownshipRef

SIZING = "{ sizingReport { zones { zone workload zoneClass recommendedOfficers } } }"
BLOCK = 7            # 达州's county-level units
SHIFT_DEG = 2.5      # each copy of the prefecture this far north


def _renamed(ref: CountyRef, copy: int) -> CountyRef:
    """``ref`` moved ``copy`` × SHIFT_DEG north, with codes under county 51<80+copy><xx>."""
    code = f"51{80 + copy:02d}{ref.code[4:]}"

    def recode(c: str) -> str:
        return code + c[6:]

    towns = [TownshipRef(recode(t.code), t.name, t.kind) for t in ref.towns]
    comms = [replace(c, code=recode(c.code), township_code=recode(c.township_code))
             for c in ref.comms]
    seat = None if ref.seat is None else (ref.seat[0], ref.seat[1] + copy * SHIFT_DEG)
    outline = shapely.affinity.translate(ref.raw_outline, yoff=copy * SHIFT_DEG)
    return CountyRef(code, f"{ref.name}{copy}", outline, towns, comms, seat, (int(code),))


def province(n: int) -> list[list[CountyRef]]:
    """The county references of an ``n``-county province, in blocks generated together."""
    from jurisgrid.seed.reference import prefecture_counties, qu_county

    if n < 1:
        raise SystemExit("--counties: at least 1")
    if n == 1:
        return [[qu_county()]]
    base = prefecture_counties("5117")
    blocks: list[list[CountyRef]] = []
    for i in range(n):
        copy, k = divmod(i, BLOCK)
        if k == 0:
            blocks.append([])
        blocks[-1].append(base[k] if copy == 0 else _renamed(base[k], copy))
    return blocks


def seed_province(engine: Engine, n: int, scale: float, seed: int) -> tuple[float, float, dict[str, int]]:
    """Generate and load; (generation s, load s, counts)."""
    from jurisgrid.seed.generate import generate_counties
    from jurisgrid.seed.load import load_counties

    t0 = time.perf_counter()
    demos = []
    first_person = 1
    for block in province(n):
        made = generate_counties(block, scale=scale, seed=seed, first_person=first_person)
        first_person += sum(len(d.persons) for d in made)
        demos += made
    t1 = time.perf_counter()
    counts = load_counties(engine, demos)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return t1 - t0, time.perf_counter() - t1, counts


@contextmanager
def own_cluster() -> Iterator[LocalCluster]:
    home = Path(tempfile.mkdtemp(prefix="jg_province_", dir="/tmp"))
    os.chmod(home, 0o755)
    cluster = LocalCluster(home / ".jurisgrid")
    try:
        cluster.start()
        cluster.ensure_database("jurisgrid")
        yield cluster
    finally:
        for r in sorted(cluster.home.glob("replica-*")):
            ReplicaCluster(r).stop()
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)


@dataclass
class Row:
    counties: int
    grids: int = 0
    points: int = 0
    incidents: int = 0
    gen_s: float = 0.0
    load_s: float = 0.0
    db_mb: float = 0.0
    # replicas -> one result per round
    single: dict[int, list[LoadResult]] = field(default_factory=dict)
    tiles: dict[int, list[LoadResult]] = field(default_factory=dict)
    served: dict[int, str] = field(default_factory=dict)          # replicas -> who answered tiles
    bulk_s: float = float("nan")
    # in process, one point at a time (GridIndex.resolve_one, the single-point path): median µs
    # of points in a grid and of points in none (the nearest-grid search)
    one_in_us: float = float("nan")
    one_out_us: float = float("nan")
    sizing_ms: float = float("nan")
    rss_mb: float = float("nan")


def _phase(port: int, reqs: list[bytes], check: object, clients: int, seconds: float,
           label: str) -> LoadResult:
    ph = run_async(load_phase(port, reqs, check, clients, warmup=1.0, seconds=seconds))  # type: ignore[arg-type]
    res = LoadResult.of(label, clients, ph)
    if res.failed:
        raise SystemExit(f"{label}: {res.failed} failed requests, first: {res.first_failure}")
    return res


def _sizing_ms(port: int) -> float:
    import urllib.request

    body = orjson.dumps({"query": SIZING})
    times = []
    for _ in range(4):
        req = urllib.request.Request(f"http://{HOST}:{port}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=300) as r:
            doc = orjson.loads(r.read())
        times.append(time.perf_counter() - t0)
        if doc.get("errors") or not doc["data"]["sizingReport"]["zones"]:
            raise SystemExit(f"sizingReport failed: {str(doc)[:300]}")
    return statistics.median(times[1:]) * 1000


def pin(cluster: LocalCluster, cpu: int) -> None:
    """Every process of ``cluster``'s server on core ``cpu`` (sessions forked later inherit it
    from the postmaster)."""
    postmaster = int((cluster.pgdata / "postmaster.pid").read_text().split()[0])
    for pid in process_tree(postmaster):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(pid, {cpu})


def one_point_us(engine: Engine, seed: int, n: int = 400, repeats: int = 3) -> tuple[float, float]:
    """Median µs of ``GridIndex.resolve_one`` — what a single-point lookup does in the server's
    memory — for ``n`` points in a grid and ``n`` in none, drawn over the province's box widened
    by 0.2°: whether a lookup, and the nearest-grid search of a point in no grid, grow with the
    province without the noise of a server under load."""
    from jurisgrid.geo.lookup import GridIndex

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, ST_AsBinary(geom) FROM grid ORDER BY id")).all()
    geoms = shapely.from_wkb([bytes(r[1]) for r in rows])
    index = GridIndex([r[0] for r in rows], geoms)
    x0, y0, x1, y1 = (float(v) for v in shapely.total_bounds(geoms))
    rng = np.random.default_rng(seed)
    inside: list[tuple[float, float]] = []
    outside: list[tuple[float, float]] = []
    while len(inside) < n or len(outside) < n:
        lon, lat = float(rng.uniform(x0 - 0.2, x1 + 0.2)), float(rng.uniform(y0 - 0.2, y1 + 0.2))
        (inside if index.resolve_one(lon, lat)[0] >= 0 else outside).append((lon, lat))

    def median_us(pts: list[tuple[float, float]]) -> float:
        times = []
        for _ in range(repeats):
            for lon, lat in pts[:n]:
                t0 = time.perf_counter()
                index.resolve_one(lon, lat)
                times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1e6

    return median_us(inside), median_us(outside)


def served_by(port: int, tiles: list[Tile], k: int = 12) -> str:
    """Which databases answered a sample of ``k`` tile requests (``X-Jurisgrid-Served-By``)."""
    import urllib.request

    seen: Counter[str] = Counter()
    for name, z, x, y in tiles[:k]:
        with urllib.request.urlopen(f"http://{HOST}:{port}/tiles/{name}/{z}/{x}/{y}.mvt",
                                    timeout=60) as r:
            # the header is set only where replicas are configured: without, the primary answers
            seen[r.headers.get("X-Jurisgrid-Served-By", "primary")] += 1
    return ", ".join(f"{who} {n}" for who, n in sorted(seen.items()))


def _serve_and_load(row: Row, k: int, first: bool, url: str, replicas: list[ReplicaCluster],
                    pts: np.ndarray, tiles: list[Tile], logdir: Path, args: argparse.Namespace,
                    console: Console) -> None:
    """One server reading from ``k`` replicas: responsibleFor and tile phases (appended to
    ``row``); with no replica in the first round also the bulk lookup, sizing and RSS."""
    env = {"JURISGRID_REPLICA_URLS": ",".join(r.url("jurisgrid") for r in replicas[:k]),
           "JURISGRID_POOL_SIZE": "8"}
    with running_server(url, logdir, env, workers=args.workers) as server:
        reqs = [http_post(server.port, "/graphql",
                          orjson.dumps({"query": GQL_ONE, "variables": {"lon": x, "lat": y}}))
                for x, y in pts[:2000].tolist()]
        # both workers build their lookup index (one per database they read) first
        _phase(server.port, reqs, check_graphql, args.clients, args.warmup, "warm-up")
        res = _phase(server.port, reqs, check_graphql, args.clients, args.seconds,
                     f"responsibleFor, {k} replicas")
        row.single.setdefault(k, []).append(res)
        treqs = http_requests(server.port, tiles, "wgs84", None)
        # the first zones tile computes and stores the zone sizing (1.5 s at 20 counties):
        # warm up, as for the lookups, before measuring
        _phase(server.port, treqs, check_tile, args.clients, args.warmup, "warm-up")
        tres = _phase(server.port, treqs, check_tile, args.clients, args.seconds,
                      f"tiles, {k} replicas")
        row.tiles.setdefault(k, []).append(tres)
        row.served[k] = served_by(server.port, tiles)
        console.print(f"  {k} replica(s): responsibleFor {res.rps:,.0f}/s, "
                      f"p50 {res.p50_ms:.1f} ms, p99 {res.p99_ms:.1f} ms; tiles "
                      f"{tres.rps:,.0f}/s, p99 {tres.p99_ms:.0f} ms (served by {row.served[k]})")
        if k == 0 and first:
            bulk, _ = run_bulk_api(server.port, pts[:args.points], 3, console)
            row.bulk_s = bulk.median_s
            row.sizing_ms = _sizing_ms(server.port)
            row.rss_mb = process_memory_mb(server.pid)[0]
            console.print(f"  100k bulk {row.bulk_s:.2f} s; sizing {row.sizing_ms:.0f} ms; "
                          f"RSS {row.rss_mb:.0f} MB ({args.workers} workers)")


def _cell(results: list[LoadResult], sep: str) -> str:
    """req/s median (range over the rounds), then the median p99 in ms."""
    rps = [r.rps for r in results]
    spread = f" ({min(rps):,.0f}–{max(rps):,.0f})" if len(rps) > 1 else ""
    return f"{statistics.median(rps):,.0f}{spread}{sep}{statistics.median(r.p99_ms for r in results):.0f}"


def measure(n: int, args: argparse.Namespace, console: Console) -> Row:
    from jurisgrid.models.migrate import upgrade

    row = Row(n)
    with own_cluster() as cluster:
        url = cluster.url("jurisgrid")
        engine = make_engine(url, pool_size=2)
        try:
            upgrade(engine)
            row.gen_s, row.load_s, _ = seed_province(engine, n, args.scale, args.seed)
            with engine.connect() as c:
                row.grids, row.points, row.incidents, size = c.execute(text(
                    "SELECT (SELECT count(*) FROM grid), (SELECT count(*) FROM address_point), "
                    "(SELECT count(*) FROM incident), pg_database_size(current_database())")).one()
            row.db_mb = size / 1e6
            row.one_in_us, row.one_out_us = one_point_us(engine, args.seed)
            console.print(f"[bold]{n} counties[/bold]: {row.grids:,} grids, {row.points:,} address "
                          f"points, {row.incidents:,} incidents; generated in {row.gen_s:.1f} s, "
                          f"loaded in {row.load_s:.1f} s; database {row.db_mb:.0f} MB; in process "
                          f"a point in a grid {row.one_in_us:.0f} µs, in none {row.one_out_us:.0f} µs")
            replicas = [ReplicaCluster.make(cluster) for _ in range(max(args.replicas))]
            if args.pin_databases:
                cores = os.cpu_count() or 1
                for i, db in enumerate([cluster, *replicas]):
                    pin(db, i % cores)
            pts = sample_points(engine, max(args.points, 2000), args.seed)
            tiles = tile_set(engine, per_zoom=args.tiles_per_zoom, seed=args.seed)
        finally:
            dispose(engine)
        logdir = Path(tempfile.mkdtemp(prefix="jg_province_log_"))
        # rounds alternate the order of the replica counts, so a drift of the machine's speed
        # during the run does not favour one of them
        for rnd in range(args.rounds):
            for k in (args.replicas if rnd % 2 == 0 else args.replicas[::-1]):
                _serve_and_load(row, k, rnd == 0, url, replicas, pts, tiles, logdir, args, console)
        shutil.rmtree(logdir, ignore_errors=True)
    return row


def table(rows: list[Row], args: argparse.Namespace) -> Table:
    pinned = ", one core per database" if args.pin_databases else ""
    rounds = f", {args.rounds} rounds" if args.rounds > 1 else ""
    t = Table(title=f"province growth — scale {args.scale}, {os.cpu_count()} cores{pinned}{rounds}, "
                    f"{args.workers} server workers, {args.clients} clients, {args.seconds:g} s phases")
    t.add_column("counties", justify="right")
    t.add_column("grids / points / incidents", justify="right")
    t.add_column("seed s (gen+load)", justify="right")
    t.add_column("one point µs: in a grid / in none", justify="right")
    for k in args.replicas:
        t.add_column(f"responsibleFor/s · p99 ms, {k} repl.", justify="right")
    t.add_column(f"{args.points // 1000}k bulk s", justify="right")
    for k in args.replicas:
        t.add_column(f"tiles/s · p99 ms, {k} repl.", justify="right")
    t.add_column("sizing ms", justify="right")
    t.add_column("RSS MB", justify="right")
    t.add_column("DB MB", justify="right")
    for r in rows:
        t.add_row(str(r.counties), f"{r.grids:,} / {r.points:,} / {r.incidents:,}",
                  f"{r.gen_s + r.load_s:.0f} ({r.gen_s:.0f}+{r.load_s:.0f})",
                  f"{r.one_in_us:.0f} / {r.one_out_us:.0f}",
                  *(_cell(r.single[k], " · ") for k in args.replicas),
                  f"{r.bulk_s:.2f}",
                  *(_cell(r.tiles[k], " · ") for k in args.replicas),
                  f"{r.sizing_ms:,.0f}", f"{r.rss_mb:,.0f}", f"{r.db_mb:,.0f}")
    return t


def markdown(rows: list[Row], args: argparse.Namespace) -> str:
    """The table as Markdown (for the README), one line per province size."""
    head = (["counties", "grids / points / incidents", "seed s (gen + load)",
             "one point in process µs: in a grid / in none"]
            + [f"responsibleFor/s, p99 ms — {k} replicas" for k in args.replicas]
            + [f"{args.points // 1000}k bulk s"]
            + [f"tiles/s, p99 ms — {k} replicas" for k in args.replicas]
            + ["all-zone sizing ms", "RSS MB", "DB MB"])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        cells = ([str(r.counties), f"{r.grids:,} / {r.points:,} / {r.incidents:,}",
                  f"{r.gen_s + r.load_s:.0f} ({r.gen_s:.0f} + {r.load_s:.0f})",
                  f"{r.one_in_us:.0f} / {r.one_out_us:.0f}"]
                 + [_cell(r.single[k], ", ") for k in args.replicas]
                 + [f"{r.bulk_s:.2f}"]
                 + [_cell(r.tiles[k], ", ") for k in args.replicas]
                 + [f"{r.sizing_ms:,.0f}", f"{r.rss_mb:,.0f}", f"{r.db_mb:,.0f}"])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.province", description=__doc__.split("\n\n")[0])
    p.add_argument("--counties", default="1,5,20", help="comma-separated province sizes")
    p.add_argument("--scale", type=float, default=0.02, help="demo scale of every county")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seconds", type=float, default=5.0, help="each measured load phase")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds of requests before measuring")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--workers", type=int, default=2, help="server worker processes")
    p.add_argument("--points", type=int, default=100_000, help="points of the bulk lookup")
    p.add_argument("--replicas", default="0,1,2", help="replica counts to measure")
    p.add_argument("--rounds", type=int, default=1,
                   help="measure each replica count this many times, in alternating order; "
                        "the table gives the median req/s (range) and the median p99")
    p.add_argument("--tiles-per-zoom", type=int, default=20)
    p.add_argument("--pin-databases", action="store_true",
                   help="one core per PostgreSQL instance (primary on core 0, replica i on core i)")
    args = p.parse_args(argv)
    args.counties = [int(x) for x in args.counties.split(",")]
    args.replicas = [int(x) for x in args.replicas.split(",")]
    if 0 not in args.replicas:
        args.replicas = [0, *args.replicas]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    console = Console(width=200)
    console.print(f"bench.province: {' '.join(sys.argv[1:]) or '(defaults)'}; {os.cpu_count()} cores")
    rows = []
    for n in args.counties:
        rows.append(measure(n, args, console))
        console.print(table(rows, args))
    console.print(markdown(rows, args), markup=False, highlight=False, soft_wrap=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
