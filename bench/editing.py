"""Benchmark the editing core at demo scale 1 (issue 3): reassigning 50 grids, redrawing one.

    .venv/bin/python -m bench.editing [--db jurisgrid_bench_edit] [--repeat 7]

Works in its own database (default ``jurisgrid_bench_edit``; seed it with
``JURISGRID_DB_NAME=jurisgrid_bench_edit jurisgrid db upgrade && … seed demo --scale 1``) and
leaves it as it found it: every timed edit is reverted (the reverts are timed too).

Each figure is the median wall time of ``run_edit`` — one committed revision end to end: the
optimistic lock, the writes, history triggers, exact outline refresh of the touched zones and
stations, re-homing of points in the reshaped area, local invariant checks, NOTIFY, commit.
The limit measured in the same run is the bare minimum on the same database: the same UPDATEs
plus the outline refresh of models/derived.py in one transaction, rolled back (no history, no
checks). Targets: 50 grids < 1 s, one redraw < 300 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import shapely
from rich.console import Console
from sqlalchemy import Engine, text

from jurisgrid.auth.principal import Principal, Role
from jurisgrid.config import EditSettings
from jurisgrid.db import make_engine
from jurisgrid.editing.runner import run_edit
from jurisgrid.localdb import LocalCluster

ADMIN = Principal(actor="bench", role=Role.ADMIN, station_code=None)
console = Console()


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _raw_limit(engine: Engine, updates: list[tuple[str, dict]], repeat: int) -> float:
    from jurisgrid.models.derived import refresh_outlines

    def once() -> None:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            cur = raw.cursor()
            zone_ids: set[int] = set()
            for sql, params in updates:
                cur.execute(sql + " RETURNING zone_id", params)
                zone_ids |= {r[0] for r in cur.fetchall()}
            cur.execute("SELECT DISTINCT station_id FROM zone WHERE id = ANY(%s)", (sorted(zone_ids),))
            stations = [r[0] for r in cur.fetchall()]
            refresh_outlines(cur, zone_ids=sorted(zone_ids), station_ids=stations)
            raw.rollback()

    return _median_ms(once, repeat)


def _timed_edit(engine: Engine, settings: EditSettings, op: str, args: dict,
                repeat: int) -> tuple[float, float]:
    """Median ms of the edit committed end to end, and of its revert (run after each edit)."""
    edit_times, revert_times = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = run_edit(engine, op, args, principal=ADMIN, settings=settings, reason="bench")
        edit_times.append((time.perf_counter() - t0) * 1000)
        assert out.revision is not None
        t0 = time.perf_counter()
        run_edit(engine, "revert", {"revision": out.revision.id}, principal=ADMIN, settings=settings,
                 reason="bench: undo")
        revert_times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(edit_times), statistics.median(revert_times)


def bench_reassign(engine: Engine, settings: EditSettings, repeat: int) -> tuple[float, float, float]:
    with engine.connect() as conn:
        grids = [r[0] for r in conn.execute(text(
            "SELECT g.code FROM grid g JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id "
            "WHERE s.code = (SELECT min(code) FROM station) ORDER BY g.code LIMIT 50"))]
        target, target_id = conn.execute(text(
            "SELECT z.code, z.id FROM zone z JOIN station s ON s.id = z.station_id "
            "WHERE s.code = (SELECT max(code) FROM station) ORDER BY z.code LIMIT 1")).one()
    assert len(grids) == 50, len(grids)
    edit_ms, revert_ms = _timed_edit(engine, settings, "reassignGrids",
                                     {"grids": grids, "toZone": target}, repeat)
    raw = _raw_limit(engine, [("UPDATE grid SET zone_id = %(z)s WHERE code = ANY(%(g)s)",
                               {"z": target_id, "g": grids})], repeat)
    return edit_ms, revert_ms, raw


def bench_redraw(engine: Engine, settings: EditSettings, repeat: int) -> tuple[float, float, float]:
    with engine.connect() as conn:
        a, b, ga, gb = conn.execute(text(
            "SELECT a.code, b.code, ST_AsGeoJSON(a.geom, 15), ST_AsGeoJSON(b.geom, 15) FROM grid a "
            "JOIN grid b ON a.community_id = b.community_id AND a.code < b.code "
            "AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))) > 1e-3 "
            "ORDER BY a.code LIMIT 1")).one()
    sa, sb = shapely.geometry.shape(json.loads(ga)), shapely.geometry.shape(json.loads(gb))
    take = shapely.intersection(sb, shapely.buffer(sa, (sb.area ** 0.5) * 0.2))
    new = shapely.set_precision(shapely.union(sa, take), 1e-7)
    geojson = json.loads(shapely.to_geojson(new))
    edit_ms, revert_ms = _timed_edit(engine, settings, "redrawGrid",
                                     {"grid": a, "geometry": geojson}, repeat)
    rest = shapely.difference(sb, new)
    raw = _raw_limit(engine, [
        ("UPDATE grid SET geom = ST_Multi(ST_GeomFromWKB(%(w)s, 4326)) WHERE code = %(c)s",
         {"w": shapely.to_wkb(new), "c": a}),
        ("UPDATE grid SET geom = ST_Multi(ST_GeomFromWKB(%(w)s, 4326)) WHERE code = %(c)s",
         {"w": shapely.to_wkb(rest), "c": b})], repeat)
    return edit_ms, revert_ms, raw


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="jurisgrid_bench_edit")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    from jurisgrid.config import get_settings

    cluster = LocalCluster(get_settings().db.home.resolve())
    cluster.start()
    engine = make_engine(cluster.url(args.db), pool_size=2)
    settings = EditSettings()
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM grid")).scalar_one()
        pts = conn.execute(text("SELECT count(*) FROM address_point")).scalar_one()
    console.print(f"database {args.db}: {n} grids, {pts} address points; median of {args.repeat}")
    r_edit, r_rev, r_raw = bench_reassign(engine, settings, args.repeat)
    d_edit, d_rev, d_raw = bench_redraw(engine, settings, args.repeat)
    for name, edit, rev, raw, limit in (("reassign 50 grids", r_edit, r_rev, r_raw, 1000.0),
                                        ("redraw 1 grid", d_edit, d_rev, d_raw, 300.0)):
        verdict = "PASS" if edit < limit else "FAIL"
        console.print(f"{name:<18} {edit:8.1f} ms  (revert {rev:7.1f} ms; bare SQL {raw:6.1f} ms, "
                      f"ratio {edit / raw:5.1f}x; target < {limit:.0f} ms: {verdict})")


if __name__ == "__main__":
    main()
