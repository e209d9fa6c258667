"""Every layer exports in every format with its features and fields; the CLI imports and exports
with progress bars and names every bad feature."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from jurisgrid.geo.crs import Crs
from jurisgrid.io.formats import read_layer
from jurisgrid.io.kinds import EXPORT_FIELDS, POINT_KINDS
from jurisgrid.io.transfer import export_layer

TABLES = {"grids": "grid", "zones": "zone", "stations": "station", "communities": "community",
          "townships": "township", "addresses": "address_point", "incidents": "incident"}


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "csv"])
@pytest.mark.parametrize("layer", list(EXPORT_FIELDS))
def test_every_layer_exports(io_engine: Engine, tmp_path: Path, layer: str, fmt: str) -> None:
    path = tmp_path / f"{layer}.{fmt}"
    n = export_layer(io_engine, layer, path, crs=Crs.WGS84)
    with io_engine.connect() as conn:
        assert n == conn.execute(text(f"SELECT count(*) FROM {TABLES[layer]}")).scalar_one() > 0
        first = conn.execute(text(f"SELECT code, name FROM {TABLES[layer]} ORDER BY code LIMIT 1")).one() \
            if layer not in POINT_KINDS else None
    back = read_layer(path, points=layer in POINT_KINDS, crs=Crs.WGS84)
    assert len(back) == n
    assert set(EXPORT_FIELDS[layer]) <= set(back.rows[0])
    assert all(len(f) <= 10 for f in back.rows[0])
    if first is not None:
        assert (back.rows[0]["code"], back.rows[0]["name"]) == tuple(first)   # Chinese names intact


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JURISGRID_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "jurisgrid.cli", *args], env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_export_import(io_engine: Engine, tmp_path: Path) -> None:
    url = io_engine.url.render_as_string(hide_password=False)
    out = tmp_path / "addr.shp"
    r = _cli(url, "export", "addresses", str(out), "--crs", "gcj02")
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stderr and "GCJ02" in r.stderr and out.exists()
    r = _cli(url, "import", "addresses", str(out), "--crs", "GCJ02", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "checking features" in r.stderr and "dry run: rolled back" in r.stderr

    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "X1", "address": "a", "households": 1, "population": -2},
         "geometry": {"type": "Point", "coordinates": [30.8, 106.9]}},
        {"type": "Feature", "properties": {"code": "X2", "households": 1, "population": 1},
         "geometry": {"type": "Point", "coordinates": [106.9, 30.8]}}]}))
    r = _cli(url, "import", "addresses", str(bad))
    assert r.returncode == 2  # refused input (jurisgrid/cli/console.py)
    assert "2 of 2 features are bad; nothing was imported" in r.stderr
    assert "swapped" in r.stderr and "population" in r.stderr and "address is missing" in r.stderr
    r = _cli(url, "import", "addresses", str(bad), "--crs", "mars")
    assert r.returncode == 2 and "unknown coordinate system" in r.stderr
