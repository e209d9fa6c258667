"""Benchmark the sizing aggregates (issue 4): every figure of every zone of the demo county.

    JURISGRID_DB_NAME=jurisgrid_s10 .venv/bin/jurisgrid seed demo --scale 10   # once, ~2–7 min
    .venv/bin/python -m bench.aggregates [--database jurisgrid_s10] [--repeats 15]

Measures, on the same database and in the same run (median of ``--repeats``, after one warm-up):

* **aggregates**: what ``jurisgrid.models.aggregates`` serves for all zones at once — households,
  population, houses, units, address count, area; incidents by category (all time, and a window
  with partial months at both ends); the monthly series; police, community officers, 辅警 and
  网格员 — from the stored memberships and the rollups of migration 0002;
* **GraphQL**: the same figures through the schema in-process (``zones(first: 1000) { stats {…} }``),
  DataLoaders and all;
* **plain GROUP BY**: the same figures straight from address_point, incident and assignment joined
  to grid/zone — the limit a query without rollups has.

Prints the ratios aggregates / plain and GraphQL / plain. Target: aggregates for every zone < 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, Engine, text

from jurisgrid.db import make_engine
from jurisgrid.models import aggregates as agg

TARGET_MS = 300.0
SH = ZoneInfo("Asia/Shanghai")
SINCE = datetime(2026, 2, 10, 5, tzinfo=SH)
UNTIL = datetime(2026, 7, 20, 13, 30, tzinfo=SH)

PLAIN = [
    """SELECT g.zone_id, count(*), sum(a.households), sum(a.population), sum(a.houses), sum(a.units)
       FROM address_point a JOIN grid g ON g.id = a.grid_id GROUP BY g.zone_id""",
    "SELECT zone_id, sum(ST_Area(geom::geography)) FROM grid GROUP BY zone_id",
    """SELECT g.zone_id, i.category, count(*) FROM incident i JOIN grid g ON g.id = i.grid_id
       GROUP BY 1, 2""",
    """SELECT g.zone_id, i.category, count(*) FROM incident i JOIN grid g ON g.id = i.grid_id
       WHERE i.occurred_at >= '2026-02-10T05:00:00+08' AND i.occurred_at < '2026-07-20T13:30:00+08'
       GROUP BY 1, 2""",
    """SELECT g.zone_id, date_trunc('month', i.occurred_at AT TIME ZONE 'Asia/Shanghai'), count(*)
       FROM incident i JOIN grid g ON g.id = i.grid_id GROUP BY 1, 2""",
    """SELECT zone_id, count(DISTINCT person_id) FILTER (WHERE role IN ('chief', 'instructor',
       'deputy_chief', 'officer', 'community_officer')), count(DISTINCT person_id) FILTER (WHERE
       role = 'community_officer'), count(DISTINCT person_id) FILTER (WHERE role = 'auxiliary'),
       count(DISTINCT person_id) FILTER (WHERE role = 'grid_worker')
       FROM assignment WHERE valid_from <= now() AND (valid_to IS NULL OR valid_to > now())
       GROUP BY zone_id""",
]

GQL = """{ zones(first: 1000) { edges { node { code stats { households population houses units
  addressCount areaKm2 density officers communityOfficers auxiliaries gridWorkers
  populationPerOfficer incidentsPerOfficer
  incidents { total byCategory { category count } series { start count } } } } } } }"""


def database_url(name: str) -> str:
    from jurisgrid.config import get_settings
    from jurisgrid.db import get_engine  # noqa: F401  (starts the local cluster when needed)
    from jurisgrid.localdb import LocalCluster

    s = get_settings().db
    if s.database_url:
        from sqlalchemy.engine import make_url

        return make_url(s.database_url).set(database=name).render_as_string(hide_password=False)
    cluster = LocalCluster(s.home.resolve())
    cluster.start()
    return cluster.url(name)


def ours(conn: Connection, ids: list[int]) -> int:
    tz = agg.rollup_time_zone(conn)
    a = agg.address_stats(conn, "zone", ids)
    b = agg.incident_counts(conn, "zone", ids)
    c = agg.incident_counts(conn, "zone", ids, since=SINCE, until=UNTIL)
    d = agg.incident_series(conn, "zone", ids, interval="month", time_zone=tz)
    e = agg.personnel(conn, "zone", ids)
    return len(a) + len(b) + len(c) + len(d) + len(e)


def plain(conn: Connection, ids: list[int]) -> int:
    return sum(len(conn.exec_driver_sql(q).all()) for q in PLAIN)


def graphql(engine: Engine) -> Callable[[Connection, list[int]], int]:
    from jurisgrid.config import Settings
    from jurisgrid.gql.context import Context
    from jurisgrid.gql.schema import build_schema

    schema = build_schema()
    settings = Settings()

    def run(conn: Connection, ids: list[int]) -> int:
        res = asyncio.run(schema.execute(GQL, context_value=Context(engine=engine, settings=settings)))
        assert not res.errors, res.errors
        assert res.data is not None
        return len(res.data["zones"]["edges"])

    return run


def timed(
    engine: Engine, fn: Callable[[Connection, list[int]], Any], ids: list[int], repeats: int
) -> list[float]:
    out = []
    with engine.connect() as conn:
        fn(conn, ids)  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn(conn, ids)
            out.append((time.perf_counter() - t0) * 1e3)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", default="jurisgrid_s10")
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args()
    console = Console()
    engine = make_engine(database_url(args.database), pool_size=4)
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM zone ORDER BY id"))]
        counts = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM grid), (SELECT count(*) FROM address_point), "
                "(SELECT count(*) FROM incident)"
            )
        ).one()
    if not ids:
        raise SystemExit(f"{args.database} holds no zones: seed it first (see the docstring)")
    console.print(
        f"database {args.database}: {len(ids)} zones, {counts[0]:,} grids, "
        f"{counts[1]:,} address points, {counts[2]:,} incidents; median of {args.repeats}"
    )
    res = {
        "aggregates (models, all figures, every zone)": timed(engine, ours, ids, args.repeats),
        "GraphQL in-process (zones { stats })": timed(engine, graphql(engine), ids, args.repeats),
        "plain SQL GROUP BY over the same tables": timed(engine, plain, ids, args.repeats),
    }
    base = statistics.median(res["plain SQL GROUP BY over the same tables"])
    t = Table("measure", "median ms", "p90 ms", "ratio to plain GROUP BY")
    for k, v in res.items():
        med = statistics.median(v)
        p90 = sorted(v)[int(0.9 * (len(v) - 1))]
        t.add_row(k, f"{med:.1f}", f"{p90:.1f}", f"{med / base:.3f}")
    console.print(t)
    med = statistics.median(res["aggregates (models, all figures, every zone)"])
    verdict = "PASS" if med < TARGET_MS else "FAIL"
    console.print(
        f"{verdict}: every zone's aggregates in {med:.1f} ms (target < {TARGET_MS:.0f} ms), "
        f"{base / med:.1f}× faster than the plain GROUP BY ({base:.1f} ms)"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
