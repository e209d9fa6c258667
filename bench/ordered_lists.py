"""Benchmark ordered lists: the JSON path (models/json_lists.py) against the regular path.

    .venv/bin/python -m bench.ordered_lists [--requests 60] [--size 60]

In process, on the bench database (``jurisgrid_bench``, demo county at scale 1; see
bench/README.md), through the app's HTTP interface (Starlette's TestClient, one client): the
map front-end's list — grids in a box around the county's middle with their zone's code and
GeoJSON — ordered by name, by distance to the box's centre, and unordered (the default order,
for reference), each answered ``--requests`` times by the JSON path and by the regular path
(the same server with gql/json_lists.applies switched off). The answers must be equal (cursors
included) before anything is timed. Prints ms per request of each path and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any
from unittest import mock

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from bench.responsible import bench_database_url
from jurisgrid.db import make_engine

QUERY = """query($b: [Float!], $n: Int, $after: String) {
  grids(bbox: $b, first: $n, after: $after ORDER) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { code name zone { code } geometry(simplify: 5) } } } }"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.ordered_lists", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=60, help="timed requests per path and order")
    p.add_argument("--size", type=int, default=60, help="page size (default 60)")
    args = p.parse_args(argv)
    if not (1 <= args.requests <= 10_000 and 1 <= args.size <= 1000):
        p.error("out of range: requests 1–10000, size 1–1000")
    console = Console(width=None if sys.stdout.isatty() else 130)
    from fastapi.testclient import TestClient

    from jurisgrid.app import create_app
    from jurisgrid.gql import json_lists

    engine = make_engine(bench_database_url(), pool_size=4, statement_timeout_ms=0)
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM grid) s")).one()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    box = [cx - 0.05, cy - 0.05, cx + 0.05, cy + 0.05]
    orders = {
        "default (code)": "",
        "orderBy name": ", orderBy: [{field: NAME}]",
        "orderBy distance": f", orderBy: [{{distanceTo: {{lon: {cx!r}, lat: {cy!r}}}}}]",
    }
    table = Table(title=f"grids in a box with zone code and GeoJSON, {args.size} per page, "
                        f"{args.requests} requests each (ms per request, median)",
                  title_justify="left")
    for col in ("order", "JSON path ms", "regular path ms", "regular ÷ JSON"):
        table.add_column(col, justify="left" if col == "order" else "right")
    with TestClient(create_app(engine)) as client:
        def post(q: str, variables: dict[str, Any]) -> Any:
            r = client.post("/graphql", json={"query": q, "variables": variables})
            if r.status_code != 200:
                raise SystemExit(f"HTTP {r.status_code}: {r.text[:300]}")
            return r.json()

        for label, order in orders.items():
            q = QUERY.replace(" ORDER", order)
            v: dict[str, Any] = {"b": box, "n": args.size}
            fast = post(q, v)
            with mock.patch.object(json_lists, "applies", lambda info: False):
                slow = post(q, v)
            if "errors" in fast or fast != slow:
                raise SystemExit(f"{label}: the paths differ or fail: {str(fast)[:300]}")
            v2 = {**v, "after": fast["data"]["grids"]["pageInfo"]["endCursor"]}
            fast2 = post(q, v2)
            with mock.patch.object(json_lists, "applies", lambda info: False):
                if post(q, v2) != fast2:
                    raise SystemExit(f"{label}: page 2 differs")
            times: dict[str, float] = {}
            for path in ("json", "regular"):
                ts = []
                for _ in range(args.requests):
                    t0 = time.perf_counter()
                    if path == "json":
                        post(q, v)
                    else:
                        with mock.patch.object(json_lists, "applies", lambda info: False):
                            post(q, v)
                    ts.append(time.perf_counter() - t0)
                times[path] = statistics.median(ts) * 1000
            table.add_row(label, f"{times['json']:.1f}", f"{times['regular']:.1f}",
                          f"{times['regular'] / times['json']:.2f}×")
    console.print(table)
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
