"""Reading and writing feature files through pyogrio (GDAL): GeoJSON, GeoPackage, Shapefile, CSV.

Files hold plain attributes plus one geometry per feature. CSV has no geometry column: points
are ``lon``/``lat`` columns, areas a ``wkt`` column (full precision); numbers in CSV are text.
Shapefiles are written UTF-8 with a ``.cpg`` so Chinese names survive; their field names are at
most 10 characters (every kind's fields are, so all formats share one set of names).

Coordinates: ``crs`` says which system a file's numbers are in — WGS84 / CGCS2000 / GCJ02 / BD09
(GCJ-02 and BD-09 files declare EPSG:4326 like everyone else) or any system pyproj knows
(:class:`~jurisgrid.geo.crs.Projection`: EPSG:4545, UTM, Web Mercator …). Left out (None), the
file's own declaration is used (a Shapefile's ``.prj``, a GeoPackage's SRS, a GeoJSON ``crs``),
and WGS84 when it has none. A file that declares a projected system contradicting an explicit
``crs`` is refused. Reading converts to WGS84; writing converts from it and declares the system.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import (
    Crs,
    FileCrs,
    Projection,
    UnknownCrs,
    from_wgs84_array,
    parse_file_crs,
    to_wgs84_array,
)

GEOGRAPHIC = {None, "", "EPSG:4326", "EPSG:4490", "OGC:CRS84"}
LON_NAMES = ("lon", "lng", "longitude", "x")
LAT_NAMES = ("lat", "latitude", "y")
WKT_NAMES = ("wkt", "geometry", "geom")


class Format(enum.StrEnum):
    GEOJSON = "GeoJSON"
    GPKG = "GPKG"
    SHP = "ESRI Shapefile"
    CSV = "CSV"

    @classmethod
    def of(cls, path: Path) -> Format:
        suffix = path.suffix.lower()
        for fmt, suffixes in _SUFFIXES.items():
            if suffix in suffixes:
                return fmt
        raise InvalidInput(f"{path.name}: unknown file type {suffix or '(none)'}; use .geojson/.json, "
                           ".gpkg, .shp or .csv")


_SUFFIXES = {Format.GEOJSON: (".geojson", ".json"), Format.GPKG: (".gpkg",), Format.SHP: (".shp",),
             Format.CSV: (".csv",)}
_SHP_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


# NUL and other control characters (tabs and line breaks too: names and codes are one line) —
# they cannot be stored (PostgreSQL refuses NUL in text) and have no place in a name
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def control_character(text: str) -> str | None:
    """The first control character of ``text`` as ``U+XXXX``, or None when there is none."""
    m = _CONTROL.search(text)
    return None if m is None else f"U+{ord(m.group()):04X}"


@dataclass
class FeatureProblem:
    """What is wrong with one feature: its 0-based index in the file, the field, the reason."""

    index: int
    reason: str
    field: str | None = None
    code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "code": self.code, "reason": self.reason}


@dataclass
class Layer:
    """Features as read: attributes by lower-cased field name, geometries in WGS84."""

    rows: list[dict[str, Any]]
    geoms: list[BaseGeometry | None]
    problems: list[FeatureProblem] = field(default_factory=list)
    crs: FileCrs | None = None      # the system the file's numbers were read in

    def __len__(self) -> int:
        return len(self.rows)


def read_layer(path: Path, *, points: bool, crs: FileCrs | None = None, layer: str | None = None,
               encoding: str | None = None) -> Layer:
    """Read every feature of the file's first layer (or ``layer``, for a GeoPackage). Features
    whose geometry cannot be read or whose coordinates are out of range get a problem (and
    geometry None) — the rest converts to WGS84. ``crs`` None: the file's own, else WGS84.
    ``encoding``: of a Shapefile's attributes when it has no ``.cpg`` (GBK/GB18030 often)."""
    import pyogrio.raw
    from pyogrio.errors import DataLayerError, DataSourceError

    fmt = Format.of(path)
    if not path.exists():
        raise InvalidInput(f"{path}: no such file")
    try:
        if fmt is Format.CSV:
            meta, _, _, data = pyogrio.raw.read(path, read_geometry=False, encoding="UTF-8")
            wkb = None
        else:
            meta, _, wkb, data = pyogrio.raw.read(path, layer=layer, datetime_as_string=True,
                                                  encoding=encoding)
    except (DataSourceError, DataLayerError) as exc:
        raise InvalidInput(f"{path.name}: cannot read it as {fmt.value}: {exc}") from None
    crs = file_crs(path.name, None if fmt is Format.CSV else meta.get("crs"), crs)
    names = [str(n).lower() for n in meta["fields"]]
    n = len(data[0]) if len(data) else (0 if wkb is None else len(wkb))
    columns = [_plain_column(col) for col in data]
    rows = [dict(zip(names, vals, strict=True)) for vals in zip(*columns, strict=True)] if columns \
        else [{} for _ in range(n)]
    out = Layer(rows=rows, geoms=[None] * n, crs=crs)
    if fmt is Format.CSV:
        _csv_geometries(out, names, points=points)
    else:
        assert wkb is not None
        _from_wkb_all(wkb, out)
    to_wgs84_layer(out, crs)
    out.problems += _nul_problems(path, fmt)
    return out


