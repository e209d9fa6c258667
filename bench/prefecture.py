"""Does "who is responsible here" slow down with more counties? (issue 11)

    .venv/bin/python -m bench.prefecture [--scale 1] [--repeats 5] [--seconds 8] [--clients 16]
                                         [--reseed]

Two databases on the project-local cluster, kept between runs (reseeded when the scale or seed
changes, or with ``--reseed``): ``jurisgrid_bench_county`` holds 渠县 alone (``seed demo``), and
``jurisgrid_bench_prefecture`` the seven county-level units of 达州 (``seed demo --prefecture
5117``, 渠县 among them), both at ``--scale``. One server (``jurisgrid serve``, one worker) runs
on each. In each of ``--repeats`` rounds, the two are measured one after the other (alternating
which goes first, so that drift of a shared, noisy machine falls on both): GraphQL
``responsibleFor`` at ``--clients`` keep-alive clients for ``--seconds`` (after a warm-up), on
points near address points of that database (jittered by ~10 m, 2 % over its box).

Printed: each round's throughput and p99 for both, the medians, the spread (min–max) and the
ratio prefecture / single county of the median throughput and p99. Goal: within 10 % (the
lookup must not slow down with 7× the grids).

Over HTTP on a busy shared machine the rounds scatter widely, so the same run also times the
lookup itself in this process, where little but the CPU can interfere: the server's in-memory
answer (``grid_index_cache`` snapshot, ``answer(lon, lat)``: the STRtree probe, the boundary
rule and the units and officers named; this process's CPU time, which other processes on the
machine do not inflate) and the single-point PostGIS statement
(``models/responsible.responsible_for``; wall time), per point at address points, in
alternating rounds; the ratio of the medians and of the best rounds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text

from bench.responsible import (
    GQL_ONE,
    ROOT,
    LoadResult,
    Server,
    check_graphql,
    http_post,
    load_phase,
    run_async,
    running_server,
    sample_points,
)
from jurisgrid.config import get_settings
from jurisgrid.db import dispose, make_engine
from jurisgrid.localdb import LocalCluster

DATABASES = {"county": "jurisgrid_bench_county", "prefecture": "jurisgrid_bench_prefecture"}
POINTS = 4_000


def _url(name: str) -> str:
    cluster = LocalCluster((ROOT / get_settings().db.home).resolve())
    cluster.start()
    cluster.ensure_database(name)
    return cluster.url(name)


def _prepare(kind: str, engine: Engine, scale: float, seed: int, reseed: bool,
             console: Console) -> None:
    """Migrate; (re)load 渠县 or 达州 unless the database holds it at this scale and seed."""
    from jurisgrid.models.migrate import upgrade
    from jurisgrid.seed import load as loader
    from jurisgrid.seed.generate import generate_counties
    from jurisgrid.seed.reference import prefecture_counties, qu_county

    upgrade(engine)
    name = DATABASES[kind]
    tag = f"jurisgrid-bench {kind} scale={scale:g} seed={seed}"
    with engine.connect() as conn:
        have = conn.execute(text("SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                                 "WHERE datname = current_database()")).scalar_one()
    if not reseed and not loader.database_is_empty(engine) and have == tag:
        console.print(f"{name}: already loaded ({tag})")
        return
    refs = prefecture_counties("5117") if kind == "prefecture" else [qu_county()]
    t0 = time.perf_counter()
    if not loader.database_is_empty(engine):
        loader.clear(engine)
    demos = generate_counties(refs, scale=scale, seed=seed)
    t1 = time.perf_counter()
    counts = loader.load_counties(engine, demos)
    del demos
    with engine.begin() as conn:
        conn.exec_driver_sql(f"COMMENT ON DATABASE \"{name}\" IS '{tag}'")
    console.print(f"{name}: generated in {t1 - t0:.0f} s, loaded in {time.perf_counter() - t1:.0f} s: "
                  + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


def _requests(server: Server, engine: Engine, seed: int) -> list[bytes]:
    pts = sample_points(engine, POINTS, seed, outside=0.02)
    return [http_post(server.port, "/graphql", orjson.dumps(
        {"query": GQL_ONE, "variables": {"lon": x, "lat": y}})) for x, y in pts.tolist()]


def _servers(stack: ExitStack, engines: dict[str, Engine], logdir: Path) -> Iterator[tuple[str, Server]]:
    for kind, engine in engines.items():
        url = engine.url.render_as_string(hide_password=False)
        sub = logdir / kind
        sub.mkdir()
        yield kind, stack.enter_context(running_server(url, sub, {}, workers=1))


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):8.1f}  ({min(values):.1f}–{max(values):.1f})"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--reseed", action="store_true")
    ap.add_argument("--only", choices=("http", "lookup"), default=None,
                    help="only the HTTP rounds, or only the in-process lookup")
    args = ap.parse_args(argv)
    console = Console()
    engines = {k: make_engine(_url(name), pool_size=2) for k, name in DATABASES.items()}
    try:
        for kind, engine in engines.items():
            _prepare(kind, engine, args.scale, args.seed, args.reseed, console)
        grids = {}
        for kind, engine in engines.items():
            with engine.connect() as conn:
                grids[kind] = conn.execute(text("SELECT count(*) FROM grid")).scalar_one()
        console.print(f"grids: single county {grids['county']:,}, prefecture "
                      f"{grids['prefecture']:,} ({grids['prefecture'] / grids['county']:.1f}×)")
        if args.only != "http":
            _in_process(console, engines, args)
        if args.only == "lookup":
            return
        results: dict[str, list[LoadResult]] = {k: [] for k in engines}
        with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
            servers = dict(_servers(stack, engines, Path(tmp)))
            reqs = {k: _requests(servers[k], engines[k], args.seed) for k in engines}
            for r in range(args.repeats):
                order = list(engines) if r % 2 == 0 else list(reversed(engines))
                for kind in order:
                    ph = run_async(load_phase(servers[kind].port, reqs[kind], check_graphql,
                                              args.clients, args.warmup, args.seconds))
                    res = LoadResult.of(f"responsibleFor ({kind})", args.clients, ph)
                    results[kind].append(res)
                    console.print(f"  round {r + 1} {kind:<10}: {res.rps:7.1f} req/s  p50 "
                                  f"{res.p50_ms:6.2f} ms  p99 {res.p99_ms:6.2f} ms  {res.ok:,} ok  "
                                  f"{res.failed} failed")
                    if res.first_failure:
                        console.print(f"    first failure: {res.first_failure}", markup=False)
        _report(console, results, args)
    finally:
        for e in engines.values():
            dispose(e)


def _report(console: Console, results: dict[str, list[LoadResult]], args: argparse.Namespace) -> None:
    table = Table(title=f"GraphQL responsibleFor, {args.clients} clients, {args.repeats} rounds of "
                        f"{args.seconds:g} s, scale {args.scale:g}: median (min–max)")
    table.add_column("database")
    table.add_column("req/s", justify="right")
    table.add_column("p99 ms", justify="right")
    for kind, rs in results.items():
        table.add_row(kind, _spread([r.rps for r in rs]), _spread([r.p99_ms for r in rs]))
    console.print(table)
    rps = {k: statistics.median(r.rps for r in rs) for k, rs in results.items()}
    p99 = {k: statistics.median(r.p99_ms for r in rs) for k, rs in results.items()}
    t_ratio = rps["prefecture"] / rps["county"]
    p_ratio = p99["prefecture"] / p99["county"]
    pairs = [(p.rps / c.rps, p.p99_ms / c.p99_ms)
             for p, c in zip(results["prefecture"], results["county"], strict=True)]
    console.print("per round (the two measured back to back), prefecture / single county: "
                  "throughput " + " ".join(f"{t:.2f}" for t, _ in pairs)
                  + f" (median {statistics.median(t for t, _ in pairs):.3f}); p99 "
                  + " ".join(f"{q:.2f}" for _, q in pairs)
                  + f" (median {statistics.median(q for _, q in pairs):.3f})")
    failed = sum(r.failed for rs in results.values() for r in rs)
    ok = t_ratio >= 0.9 and p_ratio <= 1.1 and failed == 0
    console.print(f"prefecture / single county: throughput {t_ratio:.3f}, p99 {p_ratio:.3f} "
                  f"(goal: throughput ≥ 0.9, p99 ≤ 1.1; {failed} failed) — "
                  + ("[green]PASS[/green]" if ok else "[red]FAIL[/red]"))


def _in_process(console: Console, engines: dict[str, Engine], args: argparse.Namespace) -> None:
    """µs per point of the in-memory answer and of the single-point SQL, alternating rounds."""
    from jurisgrid.models import responsible as rq

    snaps = {k: rq.grid_index_cache.snapshot(e) for k, e in engines.items()}
    # points at address points only: the outside share would time the nearest-grid search,
    # whose radius grows with the box around the deployment, not with the lookup
    pts = {k: sample_points(e, POINTS, args.seed) for k, e in engines.items()}
    memory: dict[str, list[float]] = {k: [] for k in engines}
    sql: dict[str, list[float]] = {k: [] for k in engines}
    for r in range(args.repeats):
        for kind in (list(engines) if r % 2 == 0 else list(reversed(engines))):
            snap, xy = snaps[kind], pts[kind].tolist()
            t0 = time.process_time()  # CPU time: a busy machine's other processes do not count
            for _ in range(5):
                for x, y in xy:
                    snap.answer(x, y)
            memory[kind].append((time.process_time() - t0) / (5 * len(xy)) * 1e6)
            with engines[kind].connect() as conn:
                t0 = time.perf_counter()
                for x, y in xy[:500]:
                    rq.responsible_for(conn, lon=x, lat=y)
                sql[kind].append((time.perf_counter() - t0) / 500 * 1e6)
    table = Table(title=f"the lookup in-process, µs per point (in-memory: CPU time; SQL: wall "
                        f"time), {args.repeats} rounds: median (min–max)")
    table.add_column("database")
    table.add_column("in-memory answer", justify="right")
    table.add_column("single-point SQL", justify="right")
    for kind in engines:
        table.add_row(kind, _spread(memory[kind]), _spread(sql[kind]))
    console.print(table)
    m = statistics.median(memory["prefecture"]) / statistics.median(memory["county"])
    q = statistics.median(sql["prefecture"]) / statistics.median(sql["county"])
    best_m = min(memory["prefecture"]) / min(memory["county"])
    best_q = min(sql["prefecture"]) / min(sql["county"])
    console.print(f"prefecture / single county, time per point: in-memory {m:.3f} (best of "
                  f"rounds {best_m:.3f}), SQL {q:.3f} (best {best_q:.3f}) (goal ≤ 1.1) — "
                  + ("[green]PASS[/green]" if m <= 1.1 and q <= 1.1 else "[red]FAIL[/red]"))


if __name__ == "__main__":
    main()
