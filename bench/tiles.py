"""Benchmark vector tiles: tiles/s over HTTP next to the same ST_AsMVT SQL run directly.

    .venv/bin/python -m bench.tiles [--seconds 10] [--clients 8] [--workers 2] [--crs wgs84]

Uses the database ``jurisgrid_bench`` (demo county at scale 1; created with
``JURISGRID_DB_NAME=jurisgrid_bench jurisgrid seed demo --scale 1`` when it is empty). The tile
set: every layer at zooms 10–15 within its zoom range, tiles meeting the county outline, at most
``--per-zoom`` tiles per layer and zoom (a fixed random sample), shuffled.

* SQL: ``--clients`` threads, each on its own connection, run the layer's ST_AsMVT statement
  (prepared once per connection, the very text the server runs) over the tile set in a closed
  loop — the limit.
* HTTP: the real server (uvicorn, ``--workers``) and ``--clients`` keep-alive clients GET
  ``/tiles/{layer}/{z}/{x}/{y}.mvt`` in a closed loop; the server also looks up each tile's
  ETag. Then the same with ``If-None-Match`` set to the current ETags (revalidation: 304s).

Prints tiles/s of each and the ratio HTTP / SQL (goal ≥ 70 %); the SQL limit is measured
before and after the HTTP phases and averaged (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import shapely
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text

from bench.responsible import (
    ROOT,
    LoadResult,
    bench_database_url,
    http_get,
    run_phase,
    running_server,
)
from jurisgrid.db import make_engine
from jurisgrid.tiles.layers import LAYERS, TileRequest, read_box, tile_bounds, tiles_covering
from jurisgrid.tiles.sizing import compute
from jurisgrid.tiles.store import param_types, tile_sql

GOAL = 0.70
Tile = tuple[str, int, int, int]


def prepare(engine: Engine, url: str, console: Console) -> None:
    """Migrate; seed the demo county at scale 1 when the database is empty."""
    from jurisgrid.models.migrate import upgrade
    from jurisgrid.seed.load import database_is_empty

    upgrade(engine)
    with engine.connect() as conn:
        has_log = conn.execute(text("SELECT to_regclass('tile_change') IS NOT NULL")).scalar_one()
    if not has_log:
        # a database migrated while 0004 was still an empty placeholder: apply it now
        from importlib import resources

        sql = resources.files("jurisgrid.migrations").joinpath("versions/0004_tiles.sql").read_text()
        with engine.begin() as conn:
            conn.exec_driver_sql(sql)
        console.print("applied 0004_tiles.sql (the database had been migrated past an empty 0004)")
    if database_is_empty(engine):
        console.print("seeding the demo county at scale 1 …")
        env = {**os.environ, "JURISGRID_DATABASE_URL": url, "JURISGRID_DB_NAME": "jurisgrid_bench"}
        subprocess.run([str(Path(sys.executable).with_name("jurisgrid")), "seed", "demo", "--scale", "1"],
                       env=env, cwd=ROOT, check=True)


def tile_set(engine: Engine, per_zoom: int, seed: int) -> list[Tile]:
    with engine.connect() as conn:
        wkb = conn.execute(text("SELECT ST_AsBinary(ST_Union(geom)) FROM county")).scalar_one()
    county = shapely.from_wkb(bytes(wkb))
    shapely.prepare(county)
    rng = random.Random(seed)
    tiles: list[Tile] = []
    for name, lay in LAYERS.items():
        for z in range(max(10, lay.minzoom), 16):
            cover = [(x, y) for x, y in tiles_covering(county.bounds, z)
                     if county.intersects(shapely.box(*tile_bounds(z, x, y)))]
            for x, y in rng.sample(cover, min(per_zoom, len(cover))):
                tiles.append((name, z, x, y))
    rng.shuffle(tiles)
    return tiles


def run_sql(engine: Engine, tiles: list[Tile], crs: str, clients: int, warmup: float,
            seconds: float) -> tuple[float, int]:
    """Closed loop over the tile set with ``clients`` threads; returns (tiles/s, bytes/tile)."""
    done = [0] * clients
    nbytes = [0] * clients
    t_measure = time.perf_counter() + warmup
    t_end = t_measure + seconds
    errors: list[BaseException] = []
    # the statement's parameters as the server computes them (the read box is pure Python)
    work = [(name, z, x, y, read_box(TileRequest(LAYERS[name], z, x, y, crs))) for name, z, x, y in tiles]
    # the zones statement also reads the zone sizing the server stores, by its key ($9)
    with engine.connect() as conn:
        zone_extra = (compute(conn),)
        conn.commit()

    def worker(i: int) -> None:
        try:
            raw = engine.raw_connection()
            try:
                raw.autocommit = True  # type: ignore[attr-defined]
                cur = raw.cursor()
                cur.execute("DEALLOCATE ALL")  # a pooled connection may come from the last run
                # as the server's tile sessions (jurisgrid/tiles/pool.py): same SQL, same plans
                cur.execute("SET plan_cache_mode = force_generic_plan")
                for name in LAYERS:
                    cur.execute(f"PREPARE b_{name}({param_types(name)}) AS " + tile_sql(name, crs))
                k = i
                while True:
                    now = time.perf_counter()
                    if now >= t_end:
                        break
                    name, z, x, y, box = work[k % len(work)]
                    k += clients
                    if name == "zones":
                        cur.execute(f"EXECUTE b_{name}(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                                    (z, x, y, crs, *box, *zone_extra))
                    else:
                        cur.execute(f"EXECUTE b_{name}(%s, %s, %s, %s, %s, %s, %s, %s)", (z, x, y, crs, *box))
                    data = cur.fetchone()[0]  # type: ignore[index]
                    if now >= t_measure:
                        done[i] += 1
                        nbytes[i] += len(data)
            finally:
                raw.close()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    n = sum(done)
    return n / seconds, (sum(nbytes) // max(n, 1))


def tile_bytes(engine: Engine, tiles: list[Tile], crs: str,
               thin: bool = False) -> dict[str, tuple[int, int]]:
    """Per layer: (tiles, total bytes) of the tile set, each tile built once by the server's SQL;
    ``thin``: with ``?properties=code,name`` (what a thin client asks for; code alone where a
    layer has no name)."""
    with engine.connect() as conn:
        zone_key = compute(conn)
        conn.commit()
    out: dict[str, tuple[int, int]] = {}
    raw = engine.raw_connection()
    try:
        raw.autocommit = True  # type: ignore[attr-defined]
        cur = raw.cursor()
        for name, z, x, y in tiles:
            box = read_box(TileRequest(LAYERS[name], z, x, y, crs))
            args = [z, x, y, crs, *box, *((zone_key,) if name == "zones" else ())]
            props = tuple(f for f in ("code", "name") if f in LAYERS[name].fields) if thin else None
            sql = tile_sql(name, crs, properties=props)
            for i in range(len(args), 0, -1):  # $10 before $1
                sql = sql.replace(f"${i}", f"%(p{i})s")
            cur.execute(f"SELECT length(({sql}))", {f"p{i + 1}": v for i, v in enumerate(args)})
            n, total = out.get(name, (0, 0))
            out[name] = (n + 1, total + int(cur.fetchone()[0] or 0))  # type: ignore[index]
    finally:
        raw.close()
    return out


def check_tile(status: int, body: bytes) -> str | None:
    return None if status == 200 else f"HTTP {status}: {body[:200]!r}"


def check_304(status: int, body: bytes) -> str | None:
    return None if status == 304 else f"HTTP {status} (expected 304)"


def http_requests(port: int, tiles: list[Tile], crs: str, etags: dict[Tile, str] | None) -> list[bytes]:
    q = "" if crs == "wgs84" else f"?crs={crs}"
    out = []
    for t in tiles:
        name, z, x, y = t
        raw = http_get(port, f"/tiles/{name}/{z}/{x}/{y}.mvt{q}")
        if etags is not None:
            raw = raw[:-2] + f"If-None-Match: {etags[t]}\r\n\r\n".encode()
        out.append(raw)
    return out


def fetch_etags(port: int, tiles: list[Tile], crs: str) -> dict[Tile, str]:
    import urllib.request

    q = "" if crs == "wgs84" else f"?crs={crs}"
    etags = {}
    for t in tiles:
        name, z, x, y = t
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/tiles/{name}/{z}/{x}/{y}.mvt{q}") as r:
            etags[t] = r.headers["ETag"]
    return etags


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--per-zoom", type=int, default=60)
    p.add_argument("--crs", choices=("wgs84", "gcj02", "bd09"), default="wgs84")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--bytes-only", action="store_true",
                   help="only the bytes per tile of each layer over the tile set (no timing)")
    args = p.parse_args(argv)
    console = Console()

    url = bench_database_url()
    engine = make_engine(url, pool_size=args.clients + 2)
    prepare(engine, url, console)
    tiles = tile_set(engine, args.per_zoom, args.seed)
    per_layer = {n: sum(t[0] == n for t in tiles) for n in LAYERS}
    console.print(f"{len(tiles)} tiles, z10–15, crs {args.crs}: "
                  + ", ".join(f"{k} {v}" for k, v in per_layer.items()))
    for label, thin in (("bytes per tile", False), ("with ?properties=code,name", True)):
        sizes = tile_bytes(engine, tiles, args.crs, thin)
        total = sum(t for _, t in sizes.values())
        console.print(f"  {label}: " + ", ".join(
            f"{k} {t / max(n, 1):,.0f}" for k, (n, t) in sizes.items()) + f"; all {total / len(tiles):,.0f}")
    if args.bytes_only:
        engine.dispose()
        return

    sql_before, size = run_sql(engine, tiles, args.crs, args.clients, args.warmup, args.seconds)
    console.print(f"  direct SQL   {args.clients} clients: {sql_before:8.1f} tiles/s "
                  f"(mean tile {size / 1024:.1f} KiB)")
    with tempfile.TemporaryDirectory() as tmp, \
            running_server(url, Path(tmp), {}, workers=args.workers) as server:
        reqs = http_requests(server.port, tiles, args.crs, None)
        r: LoadResult = run_phase(server, engine, "GET tiles", reqs, check_tile, args.clients, args)
        console.print(f"  HTTP         {args.clients} clients: {r.rps:8.1f} tiles/s  p50 {r.p50_ms:.1f} ms"
                      f"  p99 {r.p99_ms:.1f} ms  {r.failed} failed  cores "
                      + "/".join(f"{c:.2f}" for c in r.cores) + " (server/client/PostgreSQL+other)")
        if r.first_failure:
            console.print(f"    first failure: {r.first_failure}", markup=False)
        etags = fetch_etags(server.port, tiles, args.crs)
        reqs304 = http_requests(server.port, tiles, args.crs, etags)
        r304 = run_phase(server, engine, "GET tiles (304)", reqs304, check_304, args.clients, args)
        console.print(f"  HTTP 304     {args.clients} clients: {r304.rps:8.1f} revalidations/s  "
                      f"p50 {r304.p50_ms:.1f} ms  p99 {r304.p99_ms:.1f} ms  {r304.failed} failed")

    # the machine is shared and noisy: the limit is measured before and after the HTTP phases
    sql_after, _ = run_sql(engine, tiles, args.crs, args.clients, args.warmup, args.seconds)
    console.print(f"  direct SQL   {args.clients} clients: {sql_after:8.1f} tiles/s (again, after HTTP)")
    sql_tps = (sql_before + sql_after) / 2
    ratio = r.rps / sql_tps if sql_tps else float("nan")
    table = Table(title=f"tiles/s, {len(tiles)} tiles z10–15, all layers, crs {args.crs}, "
                        f"{args.clients} clients, {args.workers} server workers")
    for col in ("path", "tiles/s", "ratio to SQL"):
        table.add_column(col, justify="right" if col != "path" else "left")
    table.add_row("ST_AsMVT SQL, direct (the limit: mean of before/after)",
                  f"{sql_tps:.1f} ({sql_before:.0f}/{sql_after:.0f})", "1.00")
    table.add_row("HTTP /tiles (ETag lookup + tile)", f"{r.rps:.1f}", f"{ratio:.2f}")
    table.add_row("HTTP /tiles with If-None-Match (304)", f"{r304.rps:.1f}", f"{r304.rps / sql_tps:.2f}")
    console.print(table)
    verdict = "PASS" if ratio >= GOAL else "FAIL"
    console.print(f"HTTP / SQL = {ratio:.2f} (goal ≥ {GOAL:.2f}): {verdict}")
    engine.dispose()


if __name__ == "__main__":
    main()
