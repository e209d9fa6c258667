"""Metres and degrees: the project's one definition of both (pure, no I/O).

``METRES_PER_DEGREE`` is the length of a degree of latitude (and of longitude at the equator)
used wherever a rough conversion is enough — tolerances, simplification, prefilters, cell
sizes. Where the answer is a distance someone reads (``nearest``, distance to a boundary),
:func:`metres_per_degree` gives the ellipsoid's local scale at a latitude instead: a degree of
longitude is about 14 % shorter than a degree of latitude in Sichuan, so nearest-in-degrees is
not nearest on the ground.
"""

from __future__ import annotations

from typing import Any

import numpy as np

METRES_PER_DEGREE = 111_320.0

# WGS 84 ellipsoid
WGS84_A = 6_378_137.0
WGS84_E2 = 6.69437999014e-3
EARTH_RADIUS_M = 6_371_008.8          # mean radius (great-circle distances)


def metres_per_degree(lat: Any) -> tuple[Any, Any]:
    """(metres per degree of longitude, metres per degree of latitude) at ``lat`` (a number or
    an array): the radii of curvature of the WGS 84 ellipsoid there (prime vertical N·cos φ,
    meridional M)."""
    phi = np.radians(lat)
    w = 1.0 - WGS84_E2 * np.sin(phi) ** 2
    m_lat = np.radians(1.0) * WGS84_A * (1.0 - WGS84_E2) / w ** 1.5
    m_lon = np.radians(1.0) * WGS84_A / np.sqrt(w) * np.cos(phi)
    return m_lon, m_lat
