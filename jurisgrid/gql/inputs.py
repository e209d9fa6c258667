"""Turning GraphQL filter arguments into a validated :class:`ListFilter` (WGS 84)."""

from __future__ import annotations

import math
from typing import Any

import shapely
import strawberry

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import CoordinateError, Crs, check_lonlat, to_wgs84, transform_geometry
from jurisgrid.geo.geojson import GeoJSONError, parse_geojson
from jurisgrid.models.listing import ListFilter


@strawberry.input(description="Units within a distance (metres) of a point.")
class WithinDistance:
    lon: float
    lat: float
    metres: float


def point_to_wgs84(lon: float, lat: float, crs: Crs) -> tuple[float, float]:
    try:
        check_lonlat(lon, lat)
    except CoordinateError as exc:
        raise InvalidInput(str(exc)) from None
    return to_wgs84(crs, lon, lat)


def bbox_to_wgs84(bbox: list[float], crs: Crs) -> tuple[float, float, float, float]:
    """A ``[minLon, minLat, maxLon, maxLat]`` argument, checked, in WGS 84."""
    if len(bbox) != 4:
        raise InvalidInput("bbox needs 4 numbers: [minLon, minLat, maxLon, maxLat]")
    x0, y0 = point_to_wgs84(bbox[0], bbox[1], crs)
    x1, y1 = point_to_wgs84(bbox[2], bbox[3], crs)
    if x0 > x1 or y0 > y1:
        raise InvalidInput("bbox minimum must not exceed its maximum: "
                           "[minLon, minLat, maxLon, maxLat]")
    return x0, y0, x1, y1


def geojson_to_wgs84(obj: Any, crs: Crs, what: str) -> shapely.Geometry:
    """A GeoJSON geometry argument, parsed and checked valid, in WGS 84; errors name ``what``."""
    try:
        geom = parse_geojson(obj)
    except GeoJSONError as exc:
        raise InvalidInput(f"{what}: {exc}") from None
    if not geom.is_valid:
        from shapely.validation import explain_validity

        raise InvalidInput(f"{what}: invalid geometry: {explain_validity(geom)}")
    return transform_geometry(geom, crs, Crs.WGS84)


def spatial_filter(*, bbox: list[float] | None, intersects: Any, within: WithinDistance | None,
                   crs: Crs, **rest: Any) -> ListFilter:
    f = ListFilter(**rest)
    if bbox is not None:
        f.bbox = bbox_to_wgs84(bbox, crs)
    if intersects is not None:
        f.intersects = geojson_to_wgs84(intersects, crs, "intersects")
    if within is not None:
        if not (math.isfinite(within.metres) and 0 <= within.metres <= 100_000):
            raise InvalidInput("withinDistance.metres must be from 0 to 100000")
        lon, lat = point_to_wgs84(within.lon, within.lat, crs)
        f.within = (lon, lat, within.metres)
    return f
