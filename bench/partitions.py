"""Partitioned against plain point tables on the same province (issue 17 item 3; migration 0017).

    .venv/bin/python -m bench.partitions [--counties 20] [--scale 0.1] [--repeats 30]

One scratch database on the project-local cluster (dropped afterwards), loaded with
bench.province's synthetic province of ``--counties`` county-level units at head (the seed
writes the partition key), then taken down to 0016 (plain ``address_point`` and ``incident``).
Each query below is timed (median of ``--repeats`` runs, one county or code per run, cycling) on
the plain tables; then the database is upgraded to 0017 again and the same queries are timed on
the partitioned tables, in the same minutes. Both conversions are timed; the database size and
the two tables' size (with indexes) are printed for both.

The queries: a county's address points (count and population, the list filter of
models/county_scope.py — by grid, plus ``county_code`` once it exists: the planner then reads
that county's partition only); a county's incidents of one local month by category; and, for
what partitioning costs, the points in a small box (a tile's read) and a point by code and by id
(no county known: every partition's index is probed).

A second table times the application's own reads of points that name no county (issue 17:
models/point_scope.py) on the partitioned tables, with the partitions they can touch named in
the statement ("pruned") and without ("unpruned": the same functions with the pruning switched
off in this process): a list page and count in a ~1 km box, a point and an incident by code, a
grid's first points (the DataLoader batch), OGC items in a box, an OGC item by id and a listed
point's geometry by id (the request holds its row, so its county).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any
from unittest import mock

from alembic import command
from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from bench.province import seed_province
from jurisgrid.config import get_settings
from jurisgrid.db import dispose, make_engine
from jurisgrid.localdb import LocalCluster
from jurisgrid.models import geometry as geometry_q
from jurisgrid.models import listing, point_scope
from jurisgrid.models import rows as rows_q
from jurisgrid.models.migrate import alembic_config, upgrade
from jurisgrid.models.source import LIVE
from jurisgrid.ogc import partitions as ogc_parts
from jurisgrid.tiles import features as fx

GRIDS = ("SELECT g.id FROM grid g JOIN community m ON m.id = g.community_id "
         "JOIN township t ON t.id = m.township_id JOIN county c ON c.id = t.county_id WHERE c.code = :c")


def _queries(partitioned: bool) -> dict[str, str]:
    key = "county_code = :c AND " if partitioned else ""
    return {
        "county's points (count, population)":
            f"SELECT count(*), sum(population) FROM address_point WHERE {key}grid_id IN ({GRIDS})",
        "county's incidents of a month, by category":
            f"SELECT category, count(*) FROM incident WHERE {key}grid_id IN ({GRIDS}) "
            "AND occurred_at >= '2026-03-01T00:00+08:00' AND occurred_at < '2026-04-01T00:00+08:00' "
            "GROUP BY category",
        "points in a ~1 km box (a tile's read, no county)":
            "SELECT count(*) FROM address_point WHERE geom && ST_Expand(ST_SetSRID(ST_MakePoint(:x, :y), "
            "4326), 0.005)",
        "a point by code (no county)": "SELECT id, grid_id FROM address_point WHERE code = :p",
        "a point by id (no county)": "SELECT code, grid_id FROM address_point WHERE id = :i",
    }


def _time(conn: Connection, sql: str, params: list[dict[str, Any]], repeats: int) -> float:
    stmt = text(sql)
    for p in params[:3]:  # warm: plans and pages
        conn.execute(stmt, p).all()
    out = []
    for k in range(repeats):
        t = time.perf_counter()
        conn.execute(stmt, params[k % len(params)]).all()
        out.append(time.perf_counter() - t)
    return statistics.median(out) * 1000


def _sizes(conn: Connection) -> tuple[float, float]:
    db = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    tables = conn.execute(text(  # a plain table has no partition tree
        "SELECT sum(coalesce((SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree(t)), "
        "pg_total_relation_size(t))) FROM unnest('{address_point,incident}'::regclass[]) t")).scalar_one()
    return db / 1e6, float(tables) / 1e6


def measure(engine: Engine, partitioned: bool, repeats: int) -> tuple[dict[str, float], tuple[float, float]]:
    with engine.connect() as conn:
        counties = [c for (c,) in conn.execute(text("SELECT code FROM county ORDER BY code"))]
        sample = conn.execute(text("SELECT code, id, ST_X(geom), ST_Y(geom) FROM address_point "
                                   "ORDER BY md5(code) LIMIT 200")).all()
        params: dict[str, list[dict[str, Any]]] = {
            "p": [{"p": r[0]} for r in sample], "i": [{"i": r[1]} for r in sample],
            "x": [{"x": r[2], "y": r[3]} for r in sample], "c": [{"c": c} for c in counties]}
        times = {}
        for name, sql in _queries(partitioned).items():
            kind = next(k for k in ("c", "p", "x", "i") if f":{k}" in sql)
            times[name] = _time(conn, sql, params[kind], repeats)
        conn.execute(text("CHECKPOINT"))
        return times, _sizes(conn)


def _paths(conn: Connection) -> dict[str, Callable[[dict[str, Any]], Any]]:
    """The application's reads of points naming no county, each of one sample (a point)."""
    box = 0.005  # ± degrees: a ~1 km box
    addresses, incidents = fx.get_collection("addresses"), fx.get_collection("incidents")

    def bbox(s: dict[str, Any]) -> tuple[float, float, float, float]:
        return (s["x"] - box, s["y"] - box, s["x"] + box, s["y"] + box)

    return {
        "list page of points in a ~1 km box (50)":
            lambda s: listing.page(conn, LIVE, "address_point", listing.ListFilter(bbox=bbox(s)), first=50),
        "count of points in a ~1 km box":
            lambda s: listing.count(conn, LIVE, "address_point", listing.ListFilter(bbox=bbox(s))),
        "a point by code (addressPoint(code:))":
            lambda s: rows_q.rows_by_codes(conn, LIVE, "address_point", [s["p"]]),
        "an incident by code (incident(code:))":
            lambda s: rows_q.rows_by_codes(conn, LIVE, "incident", [s["ic"]]),
        "a grid's first 100 points (Grid.addressPoints)":
            lambda s: rows_q.points_by_grid(conn, LIVE, "address_point", [s["g"]], first=100),
        "a grid's first 100 incidents (Grid.incidents)":
            lambda s: rows_q.points_by_grid(conn, LIVE, "incident", [s["g"]], first=100),
        "OGC addresses in a ~1 km box (limit 50)":
            lambda s: ogc_parts.items(conn, addresses, fx.ItemQuery(bbox=bbox(s), limit=50), None),
        "OGC incidents in a ~1 km box (limit 50)":
            lambda s: ogc_parts.items(conn, incidents, fx.ItemQuery(bbox=bbox(s), limit=50), None),
        "OGC address by id":
            lambda s: ogc_parts.item(conn, addresses, s["p"], None),
        "a listed point's geometry by id (AddressPoint.location)":
            lambda s: geometry_q.fetch_wkb(conn, LIVE, "address_point", "geom", [s["i"]],
                                           counties=[s["c"]]),
    }


