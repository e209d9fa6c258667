"""Reading a plan costs about what reading live data costs (issue 12: plan reads ≥ 0.5 of live).

In one scratch database (the demo county at ``--scale``) a station-scoped plan reassigns
``--fraction`` of the grids of the station with the most zones, round robin over its zones
(``write_assignment``). Then, in the same run
and on the same connection, each read is timed under ``LIVE`` and under the plan's source
(models/plan_source.PlanSource), alternating, ``--repeat`` rounds of ``--n`` calls:

- ``list``          — a page of 100 grids of the county (models/listing.page) and its count;
- ``relations``     — the zones of the station, then their grids by parent (models/rows);
- ``geometry``      — the zone outlines of the station (models/geometry.fetch_wkb);
- ``stats``         — address figures and personnel of the station's zones (models/aggregates);
- ``sizing``        — the station's sizing report (analytics/report.sizing_report);
- ``responsibleFor``— the single-point statement at 10 points (models/responsible).

Printed per read: live and plan medians (ms per call) with the spread over the rounds
(min–max) and the ratio live/plan (1.0 = as fast; the goal is ≥ 0.5).

With ``--reshape`` the plan also splits the station's largest grid, so it reshapes grids: its
stats and sizing then place again the points near that grid (models/plan_membership.py) and
its point lookups run the boundary rule over its grids.

    .venv/bin/python -m bench.plan_reads [--scale 0.2] [--fraction 0.5] [--repeat 5] [--n 10]
                                         [--reshape]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

from bench.scratch import scratch_database
from jurisgrid.analytics import report
from jurisgrid.auth.principal import Principal, Role
from jurisgrid.config import EditSettings
from jurisgrid.editing.plans import edit_plan, write_assignment
from jurisgrid.editing.revisions import current_revision
from jurisgrid.models import aggregates as agg
from jurisgrid.models import listing, plans, rows
from jurisgrid.models.geometry import fetch_wkb
from jurisgrid.models.plan_source import PlanSource
from jurisgrid.models.responsible import responsible_for
from jurisgrid.models.source import LIVE, Source

PLANNER = Principal(actor="bench", role=Role.PLANNER)


def _fill(scale: float) -> Callable[[Engine], None]:
    def fill(engine: Engine) -> None:
        from jurisgrid.seed.generate import generate
        from jurisgrid.seed.load import load

        load(engine, generate(scale=scale, seed=0))

    return fill


def _plan(conn: Connection, fraction: float) -> tuple[int, str]:
    st = conn.exec_driver_sql(
        "SELECT s.code FROM station s JOIN zone z ON z.station_id = s.id "
        "GROUP BY s.code ORDER BY count(*) DESC, s.code LIMIT 1").scalar_one()
    rows = conn.exec_driver_sql(
        "SELECT g.code, z.code FROM grid g JOIN zone z ON z.id = g.zone_id JOIN station s "
        "ON s.id = z.station_id WHERE s.code = %(s)s ORDER BY g.code", {"s": st}).all()
    zones = sorted({z for _, z in rows})
    step = max(1, round(1 / fraction)) if fraction > 0 else len(rows) + 1
    mapping = {g: zones[(zones.index(z) + 1) % len(zones)]
               for k, (g, z) in enumerate(rows) if k % step == 0}
    pid = plans.create_plan(conn, name="bench", description=None, scope=plans.Scope("station", st),
                            actor="bench", base_revision=current_revision(conn))
    write_assignment(conn, pid, mapping, principal=PLANNER, settings=EditSettings())
    return pid, st


def _split(engine: Engine, pid: int, station: str) -> None:
    """Split the station's largest grid in the plan by a horizontal line through it."""
    with engine.connect() as conn:
        code, x0, x1, y = conn.exec_driver_sql(
            "SELECT g.code, ST_XMin(g.geom), ST_XMax(g.geom), ST_Y(ST_PointOnSurface(g.geom)) "
            "FROM grid g JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id "
            "WHERE s.code = %(s)s ORDER BY ST_Area(g.geom) DESC, g.code LIMIT 1",
            {"s": station}).one()
    line = {"type": "LineString", "coordinates": [[x0 - 0.01, y], [x1 + 0.01, y]]}
    edit_plan(engine, pid, "splitGrid", {"grid": code, "line": line}, principal=PLANNER,
              settings=EditSettings())


