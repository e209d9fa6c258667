"""Helpers for the tile tests: exported data (the Shapely side of the oracle) and MVT decoding."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text

from jurisgrid.tiles.layers import tile_bounds, tile_of

R = 6378137.0
EXTENT = 4096


@dataclass
class Exported:
    grids: dict[str, dict[str, Any]]       # code -> {geom, zone_code, station_code, ...}
    addresses: dict[str, dict[str, Any]]   # code -> {lon, lat, population, households, grid_id}
    county: tuple[float, float, float, float]


@pytest.fixture(scope="module")
def exported(engine) -> Exported:  # type: ignore[no-untyped-def]
    """Grids and address points as GeoJSON / plain rows, the way a client exports them."""
    with engine.connect() as conn:
        grids = {r.code: {"geom": shapely.geometry.shape(json.loads(r.gj)), "id": r.id,
                          "zone_code": r.zone_code, "station_code": r.station_code,
                          "community_code": r.community_code}
                 for r in conn.execute(text(
                     "SELECT g.id, g.code, ST_AsGeoJSON(g.geom, 15) AS gj, z.code AS zone_code, "
                     "s.code AS station_code, c.code AS community_code FROM grid g "
                     "JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id "
                     "JOIN community c ON c.id = g.community_id"))}
        addresses = {r.code: {"lon": r.lon, "lat": r.lat, "population": r.population,
                              "households": r.households, "grid_id": r.grid_id}
                     for r in conn.execute(text(
                         "SELECT code, ST_X(geom) AS lon, ST_Y(geom) AS lat, population, households, "
                         "grid_id FROM address_point"))}
        box = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                                "FROM (SELECT ST_Extent(geom) e FROM county) q")).one()
    return Exported(grids, addresses, tuple(box))  # type: ignore[arg-type]


def decode(data: bytes) -> dict[str, Any]:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


def merc(lon: float, lat: float) -> tuple[float, float]:
    return R * math.radians(lon), R * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def tile_to_lonlat_fn(z: int, x: int, y: int):  # type: ignore[no-untyped-def]
    """Tile units (y down) -> WGS 84 lon/lat, for shapely.transform."""
    size = 2 * math.pi * R / (1 << z)
    x0 = -math.pi * R + x * size
    y0 = math.pi * R - y * size

    def fn(c: np.ndarray) -> np.ndarray:
        mx = x0 + c[:, 0] / EXTENT * size
        my = y0 - c[:, 1] / EXTENT * size
        lon = np.degrees(mx / R)
        lat = np.degrees(2 * np.arctan(np.exp(my / R)) - np.pi / 2)
        return np.column_stack([lon, lat])

    return fn


def feature_lonlat(feature: dict[str, Any], z: int, x: int, y: int) -> BaseGeometry:
    geom = shapely.geometry.shape(feature["geometry"])
    return shapely.transform(geom, tile_to_lonlat_fn(z, x, y))


def tile_box(z: int, x: int, y: int, buffer_units: float = 0.0) -> BaseGeometry:
    w, s, e, n = tile_bounds(z, x, y)
    if buffer_units:
        dx = (e - w) * buffer_units / EXTENT
        dy = (n - s) * buffer_units / EXTENT
        return shapely.box(w - dx, s - dy, e + dx, n + dy)
    return shapely.box(w, s, e, n)


def busiest_tile(exported: Exported, z: int) -> tuple[int, int]:
    """The tile at zoom z holding the most address points (somewhere with content)."""
    counts: dict[tuple[int, int], int] = {}
    for a in exported.addresses.values():
        t = tile_of(a["lon"], a["lat"], z)
        counts[t] = counts.get(t, 0) + 1
    return max(counts, key=counts.__getitem__)
