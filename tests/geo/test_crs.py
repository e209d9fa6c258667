"""Tests for jurisgrid.geo.crs (WGS 84 / CGCS2000 / GCJ-02 / BD-09)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from jurisgrid.geo.crs import (
    CHINA_BBOX,
    CoordinateError,
    Crs,
    UnknownCrs,
    bd09_to_gcj02,
    check_lonlat,
    check_lonlat_array,
    convert,
    from_wgs84,
    from_wgs84_array,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    to_wgs84,
    to_wgs84_array,
    transform_geometry,
    wgs84_to_gcj02,
)

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius


def haversine_m(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres (vectorised)."""
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    h = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)  # fmt: skip
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h))


def grid(lon_min, lon_max, lat_min, lat_max, n=40):
    lon, lat = np.meshgrid(np.linspace(lon_min, lon_max, n), np.linspace(lat_min, lat_max, n))
    return lon.ravel(), lat.ravel()


CHINA_GRID = grid(73.5, 135.0, 18.0, 53.5)
QU_COUNTY_GRID = grid(106.6, 107.3, 30.6, 31.1)
OUTSIDE = [
    (2.3522, 48.8566),  # Paris
    (-122.4194, 37.7749),  # San Francisco
    (151.2093, -33.8688),  # Sydney
    (-0.1276, 51.5072),  # London
    (37.6173, 55.7558),  # Moscow (lon west of the rectangle)
]
FAMILIES = [Crs.GCJ02, Crs.BD09]


# --- reference values ---------------------------------------------------------------


def test_wgs84_to_gcj02_reference():
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.41024449916938, abs=1e-9)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)


def test_gcj02_to_bd09_reference():
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert lon == pytest.approx(116.41036949371029, abs=1e-9)
    assert lat == pytest.approx(39.92133699351021, abs=1e-9)


def test_scalars_in_scalars_out():
    out = wgs84_to_gcj02(116.404, 39.915)
    assert isinstance(out, tuple)
    assert all(type(v) is float for v in out)
    assert all(type(v) is float for v in to_wgs84(Crs.BD09, 116.4, 39.9))
    assert all(type(v) is float for v in to_wgs84(Crs.WGS84, 116, 39))


# --- round trips --------------------------------------------------------------------


@pytest.mark.parametrize("crs", FAMILIES)
@pytest.mark.parametrize("points", [CHINA_GRID, QU_COUNTY_GRID], ids=["china", "qu_county"])
def test_round_trip_grid(crs, points):
    lon, lat = points
    assert in_china(lon, lat).all()
    x, y = from_wgs84(crs, lon, lat)
    back_lon, back_lat = to_wgs84(crs, x, y)
    assert haversine_m(lon, lat, back_lon, back_lat).max() < 1.0
    # The iterative inverse is far better than a metre (one-step schemes are ~1-10 m off).
    assert np.abs(back_lon - lon).max() < 1e-9
    assert np.abs(back_lat - lat).max() < 1e-9


def test_gcj_bd_round_trip_grid():
    lon, lat = CHINA_GRID
    back = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert np.abs(back[0] - lon).max() < 1e-9
    assert np.abs(back[1] - lat).max() < 1e-9


@settings(max_examples=300, deadline=None)
@given(
    lon=st.floats(73.0, 135.0, allow_nan=False),
    lat=st.floats(3.0, 54.0, allow_nan=False),
    crs=st.sampled_from(FAMILIES),
)
def test_round_trip_property(lon, lat, crs):
    x, y = from_wgs84(crs, lon, lat)
    back_lon, back_lat = to_wgs84(crs, x, y)
    assert haversine_m(lon, lat, back_lon, back_lat) < 1.0
    assert abs(back_lon - lon) < 1e-9
    assert abs(back_lat - lat) < 1e-9


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(-180.0, 180.0, allow_nan=False),
    lat=st.floats(-90.0, 90.0, allow_nan=False),
    crs=st.sampled_from(list(Crs)),
)
def test_inside_or_identity_property(lon, lat, crs):
    x, y = from_wgs84(crs, lon, lat)
    if not in_china(lon, lat):
        assert (x, y) == (lon, lat)
    else:
        assert haversine_m(lon, lat, x, y) < 2_000.0  # offsets are at most a few hundred m


# --- offsets ------------------------------------------------------------------------


def test_gcj02_offset_in_qu_county():
    lon, lat = QU_COUNTY_GRID
    gx, gy = wgs84_to_gcj02(lon, lat)
    offset = haversine_m(lon, lat, gx, gy)
    assert offset.min() > 100.0
    assert offset.max() < 700.0


