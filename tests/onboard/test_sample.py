"""The README's worked example: ``tests/data/onboard/sample`` (made by make_sample.py) loads as
documented — projected Shapefiles, an overlap and a gap repaired, zones from station polygons,
grids generated, a BD-09 incident list with an unknown category, an Excel staff list."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyproj
import shapely
from sqlalchemy import Engine, text

from jurisgrid.onboard.pipeline import load_jurisdiction
from tests.onboard.conftest import counts

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "onboard" / "sample"


def test_the_worked_example_loads(empty_engine: Engine) -> None:
    report = load_jurisdiction(empty_engine, SAMPLE)
    assert report.written and report.bad == []
    assert report.counts == {
        "counties": 1,
        "townships": 2,
        "communities": 4,
        "sectors": 1,
        "stations": 2,
        "zones": 2,
        "grids": 6,
        "addresses": 8,
        "incidents": 12,
        "persons": 4,
        "assignments": 4,
    }
    assert report.crs["communities"].startswith("EPSG:4545") and report.crs["incidents"] == "BD09"
    snapped: dict[tuple[str, ...], float] = {}
    for r in report.repairs:
        if r["kind"] == "snapped_vertices":
            snapped[tuple(r["units"])] = snapped.get(tuple(r["units"]), 0.0) + r["areaM2"]
    assert 290 < snapped[("990101002001",)] < 310  # the 0.3 m overlap along 1 km
    assert 390 < snapped[("990101002002",)] < 410  # the 0.4 m gap along 1 km
    assert [(u["category"], u["count"]) for u in report.unknown_categories] == [("噪音扰民", 3)]
    # grids: community ∩ zone, the zones split at x = 1500 m (EPSG:4545)
    with empty_engine.connect() as conn:
        grids = {
            r[0]: (r[1], shapely.from_wkb(bytes(r[2])))
            for r in conn.execute(
                text("SELECT g.code, z.code, ST_AsBinary(g.geom) FROM grid g JOIN zone z ON z.id = g.zone_id")
            )
        }
    assert sorted(grids) == [
        "990101001001001",
        "990101001002001",
        "990101002001001",
        "990101002001002",
        "990101002002001",
        "990101002002002",
    ]
    tr = pyproj.Transformer.from_crs(4326, 4545, always_xy=True)
    for code, (zone, g) in grids.items():
        _, _, x1, _ = shapely.transform(g, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))).bounds
        assert (zone == "990101PS01Z01") == (x1 - 400_000 <= 1500.5), code
    assert counts(empty_engine)["assignment"] == 4


def test_stats_and_tiles_work_on_it(empty_engine: Engine) -> None:
    """Sizing figures per zone agree with a recomputation from the sample's own files (Shapely:
    address points in each station's polygon); a grid tile over the county is served."""
    import csv

    import pyogrio.raw
    from fastapi.testclient import TestClient

    from jurisgrid.app import create_app
    from jurisgrid.config import Settings

    load_jurisdiction(empty_engine, SAMPLE)
    meta, _, wkb, fields = pyogrio.raw.read(SAMPLE / "派出所.shp")
    tr = pyproj.Transformer.from_crs(meta["crs"], 4326, always_xy=True)
    stations = {
        str(c): shapely.transform(
            shapely.from_wkb(g), lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))
        )
        for c, g in zip(fields[0], wkb, strict=True)
    }
    with (SAMPLE / "标准地址.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    want = {
        f"{code}Z01": sum(
            int(r["人口"]) for r in rows if poly.contains(shapely.Point(float(r["经度"]), float(r["纬度"])))
        )
        for code, poly in stations.items()
    }
    assert sum(want.values()) == sum(int(r["人口"]) for r in rows)
    q = (
        "{ county { stats { population incidents { total } } } "
        "zones(first: 10) { nodes { code stats { population } } } }"
    )
    with TestClient(create_app(engine=empty_engine, settings=Settings())) as client:
        data = client.post("/graphql", json={"query": q}).json()["data"]
        assert data["county"]["stats"]["population"] == sum(want.values())
        assert data["county"]["stats"]["incidents"]["total"] == 12
        assert {z["code"]: z["stats"]["population"] for z in data["zones"]["nodes"]} == want
        x0, y0, x1, y1 = shapely.total_bounds(list(stations.values()))
        lon, lat, z = (x0 + x1) / 2, (y0 + y1) / 2, 14
        tx = int((lon + 180) / 360 * 2**z)
        ty = int((1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * 2**z)
        res = client.get(f"/tiles/grids/{z}/{tx}/{ty}.mvt")
        assert res.status_code == 200 and len(res.content) > 50
