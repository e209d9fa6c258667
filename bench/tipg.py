"""Benchmark vector tiles against tipg on the same database: bytes per tile and tiles/s.

    .venv/bin/python -m bench.tipg [--seconds 8] [--clients 8] [--workers 1] [--per-zoom 30]

tipg (developmentseed/tipg, a bench-only dependency: ``pip install -e '.[bench]'``) serves
tables and views straight from PostGIS as OGC API – Tiles. The bench makes views in the schema
``tipg_bench`` of the bench database (``jurisgrid_bench``, demo county at scale 1) over the same
tables the jurisgrid layers read — the grids with exactly the attributes of the ``grids`` layer
(zone, station and community codes, the figures of ``tile_grid_stats``), and zones, communities
and townships with their own columns — starts both servers (uvicorn, ``--workers`` each) on free
127.0.0.1 ports, and fetches the same tiles (z10–15 meeting the county, a fixed sample of
``--per-zoom`` per layer and zoom, as bench.tiles picks them) from both, uncompressed:

* **thin**: every layer with ``?properties=code,name`` on both sides — the same attributes, so
  the difference is the geometry (jurisgrid simplifies to a tile unit, keeps a 64-unit buffer
  and drops features that only touch the buffer band; tipg clips with a 256-unit buffer);
* **full grids**: the grids layer with all its attributes (tipg: the view's every column).

First each tile once from each server: mean bytes per tile (per layer and overall) and the
number of features (decoded with mapbox-vector-tile when installed). Then a closed loop of
``--clients`` keep-alive clients over the tile set against each server in turn: tiles/s, p50,
p99. The ratios are jurisgrid ÷ tipg (bytes: below 1 = smaller tiles; tiles/s: above 1 =
faster).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from bench.responsible import (
    HOST,
    LoadResult,
    Server,
    _free_port,
    bench_database_url,
    http_get,
    run_phase,
    running_server,
    spawned_server,
)
from bench.tiles import Tile, check_tile, prepare, tile_set
from jurisgrid.db import make_engine

SCHEMA = "tipg_bench"
LAYERS = ("grids", "zones", "communities", "townships")
# the views tipg serves: the grids layer's attributes (jurisgrid/sql/tiles_grids.sql), the
# others' own columns (thin tiles ask for code and name on both sides)
VIEWS = {
    "grids": """
        SELECT g.id, g.code, g.name, z.code AS zone_code, s.code AS station_code,
               c.code AS community_code, coalesce(st.population, 0) AS population,
               coalesce(st.households, 0) AS households, coalesce(st.addresses, 0) AS addresses,
               coalesce(st.incidents, 0) AS incidents,
               round(st.incidents * 1000.0 / nullif(st.population, 0), 2)::float8
                   AS incidents_per_1000,
               g.geom
        FROM grid g
        JOIN zone z ON z.id = g.zone_id
        JOIN station s ON s.id = z.station_id
        JOIN community c ON c.id = g.community_id
        LEFT JOIN tile_grid_stats st ON st.grid_id = g.id""",
    "zones": "SELECT id, code, name, kind, has_office, geom FROM zone",
    "communities": "SELECT id, code, name, kind, geom FROM community",
    "townships": "SELECT id, code, name, kind, geom FROM township",
}
THIN = "code,name"


def make_views(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        for name, sql in VIEWS.items():
            conn.execute(text(f"DROP VIEW IF EXISTS {SCHEMA}.{name}"))
            conn.execute(text(f"CREATE VIEW {SCHEMA}.{name} AS {sql}"))


def tipg_database_url(url: str) -> str:
    """The bench database as a URL that tipg's settings accept and asyncpg connects with: a
    Unix socket directory (``?host=/dir``) goes percent-encoded in the host part (tipg refuses
    an empty host), so tipg talks to PostgreSQL over the same socket as jurisgrid."""
    u = make_url(url)
    q = dict(u.query)
    sock = q.pop("host", None)
    host = quote(str(sock), safe="") if sock else (u.host or "localhost")
    port = q.pop("port", None) or u.port
    auth = quote(u.username or "", safe="")
    if u.password:
        auth += ":" + quote(str(u.password), safe="")
    params = "&".join(f"{k}={v}" for k, v in q.items())
    return (f"postgresql://{auth}@{host}" + (f":{port}" if port else "") + f"/{u.database}"
            + (f"?{params}" if params else ""))


@contextmanager
def running_tipg(url: str, logdir: Path, workers: int) -> Iterator[Server]:
    port = _free_port()
    log = logdir / "tipg.log"
    env = {**os.environ, "DATABASE_URL": tipg_database_url(url),
           "TIPG_DB_SCHEMAS": f'["{SCHEMA}"]', "TIPG_DB_ONLY_SPATIAL_TABLES": "true",
           "TIPG_DB_SPATIAL_EXTENT": "false", "TIPG_DB_DATETIME_EXTENT": "false",
           "TIPG_DB_MAX_CONN_SIZE": "16", "TIPG_DEBUG": "false"}
    cmd = [sys.executable, "-m", "uvicorn", "tipg.main:app", "--host", HOST, "--port", str(port),
           "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    with spawned_server(cmd, env, port, log) as server:
        yield server


def jg_path(t: Tile, thin: bool) -> str:
    name, z, x, y = t
    return f"/tiles/{name}/{z}/{x}/{y}.mvt" + (f"?properties={THIN}" if thin else "")


def tipg_path(t: Tile, thin: bool) -> str:
    name, z, x, y = t
    return (f"/collections/{SCHEMA}.{name}/tiles/WebMercatorQuad/{z}/{x}/{y}"
            + (f"?properties={THIN}" if thin else ""))


def _features(data: bytes) -> int | None:
    try:
        import mapbox_vector_tile
    except ImportError:
        return None
    return sum(len(layer["features"]) for layer in mapbox_vector_tile.decode(data).values())


def fetch_once(port: int, paths: list[str]) -> list[tuple[int, int | None]]:
    """(bytes, features) of each tile, fetched once, uncompressed."""
    out = []
    for p in paths:
        with urllib.request.urlopen(f"http://{HOST}:{port}{p}", timeout=60) as r:
            data = r.read()
            if r.status != 200:
                raise SystemExit(f"HTTP {r.status} for {p}")
        out.append((len(data), _features(data)))
    return out


def check_tile_or_empty(status: int, body: bytes) -> str | None:
    """tipg answers an empty tile with 204 (jurisgrid: 200 and no bytes)."""
    return None if status == 204 else check_tile(status, body)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.tipg", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=8.0, help="measured seconds per load phase")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per load phase")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn workers of each server")
    p.add_argument("--per-zoom", type=int, default=30, help="tiles per layer and zoom")
    p.add_argument("--seed", type=int, default=1, help="seed of the tile sample")
    p.add_argument("--bytes-only", action="store_true", help="bytes per tile only, no load phases")
    args = p.parse_args(argv)
    if not (0 < args.seconds <= 600 and 0 <= args.warmup <= 60 and 1 <= args.clients <= 256
            and 1 <= args.per_zoom <= 1000 and 1 <= args.workers <= 8):
        p.error("out of range: 0 < seconds ≤ 600, warmup ≤ 60, clients 1–256, per-zoom 1–1000, "
                "workers 1–8")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 130)
    try:
        import tipg
    except ImportError:
        console.print("tipg is not installed: .venv/bin/pip install -e '.[bench]'")
        return 2
    url = bench_database_url()
    engine = make_engine(url, pool_size=2, statement_timeout_ms=0)
    try:
        prepare(engine, url, console)
        make_views(engine)
        tiles = [t for t in tile_set(engine, args.per_zoom, args.seed) if t[0] in LAYERS]
        variants: dict[str, tuple[list[Tile], bool]] = {
            "thin (properties=code,name), 4 layers": (tiles, True),
            "full grids (all attributes)": ([t for t in tiles if t[0] == "grids"], False)}
        console.print(f"tipg {tipg.__version__}; {len(tiles)} tiles z10–15: "
                      + ", ".join(f"{n} {sum(t[0] == n for t in tiles)}" for n in LAYERS))
        with tempfile.TemporaryDirectory(prefix="jurisgrid-tipg-") as tmp, \
                running_server(url, Path(tmp), {}, args.workers) as jg, \
                running_tipg(url, Path(tmp), args.workers) as tp:
            sizes = Table(title="bytes per tile (each tile fetched once, uncompressed)",
                          title_justify="left")
            for col in ("tiles", "layer", "n", "jurisgrid B", "tipg B", "jg ÷ tipg",
                        "features jg / tipg"):
                sizes.add_column(col, justify="left" if col in ("tiles", "layer") else "right")
            speed = Table(title=f"tiles/s, {args.clients} clients, {args.workers} worker(s) each",
                          title_justify="left")
            for col in ("tiles", "jurisgrid tiles/s", "p50 / p99 ms", "tipg tiles/s",
                        "p50 / p99 ms ", "jg ÷ tipg"):
                speed.add_column(col, justify="left" if col == "tiles" else "right")
            for label, (ts, thin) in variants.items():
                jg_sizes = fetch_once(jg.port, [jg_path(t, thin) for t in ts])
                tp_sizes = fetch_once(tp.port, [tipg_path(t, thin) for t in ts])
                for layer in (*sorted({t[0] for t in ts}), "all"):
                    rows = [i for i, t in enumerate(ts) if layer in ("all", t[0])]
                    a = sum(jg_sizes[i][0] for i in rows) / len(rows)
                    b = sum(tp_sizes[i][0] for i in rows) / len(rows)
                    fa = [jg_sizes[i][1] for i in rows]
                    fb = [tp_sizes[i][1] for i in rows]
                    feats = ("" if None in fa or None in fb
                             else f"{sum(fa) / len(rows):.1f} / {sum(fb) / len(rows):.1f}")  # type: ignore[arg-type]
                    sizes.add_row(label if layer == "all" else "", layer, str(len(rows)),
                                  f"{a:,.0f}", f"{b:,.0f}", f"{a / b:.2f}" if b else "–", feats)
                if args.bytes_only:
                    continue
                results: list[LoadResult] = []
                for server, paths, check in (
                        (jg, [jg_path(t, thin) for t in ts], check_tile),
                        (tp, [tipg_path(t, thin) for t in ts], check_tile_or_empty)):
                    reqs = [http_get(server.port, p) for p in paths]
                    r = run_phase(server, engine, label, reqs, check, args.clients, args)
                    if r.failed:
                        console.print(f"  {r.failed} failed; first: {r.first_failure}",
                                      markup=False)
                    results.append(r)
                a_r, b_r = results
                speed.add_row(label, f"{a_r.rps:,.1f}", f"{a_r.p50_ms:.1f} / {a_r.p99_ms:.1f}",
                              f"{b_r.rps:,.1f}", f"{b_r.p50_ms:.1f} / {b_r.p99_ms:.1f}",
                              f"{a_r.rps / b_r.rps:.2f}" if b_r.rps else "–")
        console.print(sizes)
        if not args.bytes_only:
            console.print(speed)
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