def test_bd09_differs_from_gcj02():
    lon, lat = QU_COUNTY_GRID
    gx, gy = wgs84_to_gcj02(lon, lat)
    bx, by = gcj02_to_bd09(gx, gy)
    assert haversine_m(gx, gy, bx, by).min() > 100.0


# --- outside China ------------------------------------------------------------------


@pytest.mark.parametrize(("lon", "lat"), OUTSIDE)
def test_identity_outside_china(lon, lat):
    assert not in_china(lon, lat)
    for fn in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02):
        assert fn(lon, lat) == (lon, lat)
    for crs in Crs:
        assert from_wgs84(crs, lon, lat) == (lon, lat)
        assert to_wgs84(crs, lon, lat) == (lon, lat)


def test_in_china_bbox_is_inclusive_and_types():
    lon_min, lat_min, lon_max, lat_max = CHINA_BBOX
    assert in_china(lon_min, lat_min) is True
    assert in_china(lon_max, lat_max) is True
    assert in_china(lon_min - 1e-6, 30.0) is False
    assert in_china(100.0, lat_max + 1e-6) is False
    mask = in_china(np.array([106.8, 2.35, np.nan]), np.array([30.8, 48.85, 30.0]))
    assert mask.tolist() == [True, False, False]


def test_mixed_array_only_transforms_points_in_china():
    lon = np.array([2.3522, 106.8, -122.4194])
    lat = np.array([48.8566, 30.8, 37.7749])
    x, y = wgs84_to_gcj02(lon, lat)
    assert (x[[0, 2]] == lon[[0, 2]]).all()
    assert (y[[0, 2]] == lat[[0, 2]]).all()
    assert x[1] != lon[1]
    assert y[1] != lat[1]


# --- vectorisation ------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn", [wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02], ids=lambda f: f.__name__
)
def test_vectorised_equals_scalar(fn):
    lon, lat = grid(100.0, 120.0, 20.0, 45.0, n=7)
    lon = np.append(lon, [2.3522, 106.85])
    lat = np.append(lat, [48.8566, 30.83])
    vx, vy = fn(lon, lat)
    assert vx.shape == lon.shape
    for i in range(lon.size):
        sx, sy = fn(float(lon[i]), float(lat[i]))
        assert sx == pytest.approx(vx[i], abs=1e-12)
        assert sy == pytest.approx(vy[i], abs=1e-12)


def test_vectorised_preserves_shape_and_inputs():
    lon, lat = np.full((3, 4), 106.8), np.full((3, 4), 30.8)
    x, y = to_wgs84(Crs.BD09, lon, lat)
    assert x.shape == y.shape == (3, 4)
    assert (lon == 106.8).all()  # inputs not modified in place
    x2, y2 = from_wgs84(Crs.GCJ02, np.array([106.8, 106.9]), np.array(30.8))  # broadcast
    assert x2.shape == y2.shape == (2,)


def test_array_helpers():
    coords = np.column_stack(QU_COUNTY_GRID)
    bd = from_wgs84_array(Crs.BD09, coords)
    assert bd.shape == coords.shape
    back = to_wgs84_array(Crs.BD09, bd)
    assert np.abs(back - coords).max() < 1e-9
    ident = to_wgs84_array("EPSG:4490", coords)
    assert np.array_equal(ident, coords)
    assert ident is not coords
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        to_wgs84_array(Crs.GCJ02, np.zeros((3, 3)))


def test_convert_direct_gcj_bd_matches_via_wgs():
    lon, lat = QU_COUNTY_GRID
    direct = convert(Crs.GCJ02, Crs.BD09, lon, lat)
    via = from_wgs84(Crs.BD09, *to_wgs84(Crs.GCJ02, lon, lat))
    assert np.abs(direct[0] - via[0]).max() < 1e-9
    assert np.abs(direct[1] - via[1]).max() < 1e-9


# --- geometries ---------------------------------------------------------------------

QU_POLYGON = Polygon(
    [(106.7, 30.7), (107.2, 30.7), (107.2, 31.0), (106.7, 31.0)],
    holes=[[(106.9, 30.8), (107.0, 30.8), (107.0, 30.9)]],
)


@pytest.mark.parametrize("crs", FAMILIES)
def test_transform_polygon_round_trip(crs):
    out = transform_geometry(QU_POLYGON, Crs.WGS84, crs)
    assert isinstance(out, Polygon)
    assert len(out.interiors) == 1
    assert not shapely.equals_exact(out, QU_POLYGON, tolerance=1e-4)  # really moved
    back = transform_geometry(out, crs, Crs.CGCS2000)
    assert isinstance(back, Polygon)
    assert shapely.equals_exact(back, QU_POLYGON, tolerance=1e-9)
    expected = np.column_stack(from_wgs84(crs, *np.asarray(QU_POLYGON.exterior.coords).T))
    assert np.allclose(np.asarray(out.exterior.coords), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "geom",
    [
        Point(106.8, 30.8),
        LineString([(106.7, 30.7), (107.1, 31.0)]),
        MultiPolygon([QU_POLYGON, Polygon([(106.6, 30.6), (106.65, 30.6), (106.6, 30.65)])]),
    ],
    ids=lambda g: g.geom_type,
)
def test_transform_geometry_types(geom):
    out = transform_geometry(geom, "gcj-02", "bd-09")
    assert out.geom_type == geom.geom_type
    back = transform_geometry(out, Crs.BD09, Crs.GCJ02)
    assert shapely.equals_exact(back, geom, tolerance=1e-9)


