"""How long ``jurisgrid load`` takes for a whole county at demo scale (issue 11: under 60 s).

Seeds the demo county at ``--scale`` into a scratch database, writes it out as a bureau would
have it — townships, communities, stations, zones, grids, address points and incidents with the
existing exporters (``jurisgrid/io``) in ``--format`` and ``--crs`` (default GeoPackage in the
CGCS2000 3° Gauss–Krüger zone EPSG:4545, so every vertex is reprojected), the personnel as an
Excel list — then runs ``jurisgrid load DIR`` on a second, empty database and prints the wall
time of that command and the rows it loaded next to the source's.

    .venv/bin/python -m bench.load                 # scale 1, GeoPackage, EPSG:4545
    .venv/bin/python -m bench.load --format shp --crs WGS84
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bench.scratch import scratch_demo
from jurisgrid.localdb import LocalCluster

LAYERS = ("townships", "communities", "stations", "zones", "grids", "addresses", "incidents")
TABLES = ("county", "township", "community", "station", "zone", "grid", "address_point", "incident",
          "person", "assignment")


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def write_file_set(engine: Engine, root: Path, fmt: str, crs: str) -> None:
    """The county as files: one per layer (the exporters), the personnel as Excel."""
    import openpyxl

    from jurisgrid.geo.crs import parse_file_crs
    from jurisgrid.io.transfer import export_layer
    from jurisgrid.seed.model import ROLE_LABELS

    for layer in LAYERS:
        export_layer(engine, layer, root / f"{layer}.{fmt}", crs=parse_file_crs(crs))
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("人员")
    ws.append(["警号", "姓名", "联系电话", "职务", "所属派出所", "警务区"])
    with engine.connect() as conn:
        for row in conn.execute(text(
                "SELECT p.code, p.name, p.phone, a.role, s.code, z.code FROM person p "
                "JOIN assignment a ON a.person_id = p.id JOIN station s ON s.id = a.station_id "
                "LEFT JOIN zone z ON z.id = a.zone_id ORDER BY p.code")):
            ws.append([row[0], row[1], row[2], ROLE_LABELS[row[3]], row[4], row[5]])
    wb.save(root / "人员.xlsx")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--format", default="gpkg", choices=["gpkg", "shp", "geojson"])
    ap.add_argument("--crs", default="EPSG:4545")
    args = ap.parse_args()

    with scratch_demo("jurisgrid_bench_load_src", scale=args.scale) as source, \
            tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "county"
        root.mkdir()
        t0 = time.perf_counter()
        write_file_set(source, root, args.format, args.crs)
        print(f"wrote the demo county (scale {args.scale:g}) as {args.format} in {args.crs} "
              f"in {time.perf_counter() - t0:.1f} s")
        want = _counts(source)
        cluster = LocalCluster(Path(".jurisgrid").resolve())
        server = cluster.url("postgres")
        name = f"jurisgrid_bench_load_{uuid.uuid4().hex[:6]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
        try:
            env = dict(os.environ, JURISGRID_DATABASE_URL=url)
            report = Path(tmp) / "report.json"
            cmd = [str(Path(sys.executable).with_name("jurisgrid")), "load", str(root),
                   "--report", str(report)]
            t0 = time.perf_counter()
            res = subprocess.run(cmd, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if res.returncode != 0:
                print(res.stderr[-4000:])
                raise SystemExit(f"jurisgrid load failed (exit {res.returncode})")
            rep = json.loads(report.read_text())
            target = create_engine(url)
            got = _counts(target)
            target.dispose()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(f"jurisgrid load {root.name}/ ({args.format}, {args.crs}): {wall:.1f} s wall "
          f"(pipeline {rep['seconds']:.1f} s; limit 60 s) — repairs {len(rep['repairs'])}, "
          f"bad {len(rep['bad'])}")
    stages = rep.get("stageSeconds") or {}
    if stages:
        print("  where the time went: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()))
    for t in TABLES:
        mark = "" if got[t] == want[t] else "   ← differs"
        print(f"  {t:<14} loaded {got[t]:>9,}   source {want[t]:>9,}{mark}")


if __name__ == "__main__":
    main()
