"""Coordinate reference systems used by Chinese map front-ends.

Storage is WGS 84 (EPSG:4326). CGCS2000 (EPSG:4490) is treated as identical to
WGS 84: the two agree to well under a metre. AMap and Tencent use GCJ-02;
Baidu uses BD-09 (GCJ-02 plus a further offset).

"Inside China" means the rectangle lon 72.004–137.8347, lat 0.8293–55.8271
(bounds inclusive), the test used by common open-source converters. It is
coarse: it also covers parts of neighbouring countries. Outside it every
transform here is the identity. Forward transforms test their input point;
inverses test their input too (the GCJ-02 / BD-09 point). Round trips are
therefore exact (< 1e-12°) everywhere except within ~0.02° (~2 km) of the
rectangle edges, none of which is on Chinese territory.

All coordinates are (lon, lat) in degrees. Functions take floats or numpy
arrays (broadcast together) and return floats for scalar input, arrays
otherwise. Pure numpy/Shapely: nothing else from the project is imported.

Files (import, export, ``jurisgrid load``) may also be in any other system
pyproj knows — CGCS2000 Gauss–Krüger zones (EPSG:4491–4554), UTM, Web
Mercator, any EPSG code, WKT from a ``.prj`` — as a :class:`Projection`;
:func:`parse_file_crs` accepts both kinds, and the array transforms below
take either.
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

__all__ = [
    "CoordinateError",
    "Crs",
    "FileCrs",
    "Projection",
    "UnknownCrs",
    "bd09_to_gcj02",
    "check_lonlat",
    "check_lonlat_array",
    "convert",
    "from_wgs84",
    "from_wgs84_array",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "parse_file_crs",
    "to_wgs84",
    "to_wgs84_array",
    "transform_geometry",
    "wgs84_to_gcj02",
]

FloatArray = NDArray[np.float64]
T = TypeVar("T", float, FloatArray)

# GCJ-02 works on the Krasovsky 1940 ellipsoid, not on WGS 84's a = 6378137.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006

CHINA_BBOX = (72.004, 0.8293, 137.8347, 55.8271)  # lon_min, lat_min, lon_max, lat_max
_TOL = 1e-12  # degrees (about 0.1 µm); the inverses stop once the residual is below
_MAX_ITER = 30


class UnknownCrs(ValueError):
    """A CRS name that is not one of the supported systems."""


class CoordinateError(ValueError):
    """An invalid longitude/latitude; the message names the coordinate and why."""


class Crs(enum.StrEnum):
    """Supported coordinate systems (geographic lon/lat, degrees); a ``str`` subclass."""

    WGS84 = "WGS84"
    CGCS2000 = "CGCS2000"
    GCJ02 = "GCJ02"
    BD09 = "BD09"

    @property
    def is_wgs84_like(self) -> bool:
        """True for WGS84 and CGCS2000 (treated as identical)."""
        return self in (Crs.WGS84, Crs.CGCS2000)

    @classmethod
    def parse(cls, value: str) -> Crs:
        """Parse a CRS name, case-insensitively; EPSG codes 4326/4490 are accepted."""
        if isinstance(value, Crs):
            return value
        key = value.strip().lower() if isinstance(value, str) else None
        if key is not None and key in _ALIASES:
            return cls(_ALIASES[key])
        raise UnknownCrs(
            f"unknown coordinate system {value!r}; accepted values (case-insensitive): "
            + ", ".join(_ACCEPTED)
        )


_ALIASES: dict[str, str] = {
    "wgs84": "WGS84", "wgs-84": "WGS84", "epsg:4326": "WGS84", "4326": "WGS84",
    "cgcs2000": "CGCS2000", "epsg:4490": "CGCS2000", "4490": "CGCS2000",
    "gcj02": "GCJ02", "gcj-02": "GCJ02",
    "bd09": "BD09", "bd-09": "BD09",
}  # fmt: skip
_ACCEPTED = tuple(_ALIASES)


# --- array plumbing -------------------------------------------------------------------


def _prep(lon: Any, lat: Any) -> tuple[FloatArray, FloatArray, bool]:
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    scalar = x.ndim == 0 and y.ndim == 0
    x, y = np.broadcast_arrays(x, y)
    return x, y, scalar


def _out(x: FloatArray, y: FloatArray, scalar: bool) -> Any:
    return (float(x), float(y)) if scalar else (x, y)


def _in_china(x: FloatArray, y: FloatArray) -> NDArray[np.bool_]:
    lon_min, lat_min, lon_max, lat_max = CHINA_BBOX
    return (x >= lon_min) & (x <= lon_max) & (y >= lat_min) & (y <= lat_max)


def in_china(lon: Any, lat: Any) -> Any:
    """True inside the rectangle documented in the module docstring (NaN is outside)."""
    x, y, scalar = _prep(lon, lat)
    mask = _in_china(x, y)
    return bool(mask) if scalar else mask


def _apply_in_china(
    fn: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]], lon: Any, lat: Any
) -> Any:
    """Apply ``fn`` to the points inside China, identity elsewhere."""
    x, y, scalar = _prep(lon, lat)
    mask = _in_china(x, y)
    ox, oy = x.copy(), y.copy()
    if mask.any():
        ox[mask], oy[mask] = fn(x[mask], y[mask])
    return _out(ox, oy, scalar)


def _solve(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    tx: FloatArray,
    ty: FloatArray,
    gx: FloatArray,
    gy: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Fixed-point iteration for forward(p) = t from the initial guess g.

    forward is the identity plus a slowly varying offset, so p += t - forward(p)
    contracts by a factor of ~0.02 or better per step.
    """
    px, py = gx.copy(), gy.copy()
    for _ in range(_MAX_ITER):
        fx, fy = forward(px, py)
        rx, ry = tx - fx, ty - fy
        px += rx
        py += ry
        if not (np.abs(rx).max(initial=0.0) > _TOL or np.abs(ry).max(initial=0.0) > _TOL):
            break
    return px, py


