"""Derived geometry (docs/design.md, Invariants 2): zone and station outlines are unions of grids.

They are never edited directly; these statements recompute them, for all units or only the
ones an edit touched.
"""

from __future__ import annotations

from typing import Any

# unions snapped to the same 1e-7° precision grid the grids are drawn on, so shared edges
# dissolve exactly and no sliver survives
_ZONES = """
UPDATE zone z SET geom = u.geom
FROM (SELECT zone_id, ST_Multi(ST_Union(geom, 1e-7)) AS geom FROM grid
      {where_grid} GROUP BY zone_id) u
WHERE z.id = u.zone_id
"""
_STATIONS = """
UPDATE station s SET geom = u.geom
FROM (SELECT station_id, ST_Multi(ST_Union(geom, 1e-7)) AS geom FROM zone
      {where_zone} GROUP BY station_id) u
WHERE s.id = u.station_id
"""


def refresh_all_outlines(cur: Any) -> None:
    """Recompute every zone and station outline (DB-API cursor)."""
    cur.execute(_ZONES.format(where_grid=""))
    cur.execute(_STATIONS.format(where_zone=""))


def refresh_outlines(cur: Any, *, zone_ids: list[int], station_ids: list[int]) -> None:
    """Recompute the outlines of the given zones and stations only."""
    if zone_ids:
        cur.execute(_ZONES.format(where_grid="WHERE zone_id = ANY(%(z)s)"), {"z": zone_ids})
    if station_ids:
        cur.execute(_STATIONS.format(where_zone="WHERE station_id = ANY(%(s)s)"),
                    {"s": station_ids})