def _time_fn(fn: Callable[[dict[str, Any]], Any], samples: list[dict[str, Any]], repeats: int) -> float:
    for s in samples[:3]:
        fn(s)
    out = []
    for k in range(repeats):
        t = time.perf_counter()
        fn(samples[k % len(samples)])
        out.append(time.perf_counter() - t)
    return statistics.median(out) * 1000


def measure_paths(engine: Engine, repeats: int) -> tuple[dict[str, tuple[float, float]], float]:
    """Per code path: (unpruned, pruned) median ms on the partitioned tables; and the median ms
    of rebuilding the partition snapshot (models/point_scope.py: once per data version)."""
    with engine.connect() as conn:
        builds = []
        for _ in range(5):
            t = time.perf_counter()
            point_scope._build(conn)
            builds.append(time.perf_counter() - t)
        samples = [dict(r) for r in conn.execute(text(
            "SELECT p.code AS p, p.id AS i, p.county_code AS c, p.grid_id AS g, "
            "ST_X(p.geom) AS x, ST_Y(p.geom) AS y, "
            "(SELECT i.code FROM incident i WHERE i.county_code = p.county_code "
            " ORDER BY i.id LIMIT 1 OFFSET (p.id % 50)) AS ic "
            "FROM address_point p WHERE p.grid_id IS NOT NULL ORDER BY md5(p.code) LIMIT 100")).mappings()]
        samples = [s for s in samples if s["ic"] is not None]
        out = {}
        for name, fn in _paths(conn).items():
            pruned = _time_fn(fn, samples, repeats)
            with mock.patch.object(point_scope, "partitioned", lambda tb: False), \
                    mock.patch.object(ogc_parts, "prunes", lambda c: False):
                unpruned = _time_fn(fn, samples, repeats)
            out[name] = (unpruned, pruned)
        return out, statistics.median(builds) * 1000