def test_transform_geometry_keeps_z_and_identity_fast_path():
    p = Point(106.8, 30.8, 250.0)
    out = transform_geometry(p, Crs.WGS84, Crs.GCJ02)
    assert out.has_z
    assert out.z == 250.0
    assert transform_geometry(QU_POLYGON, Crs.WGS84, Crs.CGCS2000) is QU_POLYGON
    assert transform_geometry(QU_POLYGON, Crs.BD09, Crs.BD09) is QU_POLYGON


# --- Crs.parse ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wgs84", Crs.WGS84), ("WGS84", Crs.WGS84), ("EPSG:4326", Crs.WGS84),
        ("epsg:4326", Crs.WGS84), ("4326", Crs.WGS84), (" wgs84 ", Crs.WGS84),
        ("cgcs2000", Crs.CGCS2000), ("CGCS2000", Crs.CGCS2000), ("EPSG:4490", Crs.CGCS2000),
        ("gcj02", Crs.GCJ02), ("GCJ-02", Crs.GCJ02), ("gcj-02", Crs.GCJ02),
        ("bd09", Crs.BD09), ("BD-09", Crs.BD09), ("bd-09", Crs.BD09),
        (Crs.BD09, Crs.BD09),
    ],
)  # fmt: skip
def test_parse_aliases(text, expected):
    assert Crs.parse(text) is expected


@pytest.mark.parametrize("bad", ["EPSG:3857", "3857", "", "wgs", "mercator", None, 4326])
def test_parse_rejects(bad):
    with pytest.raises(UnknownCrs, match="accepted values") as info:
        Crs.parse(bad)
    assert isinstance(info.value, ValueError)
    assert "gcj-02" in str(info.value)


def test_crs_is_str():
    assert Crs.GCJ02 == "GCJ02"
    assert str(Crs.GCJ02) == "GCJ02"
    with pytest.raises(UnknownCrs):
        to_wgs84("EPSG:3857", 1.0, 2.0)


# --- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "lat", "message"),
    [
        (math.nan, 30.0, "longitude nan is not a finite number"),
        (106.0, math.nan, "latitude nan is not a finite number"),
        (math.inf, 30.0, "longitude inf is not a finite number"),
        (106.0, -math.inf, "latitude -inf is not a finite number"),
        (181.0, 30.0, r"longitude 181.0 is outside \[-180, 180\]"),
        (-180.5, 30.0, r"longitude -180.5 is outside \[-180, 180\]"),
        (106.0, -91.0, r"latitude -91.0 is outside \[-90, 90\]"),
        (106.0, 95, r"latitude 95.0 is outside \[-90, 90\]"),
        ("abc", 30.0, "longitude 'abc' is not a number"),
        (106.0, None, "latitude None is not a number"),
    ],
)
def test_check_lonlat_rejects(lon, lat, message):
    with pytest.raises(CoordinateError, match=f"^{message}$"):
        check_lonlat(lon, lat)


@pytest.mark.parametrize(("lon", "lat"), [(180, 90), (-180, -90), (180.0, -90.0), (0, 0)])
def test_check_lonlat_accepts_boundaries(lon, lat):
    check_lonlat(lon, lat)


def test_check_lonlat_array():
    coords = np.column_stack(grid(-180.0, 180.0, -90.0, 90.0, n=5))
    check_lonlat_array(coords)
    check_lonlat_array(np.empty((0, 2)))
    coords[17] = (10.0, 95.0)
    coords[20] = (np.nan, 0.0)
    with pytest.raises(CoordinateError, match=r"^point 17: latitude 95.0 is outside \[-90, 90\]$"):
        check_lonlat_array(coords)
    coords[3] = (np.inf, 0.0)
    with pytest.raises(CoordinateError, match=r"^point 3: longitude inf is not a finite number$"):
        check_lonlat_array(coords)
    with pytest.raises(CoordinateError, match=r"shape \(n, 2\)"):
        check_lonlat_array(np.zeros(4))
    with pytest.raises(CoordinateError, match="not numeric"):
        check_lonlat_array([["a", "b"]])
