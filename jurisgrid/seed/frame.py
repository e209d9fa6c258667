"""Local metric frame and precision constants shared by the seed generator.

The generator computes in a local equirectangular frame (metres east/north of the county
seat, scale taken at the county's mid latitude) and stores lon/lat WGS 84 snapped to
``GRID`` degrees.  Across the county (0.6° of latitude) the equirectangular area error stays
below 0.5 %, which is plenty for sizing; exactness checks compare areas with the same frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

GRID = 1e-7
"""Precision grid (degrees) every stored vertex is snapped to (about 1 cm)."""

MARGIN = 1e-6
"""Minimum distance (degrees) of a generated point from any boundary of its grid."""

EARTH_RADIUS = 6_371_008.8
QU_SEAT = (106.97, 30.84)
"""Approximate location of the seat of 渠县 (县城, 渠江街道): the common frame's origin."""

COUNTY_SEAT = QU_SEAT
"""The origin of the frame in use: the seat of the county being generated (:func:`centred_on`)."""

LAT0 = 30.94
"""Reference latitude of the frame: the middle of 渠县."""

KX = EARTH_RADIUS * math.pi / 180.0 * math.cos(math.radians(LAT0))
KY = EARTH_RADIUS * math.pi / 180.0
M2_PER_DEG2 = KX * KY

FloatArray = NDArray[np.float64]


@contextmanager
def centred_on(seat: tuple[float, float]) -> Iterator[None]:
    """Generate another county in its own frame: metres from *its* seat (the layout puts the
    街道 around the frame's origin). The scale stays ``LAT0``'s, so two frames differ by a
    translation only (:func:`offset`) and sites of several counties can be tiled together."""
    global COUNTY_SEAT
    before = COUNTY_SEAT
    COUNTY_SEAT = seat
    try:
        yield
    finally:
        COUNTY_SEAT = before


def offset(seat: tuple[float, float]) -> tuple[float, float]:
    """Metres to add to coordinates in the frame centred on ``seat`` to get the current frame's."""
    return (seat[0] - COUNTY_SEAT[0]) * KX, (seat[1] - COUNTY_SEAT[1]) * KY


def to_xy(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Lon/lat degrees → metres east/north of the county seat."""
    return (np.asarray(lon) - COUNTY_SEAT[0]) * KX, (np.asarray(lat) - COUNTY_SEAT[1]) * KY


def to_lonlat(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Metres east/north of the county seat → lon/lat degrees."""
    return np.asarray(x) / KX + COUNTY_SEAT[0], np.asarray(y) / KY + COUNTY_SEAT[1]


def _fwd(coords: FloatArray) -> FloatArray:
    x, y = to_xy(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


def _inv(coords: FloatArray) -> FloatArray:
    lon, lat = to_lonlat(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def geom_to_xy(geom: Any) -> Any:
    """Shapely geometry (or array of them) in lon/lat → local metres."""
    return shapely.transform(geom, _fwd)


def geom_to_lonlat(geom: Any) -> Any:
    """Shapely geometry (or array of them) in local metres → lon/lat."""
    return shapely.transform(geom, _inv)


def area_m2(geom: Any) -> FloatArray:
    """Area in m² of lon/lat geometries (equirectangular scale at ``LAT0``)."""
    return np.asarray(shapely.area(geom)) * M2_PER_DEG2


def km2(geom: Any) -> float:
    return float(np.sum(area_m2(geom))) / 1e6
