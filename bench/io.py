"""Import speed: N address points from a file, end to end, against loading the same records.

    .venv/bin/python -m bench.io [--points 100000] [--format csv]

Creates a throwaway database with the demo county (scale 0.02), writes N random points inside
the county to a file, and times ``import_file`` (read with pyogrio, check every feature, COPY,
upsert with the grid trigger) against the limit measured in the same run: ``load_points`` alone
on the already-checked records (COPY + the same upsert, rolled back). Prints the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

from bench.scratch import scratch_demo
from jurisgrid.geo.crs import Crs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--format", default="csv", choices=["csv", "geojson", "gpkg", "shp"])
    args = ap.parse_args()

    from jurisgrid.io.formats import read_layer, write_layer
    from jurisgrid.io.kinds import check
    from jurisgrid.io.load import load_points, load_refs
    from jurisgrid.io.transfer import import_file

    with scratch_demo("jurisgrid_bench_io") as engine:
        with engine.connect() as conn:
            refs = load_refs(conn)
        rng = np.random.default_rng(1)
        x0, y0, x1, y1 = refs.county.bounds
        xs, ys = rng.uniform(x0, x1, args.points * 3), rng.uniform(y0, y1, args.points * 3)
        keep = shapely.intersects_xy(refs.county, xs, ys)
        xs, ys = xs[keep][: args.points], ys[keep][: args.points]
        n = len(xs)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"points.{args.format}"
            write_layer(path, columns={"code": [f"B{i:07d}" for i in range(n)],
                                       "address": [f"渠县测试路{i}号" for i in range(n)],
                                       "households": [int(v) for v in rng.integers(1, 5, n)],
                                       "population": [int(v) for v in rng.integers(1, 12, n)]},
                        geoms=list(shapely.points(xs, ys)), geometry_type="Point", crs=Crs.WGS84,
                        layer="addresses")
            records = check("addresses", read_layer(path, points=True, crs=Crs.WGS84), refs).records
            with engine.connect() as conn:
                trans = conn.begin()
                t0 = time.perf_counter()
                load_points(conn, "addresses", records)
                limit = time.perf_counter() - t0
                trans.rollback()
            t0 = time.perf_counter()
            report = import_file(engine, "addresses", path, dry_run=True)
            full = time.perf_counter() - t0
        assert report.result is not None and report.result.inserted == n
        print(f"{n:,} address points from {args.format}: import {full:.2f} s "
              f"({n / full:,.0f}/s); loading alone {limit:.2f} s; ratio {full / limit:.2f}")


if __name__ == "__main__":
    main()
