"""A bureau's Shapefile set in a CGCS2000 3° Gauss–Krüger zone (EPSG:4545, central meridian
108°E — 渠县 lies at 106.6–107.2°E, inside the zone's 106.5–109.5°E) with .prj files, loaded
into an empty database with no --crs: the CRS comes from the .prj. ``responsibleFor`` on the
result agrees with a Shapely oracle over the files' own polygons, reprojected here with pyproj
directly (not through the loader)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import pyproj
import shapely
from sqlalchemy import Engine

from jurisgrid.onboard.pipeline import load_jurisdiction
from tests.onboard.conftest import counts, write_set


def _oracle_grids(path: Path) -> tuple[list[str], list[shapely.Geometry]]:
    meta, _, wkb, fields = pyogrio.raw.read(path)
    assert "4545" in meta["crs"] or "108" in meta["crs"]
    codes = [str(c) for c in fields[list(meta["fields"]).index("code")]]
    tr = pyproj.Transformer.from_crs(pyproj.CRS.from_user_input(meta["crs"]), 4326, always_xy=True)
    geoms = [
        shapely.transform(shapely.from_wkb(g), lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
        for g in wkb
    ]
    return codes, geoms


def test_gauss_kruger_shapefiles_load_and_answer(empty_engine: Engine, demo, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from jurisgrid.app import create_app
    from jurisgrid.config import Settings

    root = write_set(demo, tmp_path / "qu", crs="EPSG:4545", ext="shp")
    assert "Gauss_Kruger" in (root / "grids.prj").read_text() and "108" in (root / "grids.prj").read_text()
    x = shapely.get_coordinates(shapely.from_wkb(pyogrio.raw.read(root / "grids.shp")[2][0]))[0, 0]
    assert 300_000 < x < 700_000  # projected metres (false easting 500 km), not degrees

    report = load_jurisdiction(empty_engine, root)
    assert report.written and report.bad == []
    assert report.crs["grids"].startswith("EPSG:4545")
    n = counts(empty_engine)
    assert (n["county"], n["township"], n["community"], n["station"], n["grid"]) == (
        1,
        len(demo.townships),
        len(demo.communities),
        len(demo.stations),
        len(demo.grids),
    )
    assert n["zone"] == len({g.zone_code for g in demo.grids})

    codes, geoms = _oracle_grids(root / "grids.shp")
    tree = shapely.STRtree(geoms)
    rng = np.random.default_rng(11)
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    pts = np.column_stack([rng.uniform(x0, x1, 250), rng.uniform(y0, y1, 250)])
    edges = shapely.STRtree([g.boundary for g in geoms])
    q = """query($lon: Float!, $lat: Float!) { responsibleFor(lon: $lon, lat: $lat) {
             grid { code } zone { code } station { code } } }"""
    checked = 0
    with TestClient(create_app(engine=empty_engine, settings=Settings())) as client:
        for lon, lat in pts.tolist():
            p = shapely.Point(lon, lat)
            if len(edges.query(p, predicate="dwithin", distance=1e-6)):
                continue  # within ~10 cm of an edge: the boundary rule's business
            want = [codes[k] for k in tree.query(p) if geoms[k].contains(p)]
            res = client.post("/graphql", json={"query": q, "variables": {"lon": lon, "lat": lat}}).json()
            got = res["data"]["responsibleFor"]
            if not want:
                assert got["grid"] is None, (lon, lat, got)
                continue
            assert len(want) == 1
            assert got["grid"]["code"] == want[0], (lon, lat)
            g = next(g for g in demo.grids if g.code == want[0])
            assert got["zone"]["code"] == g.zone_code
            checked += 1
    assert checked > 80
