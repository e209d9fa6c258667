"""Files only: every format round-trips geometry and attributes exactly (Chinese names too, via
the Shapefile's .cpg), in WGS84 and through GCJ-02; unreadable input is reported per feature."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import Crs, from_wgs84
from jurisgrid.io.formats import read_layer, write_layer

FORMATS = ["geojson", "gpkg", "shp", "csv"]
POLYS = [shapely.MultiPolygon([shapely.box(106.9 + i * 1e-3, 30.8023456789012, 106.9011111111111 + i * 1e-3,
                                           30.81)]) for i in range(3)]
POINTS = [shapely.Point(106.97312345678901, 30.823456789012344 + i * 1e-4) for i in range(3)]
COLUMNS = {"code": ["511725001001001", "511725001001002", "511725001001003"],
           "name": ["渠江街道一网格", "中文名字很长很长的网格名称", "x"], "households": [1, 20, 300]}


def _multi(g: shapely.Geometry) -> shapely.Geometry:
    return shapely.normalize(shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("crs", [Crs.WGS84, Crs.GCJ02, Crs.BD09])
def test_areas_round_trip(tmp_path: Path, fmt: str, crs: Crs) -> None:
    path = tmp_path / f"grids.{fmt}"
    write_layer(path, columns=COLUMNS, geoms=POLYS, geometry_type="MultiPolygon", crs=crs, layer="grids")
    layer = read_layer(path, points=False, crs=crs)
    assert layer.problems == []
    assert [r["code"] for r in layer.rows] == COLUMNS["code"]
    assert [r["name"] for r in layer.rows] == COLUMNS["name"]
    assert [int(r["households"]) for r in layer.rows] == COLUMNS["households"]
    tol = 0 if crs.is_wgs84_like else 1e-9        # the GCJ-02/BD-09 inverse is iterative (1e-12°)
    for a, b in zip(POLYS, layer.geoms, strict=True):
        assert b is not None and shapely.equals_exact(_multi(a), _multi(b), tol)
        assert shapely.hausdorff_distance(a, b) <= tol


@pytest.mark.parametrize("fmt", FORMATS)
def test_points_round_trip_and_file_coordinates(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"pts.{fmt}"
    write_layer(path, columns={"code": ["a", "b", "c"]}, geoms=POINTS, geometry_type="Point",
                crs=Crs.GCJ02, layer="addresses")
    raw = read_layer(path, points=True, crs=Crs.WGS84)       # the numbers as they are in the file
    x, y = from_wgs84(Crs.GCJ02, POINTS[0].x, POINTS[0].y)
    assert raw.geoms[0] is not None and (raw.geoms[0].x, raw.geoms[0].y) == pytest.approx((x, y), abs=1e-12)
    back = read_layer(path, points=True, crs=Crs.GCJ02)
    for a, b in zip(POINTS, back.geoms, strict=True):
        assert b is not None and a.distance(b) < 1e-9


def test_shapefile_is_utf8_with_short_field_names(tmp_path: Path) -> None:
    path = tmp_path / "g.shp"
    write_layer(path, columns=COLUMNS, geoms=POLYS, geometry_type="MultiPolygon", crs=Crs.CGCS2000,
                layer="grids")
    assert path.with_suffix(".cpg").read_text().strip().upper().replace("-", "") == "UTF8"
    assert "4490" in path.with_suffix(".prj").read_text() or "China" in path.with_suffix(".prj").read_text()
    assert read_layer(path, points=False, crs=Crs.CGCS2000).rows[1]["name"] == COLUMNS["name"][1]


def test_csv_problems_are_reported_per_feature(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("code,lon,lat\na,106.97,30.82\nb,abc,30.8\nc,30.82,106.97\nd,,\n", encoding="utf-8")
    layer = read_layer(path, points=True, crs=Crs.WGS84)
    assert {p.index: p.reason for p in layer.problems}.keys() == {1, 2, 3}
    reasons = {p.index: p.reason for p in layer.problems}
    assert "not numbers" in reasons[1] and "swapped" in reasons[2]
    assert layer.geoms[0] == shapely.Point(106.97, 30.82)
    bad_wkt = tmp_path / "a.csv"
    bad_wkt.write_text('code,wkt\nx,"POLYGON((0 0, 1 0"\n', encoding="utf-8")
    assert "unreadable WKT" in read_layer(bad_wkt, points=False, crs=Crs.WGS84).problems[0].reason


def test_unreadable_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"unknown file type \.txt"):
        read_layer(tmp_path / "x.txt", points=True, crs=Crs.WGS84)
    with pytest.raises(InvalidInput, match="no such file"):
        read_layer(tmp_path / "missing.geojson", points=True, crs=Crs.WGS84)
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInput, match="cannot read it"):
        read_layer(broken, points=True, crs=Crs.WGS84)
    utm = tmp_path / "utm.geojson"
    utm.write_text('{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:32648"}},'
                   '"features":[{"type":"Feature","properties":{},"geometry":{"type":"Point",'
                   '"coordinates":[600000,3400000]}}]}', encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"EPSG:32648.*said to be in WGS84"):
        read_layer(utm, points=True, crs=Crs.WGS84)
    # without a crs the file's own declaration is used (pyproj: UTM 48N)
    pt = read_layer(utm, points=True).geoms[0]
    assert pt is not None and pt.x == pytest.approx(106.0445, abs=1e-3) and 30.7 < pt.y < 30.8
    nolon = tmp_path / "nolon.csv"
    nolon.write_text("code,x1,y1\na,1,2\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="needs lon and lat"):
        read_layer(nolon, points=True, crs=Crs.WGS84)