def _nul_problems(path: Path, fmt: Format) -> list[FeatureProblem]:
    """Text fields holding a NUL character, which GDAL silently cuts off there (``"a\\u0000b"``
    reads as ``"a"`` — data lost without a word). Only GeoJSON and CSV can carry one; the file
    is parsed a second time only when its bytes contain a NUL at all."""
    raw = path.read_bytes()
    found: list[tuple[int, str]] = []
    if fmt is Format.GEOJSON and b"\\u0000" in raw:
        features = json.loads(raw).get("features") or []
        found = [(i, k) for i, f in enumerate(features)
                 for k, v in ((f or {}).get("properties") or {}).items()
                 if isinstance(v, str) and "\x00" in v]
    elif fmt is Format.CSV and b"\x00" in raw:
        reader = csv.reader(io.StringIO(raw.decode("utf-8-sig", errors="replace")))
        header = [h.strip().lower() for h in next(reader, [])]
        found = [(i, header[j] if j < len(header) else str(j)) for i, row in enumerate(reader)
                 for j, v in enumerate(row) if "\x00" in v]
    return [FeatureProblem(i, f"{k} contains the control character U+0000", k) for i, k in found]


def _plain_column(col: np.ndarray) -> list[Any]:
    """A column as plain Python values (NaN → None, bytes → str), a whole column at a time."""
    if col.dtype.kind == "f":
        return [None if v != v else v for v in col.tolist()]
    if col.dtype.kind in "iub":
        return list(col.tolist())
    return [_plain(v) for v in col]


def _from_wkb_all(wkb: np.ndarray, out: Layer) -> None:
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    for i in np.flatnonzero(shapely.is_missing(geoms)):
        out.problems.append(FeatureProblem(int(i), "no geometry" if wkb[i] is None else
                                           "unreadable geometry", "geometry"))
    out.geoms = list(geoms)
    for i in np.flatnonzero(shapely.is_missing(geoms)):
        out.geoms[int(i)] = None


def file_crs(name: str, declared: str | None, crs: FileCrs | None) -> FileCrs:
    """The system a file's numbers are in: ``crs`` when given, else what the file declares
    (``declared``: pyogrio's ``EPSG:xxxx`` or WKT), else WGS84. Refuses a contradiction."""
    own: FileCrs | None = None
    if declared not in GEOGRAPHIC:
        try:
            own = parse_file_crs(declared)
        except UnknownCrs as exc:
            raise InvalidInput(f"{name}: cannot use its coordinate system: {exc}") from None
        if own.is_wgs84_like:
            own = None
    if crs is None:
        return own if own is not None else Crs.WGS84
    if own is not None and own != crs:
        raise InvalidInput(f"{name}: its coordinate system is {own.value}, but the numbers were said to be "
                           f"in {crs.value}; leave the crs out to use the file's own, or give --crs "
                           f"{own.value.split(' ')[0]}")
    return crs


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v != v:  # NaN: a null number
        return None
    if isinstance(v, bytes):
        return v.decode()
    return v


def _pick(names: list[str], wanted: tuple[str, ...]) -> str | None:
    return next((w for w in wanted if w in names), None)


def _csv_geometries(layer: Layer, names: list[str], *, points: bool) -> None:
    if points:
        lon, lat = _pick(names, LON_NAMES), _pick(names, LAT_NAMES)
        if lon is None or lat is None:
            raise InvalidInput(f"a CSV of points needs lon and lat columns (found: {', '.join(names)})")
        for i, row in enumerate(layer.rows):
            x, y = row.pop(lon), row.pop(lat)
            try:
                layer.geoms[i] = shapely.Point(float(x), float(y))
            except (TypeError, ValueError):
                layer.problems.append(FeatureProblem(i, f"lon/lat {x!r}, {y!r} are not numbers", "lon/lat"))
        return
    col = _pick(names, WKT_NAMES)
    if col is None:
        raise InvalidInput(f"a CSV of areas needs a wkt column (found: {', '.join(names)})")
    for i, row in enumerate(layer.rows):
        text = row.pop(col)
        try:
            layer.geoms[i] = shapely.from_wkt(text)
        except (shapely.errors.GEOSException, TypeError) as exc:
            layer.problems.append(FeatureProblem(i, f"unreadable WKT: {exc}", col))