def _reads(conn: Connection, station: str) -> dict[str, Callable[[Source], Any]]:
    box = conn.exec_driver_sql("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                               "(SELECT ST_Extent(geom) AS e FROM grid) x").one()
    rng = np.random.default_rng(0)
    pts = list(zip(rng.uniform(box[0], box[2], 200), rng.uniform(box[1], box[3], 200), strict=True))

    def zones(src: Source) -> list[int]:
        f = listing.ListFilter(parents={"station_id": ("station", station)})
        return [r["id"] for r in listing.page(conn, src, "zone", f, first=100)]

    def lists(src: Source) -> Any:
        f = listing.ListFilter()
        return listing.page(conn, src, "grid", f, first=100), listing.count(conn, src, "grid", f)

    def relations(src: Source) -> Any:
        return rows.rows_by_parent(conn, src, "grid", "zone_id", zones(src))

    def geometry(src: Source) -> Any:
        return fetch_wkb(conn, src, "zone", "geom", zones(src))

    def stats(src: Source) -> Any:
        ids = zones(src)
        return agg.address_stats(conn, "zone", ids, source=src), agg.personnel(
            conn, "zone", ids, source=src)

    def sizing(src: Source) -> Any:
        return report.sizing_report(conn, scope="station", code=station, source=src)

    def responsible(src: Source) -> Any:
        return [responsible_for(conn, lon=float(x), lat=float(y), source=src) for x, y in pts[:10]]

    return {"list": lists, "relations": relations, "geometry": geometry, "stats": stats,
            "sizing": sizing, "responsibleFor(10 pts)": responsible}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--fraction", type=float, default=0.5,
                    help="share of the station's grids the plan reassigns")
    ap.add_argument("--reshape", action="store_true",
                    help="the plan also splits the station's largest grid")
    a = ap.parse_args()
    with scratch_database("bench_plan_reads", _fill(a.scale)) as engine:
        with engine.begin() as conn:
            pid, station = _plan(conn, a.fraction)
        if a.reshape:
            _split(engine, pid, station)
        with engine.connect() as conn:
            plan = plans.get_plan(conn, pid)
        src = PlanSource(pid, plan["reshapes"])
        with engine.connect() as conn:
            print(f"scale {a.scale}: plan {pid} on station {station} (reshapes: {plan['reshapes']}), overlay "
                  f"{plans.overlay_counts(conn, pid)}; {a.repeat} rounds × {a.n} calls")
            print(f"{'read':24} {'live ms':>16} {'plan ms':>16} {'live/plan':>16}")
            for name, fn in _reads(conn, station).items():
                fn(LIVE), fn(src)   # warm up: plans cached, pages in
                live: list[float] = []
                planned: list[float] = []
                for _ in range(a.repeat):
                    for which, out in ((LIVE, live), (src, planned)):
                        t0 = time.perf_counter()
                        for _ in range(a.n):
                            fn(which)
                        out.append((time.perf_counter() - t0) / a.n * 1000)
                ratios = [lv / pl for lv, pl in zip(live, planned, strict=True)]
                print(f"{name:24} {_fmt(live):>16} {_fmt(planned):>16} {_fmt(ratios, 2):>16}")
            conn.rollback()


def _fmt(xs: list[float], digits: int = 2) -> str:
    return f"{statistics.median(xs):.{digits}f} ({min(xs):.{digits}f}–{max(xs):.{digits}f})"


if __name__ == "__main__":
    main()