# --- GCJ-02 ---------------------------------------------------------------------------


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def _wgs_to_gcj(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj_offset(x, y)
    return x + dlon, y + dlat


def _gcj_to_wgs(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj_offset(x, y)
    return _solve(_wgs_to_gcj, x, y, x - dlon, y - dlat)


def wgs84_to_gcj02(lon: T, lat: T) -> tuple[T, T]:
    """WGS 84 → GCJ-02 (identity outside China)."""
    return _apply_in_china(_wgs_to_gcj, lon, lat)


def gcj02_to_wgs84(lon: T, lat: T) -> tuple[T, T]:
    """GCJ-02 → WGS 84 by fixed-point iteration to ~1e-12° (identity outside China)."""
    return _apply_in_china(_gcj_to_wgs, lon, lat)


# --- BD-09 ----------------------------------------------------------------------------


def _gcj_to_bd(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _bd_to_gcj(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    # The usual one-step approximation (errors of a few metres) seeds the iteration.
    ux, uy = x - _BD_DLON, y - _BD_DLAT
    z = np.sqrt(ux * ux + uy * uy) - 0.00002 * np.sin(uy * _X_PI)
    theta = np.arctan2(uy, ux) - 0.000003 * np.cos(ux * _X_PI)
    return _solve(_gcj_to_bd, x, y, z * np.cos(theta), z * np.sin(theta))


def gcj02_to_bd09(lon: T, lat: T) -> tuple[T, T]:
    """GCJ-02 → BD-09 (identity outside China, like the GCJ-02 step)."""
    return _apply_in_china(_gcj_to_bd, lon, lat)


def bd09_to_gcj02(lon: T, lat: T) -> tuple[T, T]:
    """BD-09 → GCJ-02 by fixed-point iteration to ~1e-12° (identity outside China)."""
    return _apply_in_china(_bd_to_gcj, lon, lat)


# --- dispatch -------------------------------------------------------------------------


def to_wgs84(crs: Crs | str, lon: T, lat: T) -> tuple[T, T]:
    """Convert from ``crs`` into WGS 84 (the storage system)."""
    crs = Crs.parse(crs)
    if crs is Crs.GCJ02:
        return gcj02_to_wgs84(lon, lat)
    if crs is Crs.BD09:
        return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
    if type(lon) is float and type(lat) is float:  # one point (a request's): no array round trip
        return lon, lat
    x, y, scalar = _prep(lon, lat)
    return _out(x.copy(), y.copy(), scalar)


def from_wgs84(crs: Crs | str, lon: T, lat: T) -> tuple[T, T]:
    """Convert from WGS 84 into ``crs`` (for output to a front-end)."""
    crs = Crs.parse(crs)
    if crs is Crs.GCJ02:
        return wgs84_to_gcj02(lon, lat)
    if crs is Crs.BD09:
        return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))
    x, y, scalar = _prep(lon, lat)
    return _out(x.copy(), y.copy(), scalar)


def convert(src: Crs | str, dst: Crs | str, lon: T, lat: T) -> tuple[T, T]:
    """Convert between any two supported systems (GCJ-02 ↔ BD-09 directly)."""
    src, dst = Crs.parse(src), Crs.parse(dst)
    if (src, dst) == (Crs.GCJ02, Crs.BD09):
        return gcj02_to_bd09(lon, lat)
    if (src, dst) == (Crs.BD09, Crs.GCJ02):
        return bd09_to_gcj02(lon, lat)
    if src == dst or (src.is_wgs84_like and dst.is_wgs84_like):
        return to_wgs84(Crs.WGS84, lon, lat)
    return from_wgs84(dst, *to_wgs84(src, lon, lat))


def _check_coords(coords: Any) -> FloatArray:
    arr = np.asarray(coords, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"coords must have shape (n, 2), got {arr.shape}")
    return arr


def to_wgs84_array(crs: Crs | Projection | str, coords: Any) -> FloatArray:
    """(n, 2) lon/lat array in ``crs`` → new (n, 2) array in WGS 84."""
    arr = _check_coords(coords)
    if isinstance(crs, Projection):
        return crs.to_wgs84_array(arr)
    x, y = to_wgs84(crs, arr[:, 0], arr[:, 1])
    return np.column_stack((x, y))


def from_wgs84_array(crs: Crs | Projection | str, coords: Any) -> FloatArray:
    """(n, 2) lon/lat array in WGS 84 → new (n, 2) array in ``crs``."""
    arr = _check_coords(coords)
    if isinstance(crs, Projection):
        return crs.from_wgs84_array(arr)
    x, y = from_wgs84(crs, arr[:, 0], arr[:, 1])
    return np.column_stack((x, y))


def transform_geometry(geom: BaseGeometry, src: Crs | str, dst: Crs | str) -> BaseGeometry:
    """Reproject a Shapely geometry; type and Z values are preserved."""
    src, dst = Crs.parse(src), Crs.parse(dst)
    if src == dst or (src.is_wgs84_like and dst.is_wgs84_like):
        return geom

    def fn(x: FloatArray, y: FloatArray, *z: FloatArray) -> tuple[FloatArray, ...]:
        return (*convert(src, dst, x, y), *z)

    return shapely.transform(geom, fn, include_z=None, interleaved=False)


# --- any other system, through pyproj -------------------------------------------------


class Projection:
    """Any coordinate system pyproj understands (EPSG code, WKT, PROJ string), for files.

    Transforms go to and from EPSG:4326 with ``always_xy`` (x = easting/longitude first,
    whatever the system's axis order). CGCS2000-based systems reach WGS 84 through pyproj's
    null datum shift, the same "CGCS2000 = WGS 84" this module assumes everywhere. Points that
    cannot be transformed come back as ``inf``; callers check ``np.isfinite``.
    """

    is_wgs84_like = False

    def __init__(self, definition: Any) -> None:
        # pyproj is imported here, not at module level: only file loads need it, and it is
        # slow to import for the server, which never does
        import pyproj

        try:
            self.crs = pyproj.CRS.from_user_input(definition)
        except pyproj.exceptions.CRSError as exc:
            raise UnknownCrs(f"unknown coordinate system {definition!r}: {exc}") from None
        auth = self.crs.to_authority(min_confidence=90)
        self.srs: str = f"{auth[0]}:{auth[1]}" if auth else self.crs.to_wkt()
        self.name: str = (f"{self.srs} ({self.crs.name})" if auth else self.crs.name)
        self._to = pyproj.Transformer.from_crs(self.crs, 4326, always_xy=True)
        self._from = pyproj.Transformer.from_crs(4326, self.crs, always_xy=True)

    @property
    def value(self) -> str:
        """The name used in messages and reports (``Crs.value`` for the built-in systems)."""
        return self.name

    @property
    def is_geographic(self) -> bool:
        return bool(self.crs.is_geographic)

    def to_wgs84_array(self, coords: Any) -> FloatArray:
        arr = _check_coords(coords)
        x, y = self._to.transform(arr[:, 0], arr[:, 1], errcheck=False)
        return np.column_stack((np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)))

    def from_wgs84_array(self, coords: Any) -> FloatArray:
        arr = _check_coords(coords)
        x, y = self._from.transform(arr[:, 0], arr[:, 1], errcheck=False)
        return np.column_stack((np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Projection) and self.crs == other.crs

    def __hash__(self) -> int:
        return hash(self.srs)

    def __repr__(self) -> str:
        return f"Projection({self.srs!r})"


FileCrs = Crs | Projection


@functools.lru_cache(maxsize=64)
def _projection(text: str) -> Projection:
    """One :class:`Projection` per definition: building pyproj's transformers takes ~0.25 s."""
    return Projection(text)


def parse_file_crs(value: Any) -> FileCrs:
    """A file's coordinate system: one of :class:`Crs` (names, EPSG:4326/4490 — geographic
    WGS 84 and CGCS2000 stay the built-in, identical systems), or any other system pyproj
    knows (``EPSG:4545``, ``4545``, WKT, a PROJ string) as a :class:`Projection`."""
    if isinstance(value, (Crs, Projection)):
        return value
    try:
        return Crs.parse(value)
    except UnknownCrs:
        pass
    text = str(value).strip()
    if text.isdigit():
        text = f"EPSG:{text}"
    proj = _projection(text)
    if proj.srs in ("EPSG:4326", "OGC:CRS84"):
        return Crs.WGS84
    if proj.srs == "EPSG:4490":
        return Crs.CGCS2000
    return proj


# --- validation -----------------------------------------------------------------------


def _problem(name: str, value: float, limit: int) -> str | None:
    if not math.isfinite(value):
        return f"{name} {value} is not a finite number"
    if not -limit <= value <= limit:
        return f"{name} {value} is outside [-{limit}, {limit}]"
    return None


def check_lonlat(lon: float, lat: float) -> None:
    """Raise CoordinateError unless lon ∈ [-180, 180] and lat ∈ [-90, 90], both finite."""
    for name, raw, limit in (("longitude", lon, 180), ("latitude", lat, 90)):
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise CoordinateError(f"{name} {raw!r} is not a number") from None
        problem = _problem(name, value, limit)
        if problem:
            raise CoordinateError(problem)


def check_lonlat_array(coords: Any) -> None:
    """Like check_lonlat for an (n, 2) array; the message names the first bad point."""
    try:
        arr = np.asarray(coords, dtype=np.float64)
    except (TypeError, ValueError):
        raise CoordinateError("coordinates are not numeric") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise CoordinateError(f"coordinates must have shape (n, 2), got {arr.shape}")
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(arr).all(axis=1)
                & (np.abs(arr[:, 0]) <= 180) & (np.abs(arr[:, 1]) <= 90))  # fmt: skip
    if bad.any():
        i = int(np.argmax(bad))
        try:
            check_lonlat(arr[i, 0], arr[i, 1])
        except CoordinateError as exc:
            raise CoordinateError(f"point {i}: {exc}") from None
