"""Reading a plan costs about what reading live data costs (issue 12: plan reads ≥ 0.5 of live).

In one scratch database (the demo county at ``--scale``) a station-scoped plan moves a third of
the grids of a station's first zone to its second (``write_assignment``). Then, in the same run
and on the same connection, each read is timed under ``LIVE`` and under the plan's source
(models/plan_source.PlanSource), alternating, ``--repeat`` rounds of ``--n`` calls:

- ``list``          — a page of 100 grids of the county (models/listing.page) and its count;
- ``relations``     — the zones of the station, then their grids by parent (models/rows);
- ``geometry``      — the zone outlines of the station (models/geometry.fetch_wkb);
- ``responsibleFor``— the single-point statement at 200 points (models/responsible).

Printed per read: live and plan medians (ms per call) with the spread over the rounds
(min–max) and the ratio live/plan (1.0 = as fast; the goal is ≥ 0.5). Stats and sizing under a
plan are the workbench's planMetrics (not measured here).

    .venv/bin/python -m bench.plan_reads [--scale 0.2] [--repeat 5] [--n 20]
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
from jurisgrid.auth.principal import Principal, Role
from jurisgrid.config import EditSettings
from jurisgrid.editing.plans import write_assignment
from jurisgrid.editing.revisions import current_revision
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


def _plan(conn: Connection) -> tuple[int, str]:
    st, za, zb = conn.exec_driver_sql(
        "SELECT s.code, min(z.code), max(z.code) FROM station s JOIN zone z ON z.station_id = s.id "
        "GROUP BY s.code HAVING count(*) >= 2 ORDER BY count(*) DESC, s.code LIMIT 1").one()
    grids = [g for (g,) in conn.exec_driver_sql(
        "SELECT g.code FROM grid g JOIN zone z ON z.id = g.zone_id WHERE z.code = %(z)s "
        "ORDER BY g.code", {"z": za})]
    pid = plans.create_plan(conn, name="bench", description=None, scope=plans.Scope("station", st),
                            actor="bench", base_revision=current_revision(conn))
    write_assignment(conn, pid, {g: zb for g in grids[: max(1, len(grids) // 3)]},
                     principal=PLANNER, settings=EditSettings())
    return pid, st


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

    def responsible(src: Source) -> Any:
        return [responsible_for(conn, lon=float(x), lat=float(y), source=src) for x, y in pts[:10]]

    return {"list": lists, "relations": relations, "geometry": geometry,
            "responsibleFor(10 pts)": responsible}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--n", type=int, default=20)
    a = ap.parse_args()
    with scratch_database("bench_plan_reads", _fill(a.scale)) as engine:
        with engine.begin() as conn:
            pid, station = _plan(conn)
            plan = plans.get_plan(conn, pid)
        src = PlanSource(pid, plan["reshapes"])
        with engine.connect() as conn:
            print(f"scale {a.scale}: plan {pid} on station {station}, overlay "
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
