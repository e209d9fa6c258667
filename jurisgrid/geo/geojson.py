"""GeoJSON in and geometry out: parsing with clear errors, formatting with crs and precision."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from jurisgrid.geo.crs import Crs, transform_geometry
from jurisgrid.geo.earth import METRES_PER_DEGREE

GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                  "MultiPolygon", "GeometryCollection")


class GeoJSONError(ValueError):
    """The input is not a GeoJSON geometry; the message says what is wrong and where."""


def _check_positions(coords: Any, path: str) -> None:
    if isinstance(coords, (int, float)) and not isinstance(coords, bool):
        return
    if not isinstance(coords, list):
        raise GeoJSONError(f"{path}: expected an array, got {type(coords).__name__}")
    if coords and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in coords):
        if len(coords) < 2:
            raise GeoJSONError(f"{path}: a position needs at least 2 numbers")
        if not all(math.isfinite(c) for c in coords):
            raise GeoJSONError(f"{path}: positions must be finite numbers")
        return
    for i, c in enumerate(coords):
        _check_positions(c, f"{path}[{i}]")


def parse_geojson(obj: Any) -> BaseGeometry:
    """A GeoJSON geometry (or Feature) as a dict → Shapely. Raises :class:`GeoJSONError`."""
    if isinstance(obj, str):
        raise GeoJSONError("expected a GeoJSON object, got a string (send JSON, not text)")
    if not isinstance(obj, dict):
        raise GeoJSONError(f"expected a GeoJSON object, got {type(obj).__name__}")
    if obj.get("type") == "Feature":
        obj = obj.get("geometry")
        if not isinstance(obj, dict):
            raise GeoJSONError("Feature has no geometry object")
    gtype = obj.get("type")
    if gtype not in GEOMETRY_TYPES:
        raise GeoJSONError(f"unknown GeoJSON geometry type {gtype!r}; expected one of "
                           + ", ".join(GEOMETRY_TYPES))
    if gtype == "GeometryCollection":
        parts = obj.get("geometries")
        if not isinstance(parts, list):
            raise GeoJSONError("GeometryCollection needs a 'geometries' array")
        return shapely.GeometryCollection([parse_geojson(p) for p in parts])
    if "coordinates" not in obj:
        raise GeoJSONError(f"{gtype} has no 'coordinates'")
    _check_positions(obj["coordinates"], "coordinates")
    try:
        import json

        geom = shapely.from_geojson(json.dumps(obj))
    except Exception as exc:  # GEOS' reader: unclosed rings, too few points, nesting errors
        raise GeoJSONError(f"invalid {gtype}: {exc}") from exc
    return geom


def simplify_tolerance_deg(*, metres: float | None = None, zoom: int | None = None,
                           lat: float = 30.0) -> float:
    """Simplification tolerance in degrees, from metres or from a web-map zoom level
    (half a pixel of a 256-px tile at that zoom and latitude)."""
    if zoom is not None:
        metres = 156_543.03392 * math.cos(math.radians(lat)) / (2 ** zoom) / 2
    if not metres:
        return 0.0
    return metres / METRES_PER_DEGREE


def _round(geom: BaseGeometry, precision: int) -> BaseGeometry:
    return shapely.transform(geom, lambda c: np.round(c, precision))


def format_geometry(geom: BaseGeometry, *, fmt: str = "GEOJSON", crs: Crs = Crs.WGS84,
                    precision: int | None = None) -> Any:
    """Output a geometry in a crs (from WGS 84) as a GeoJSON dict or WKT string."""
    if crs not in (Crs.WGS84, Crs.CGCS2000):
        geom = transform_geometry(geom, Crs.WGS84, crs)
    if precision is not None:
        geom = _round(geom, precision)
    if fmt == "WKT":
        return shapely.to_wkt(geom, rounding_precision=-1 if precision is None else precision,
                              trim=True)
    return shapely.geometry.mapping(geom)