def _downgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def _analyze(engine: Engine) -> int:
    """ANALYZE; the number of partitions (tables) of the point tables."""
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
        return int(conn.execute(text("SELECT count(*) FROM pg_class WHERE relispartition "
                                     "AND relkind IN ('r', 'p')")).scalar_one())


def run(args: argparse.Namespace, console: Console, progress: Callable[[str], None]) -> list[Table]:
    cluster = LocalCluster(get_settings().db.home.resolve())
    cluster.start()
    name = f"jurisgrid_bench_parts_{int(time.time())}"
    admin = make_engine(cluster.url("postgres"), pool_size=1)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(cluster.url("postgres")).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url, pool_size=2)
    try:
        upgrade(engine)
        progress(f"seeding {args.counties} counties at scale {args.scale}")
        _, load_s, counts = seed_province(engine, args.counties, args.scale, args.seed)
        progress(f"loaded in {load_s:.0f} s: {counts['address_point']} points, "
                 f"{counts['incident']} incidents; to plain tables (0016)")
        t = time.perf_counter()
        _downgrade(engine, "0016")
        down_s = time.perf_counter() - t
        _analyze(engine)
        before, size_before = measure(engine, False, args.repeats)
        progress("upgrading to 0017 (partitioned)")
        t = time.perf_counter()
        upgrade(engine)
        convert_s = time.perf_counter() - t
        parts = _analyze(engine)
        after, size_after = measure(engine, True, args.repeats)
        progress("the application's reads naming no county, pruned and not")
        paths, build_ms = measure_paths(engine, args.repeats)
    finally:
        dispose(engine)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        dispose(admin)
    table = Table(title=f"{args.counties} counties at scale {args.scale}: {counts['address_point']:,} "
                        f"points, {counts['incident']:,} incidents; conversion 0016 → 0017 "
                        f"{convert_s:.1f} s (back: {down_s:.1f} s), {parts} partitions")
    table.add_column(f"median of {args.repeats} (ms)")
    table.add_column("plain")
    table.add_column("partitioned")
    table.add_column("ratio")
    for q in before:
        table.add_row(q, f"{before[q]:.2f}", f"{after[q]:.2f}", f"{after[q] / before[q]:.2f}")
    table.add_row("database size (MB)", f"{size_before[0]:.0f}", f"{size_after[0]:.0f}",
                  f"{size_after[0] / size_before[0]:.2f}")
    table.add_row("points + incidents with indexes (MB)", f"{size_before[1]:.1f}", f"{size_after[1]:.1f}",
                  f"{size_after[1] / size_before[1]:.2f}")
    code = Table(title=f"the application's reads naming no county, on the {parts} partitions "
                       f"(models/point_scope.py; its snapshot, rebuilt once per data version: "
                       f"{build_ms:.1f} ms)")
    code.add_column(f"median of {args.repeats} (ms)")
    code.add_column("unpruned")
    code.add_column("pruned")
    code.add_column("ratio")
    for q, (u, p) in paths.items():
        code.add_row(q, f"{u:.2f}", f"{p:.2f}", f"{p / u:.2f}")
    return [table, code]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.partitions", description=__doc__.splitlines()[0])
    p.add_argument("--counties", type=int, default=20)
    p.add_argument("--scale", type=float, default=0.1, help="demo scale of every county")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args(argv)
    console = Console()
    for table in run(args, console, lambda m: console.print(f"[dim]{m}[/dim]")):
        console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