def to_wgs84_layer(layer: Layer, crs: FileCrs) -> None:
    """Convert ``layer``'s geometries from ``crs`` to WGS84 in place; a feature whose numbers
    are not finite, or out of range once in degrees, gets a problem and geometry None.
    All coordinates go through one vectorised transform (a county's address points are 10⁵)."""
    bad = {p.index for p in layer.problems}
    idx = [i for i, g in enumerate(layer.geoms) if g is not None and i not in bad]
    if not idx:
        return
    arr = np.array([layer.geoms[i] for i in idx], dtype=object)
    coords, owner = shapely.get_coordinates(arr, return_index=True)
    n = len(idx)

    def per_geometry(flags: Any) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        np.logical_or.at(out, owner, flags)
        return out

    with np.errstate(invalid="ignore"):
        nonfinite = per_geometry(~np.isfinite(coords).all(axis=1))
        untransformable = np.zeros(n, dtype=bool)
        if isinstance(crs, Projection):
            coords = crs.to_wgs84_array(coords)
            untransformable = per_geometry(~np.isfinite(coords).all(axis=1)) & ~nonfinite
        lat_out = np.abs(coords[:, 1]) > 90
        lon_out = np.abs(coords[:, 0]) > 180
        out_of_range = per_geometry(lat_out | lon_out) & ~nonfinite & ~untransformable
    for k in np.flatnonzero(nonfinite | untransformable | out_of_range):
        i = idx[k]
        layer.geoms[i] = None
        if nonfinite[k]:
            layer.problems.append(FeatureProblem(i, "coordinates are not finite numbers", "geometry"))
        elif untransformable[k]:
            layer.problems.append(FeatureProblem(
                i, f"coordinates cannot be transformed from {crs.value} (outside its area of use?)",
                "geometry"))
        else:
            mine = np.flatnonzero(owner == k)
            j = mine[np.argmax(lat_out[mine])] if lat_out[mine].any() else mine[np.argmax(lon_out[mine])]
            x, y = coords[j]
            layer.problems.append(FeatureProblem(
                i, f"coordinates out of range (lon {x:g}, lat {y:g}): longitude must be within ±180 and "
                "latitude within ±90 — are lon and lat swapped?", "geometry"))
    if isinstance(crs, Crs) and not crs.is_wgs84_like:
        good = ~(nonfinite | out_of_range)[owner]
        coords = coords.copy()
        coords[good] = to_wgs84_array(crs, coords[good])
    elif not isinstance(crs, Projection):
        return
    new = shapely.transform(arr, lambda c: coords)
    for pos, i in enumerate(idx):
        if layer.geoms[i] is not None:
            layer.geoms[i] = new[pos]


def remove_existing(path: Path) -> None:
    if Format.of(path) is Format.SHP:
        for suffix in _SHP_SIDECARS:
            path.with_suffix(suffix).unlink(missing_ok=True)
    else:
        path.unlink(missing_ok=True)


def write_layer(path: Path, *, columns: dict[str, list[Any]], geoms: list[BaseGeometry],
                geometry_type: str, crs: FileCrs, layer: str) -> None:
    """Write one layer (replacing the file). ``geoms`` are WGS84; ``columns`` hold the
    attributes (str, int, float or None), one list per field, all as long as ``geoms``."""
    import pyogrio.raw

    fmt = Format.of(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_existing(path)
    arr = np.array(geoms, dtype=object)
    if not crs.is_wgs84_like and len(arr):
        arr = shapely.transform(arr, lambda c: from_wgs84_array(crs, c))
    fields = list(columns)
    data = [_column(columns[f]) for f in fields]
    srs = crs.srs if isinstance(crs, Projection) else "EPSG:4490" if crs is Crs.CGCS2000 else "EPSG:4326"
    if fmt is Format.CSV:
        if geometry_type == "Point":
            xy = shapely.get_coordinates(arr) if len(arr) else np.empty((0, 2))
            fields += ["x", "y"] if isinstance(crs, Projection) and not crs.is_geographic else ["lon", "lat"]
            data += [np.array([repr(float(v)) for v in xy[:, 0]], dtype=object),
                     np.array([repr(float(v)) for v in xy[:, 1]], dtype=object)]
        else:
            fields.append("wkt")
            data.append(np.array([shapely.to_wkt(g, rounding_precision=-1) for g in arr], dtype=object))
        pyogrio.raw.write(path, None, data, fields, driver="CSV", encoding="UTF-8", layer=layer)
        return
    options: dict[str, Any] = {}
    if fmt is Format.GEOJSON:
        options = {"SIGNIFICANT_FIGURES": 17, "COORDINATE_PRECISION": 17, "RFC7946": "NO", "WRITE_NAME": "NO"}
    pyogrio.raw.write(path, shapely.to_wkb(arr) if len(arr) else np.array([], dtype=object), data, fields,
                      driver=fmt.value, geometry_type=geometry_type, crs=srs, layer=layer,
                      encoding="UTF-8" if fmt is Format.SHP else None, layer_options=options)


def _column(values: list[Any]) -> np.ndarray:
    if values and all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int32)
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if values and all(isinstance(v, float) for v in values):
        return np.array(values, dtype=np.float64)
    return np.array([None if v is None else str(v) for v in values], dtype=object)
