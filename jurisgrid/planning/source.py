"""Read a scope's grids from the database into a ``UnitSet`` (the one adapter of ``planning``).

Per grid: geometry, population and households from the per-grid rollup ``sizing_grid_stats``
(summed from the address points), incidents counted per grid over the stored memberships (total
and per category, optionally in a window), the community code (the village key), zone and station
codes; per zone its station, per station its seat. Three plain statements; no spatial work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import shapely
from sqlalchemy import Connection

from jurisgrid.analytics.report import resolve_window
from jurisgrid.errors import NotFound
from jurisgrid.models import aggregates as agg
from jurisgrid.models.aggregates import check_window
from jurisgrid.models.plan_source import under
from jurisgrid.models.policy import current_policy
from jurisgrid.models.source import LIVE, Source
from jurisgrid.planning.compare import Alternative, Context
from jurisgrid.planning.geometry import rook_adjacency
from jurisgrid.planning.staffing import ZoneInfo
from jurisgrid.planning.units import UnitSet

_GRIDS = """
SELECT g.code, ST_AsBinary(g.geom) AS wkb, c.code AS community, z.code AS zone, st.code AS station,
       coalesce(s.population, 0) AS population, coalesce(s.households, 0) AS households
FROM grid g
JOIN community c ON c.id = g.community_id
JOIN zone z ON z.id = g.zone_id
JOIN station st ON st.id = z.station_id
LEFT JOIN sizing_grid_stats s ON s.grid_id = g.id
WHERE %(station)s::text IS NULL OR st.code = %(station)s::text
ORDER BY g.code
"""
_INCIDENTS = """
SELECT g.code, i.category, count(*) AS n
FROM incident i
JOIN grid g ON g.id = i.grid_id
JOIN zone z ON z.id = g.zone_id
JOIN station st ON st.id = z.station_id
WHERE (%(station)s::text IS NULL OR st.code = %(station)s::text)
  AND (%(since)s::timestamptz IS NULL OR i.occurred_at >= %(since)s::timestamptz)
  AND (%(until)s::timestamptz IS NULL OR i.occurred_at < %(until)s::timestamptz)
GROUP BY g.code, i.category
"""
_ZONES = """
SELECT z.id, z.code, z.name, z.kind, z.has_office, st.code AS station FROM zone z
JOIN station st ON st.id = z.station_id
WHERE %(station)s::text IS NULL OR st.code = %(station)s::text
ORDER BY z.code
"""
_SEATS = """
SELECT st.code, ST_X(st.seat), ST_Y(st.seat) FROM station st
WHERE (%(station)s::text IS NULL OR st.code = %(station)s::text) AND st.seat IS NOT NULL
"""


@dataclass(frozen=True)
class Scope:
    """A scope's units with today's assignment: ``zone[i]``/``station[i]`` of unit ``i``."""

    units: UnitSet
    zone: tuple[str, ...]
    station: tuple[str, ...]
    zone_station: dict[str, str]
    seats: dict[str, tuple[float, float]]  # station → lon/lat

    def zone_seats(self) -> dict[str, tuple[float, float]]:
        """Each zone's seat: its station's."""
        return {z: self.seats[s] for z, s in self.zone_station.items() if s in self.seats}


def read_scope(
    conn: Connection,
    station: str | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    source: Source = LIVE,
) -> Scope:
    """Grids of ``station`` (a station code) or of the whole county (``None``). Measures:
    ``population``, ``households``, ``incidents`` and ``incidents.<CATEGORY>`` per category.
    ``source``: live, or a plan (its grids and their memberships: models/plan_source.under)."""
    check_window(since, until)
    params = {"station": station, "since": since, "until": until, **source.sql_args()}
    rows = conn.exec_driver_sql(under(_GRIDS, source), params).all()
    if not rows:
        raise NotFound(f"no grids for station {station}" if station else "no grids")
    codes = tuple(r.code for r in rows)
    pos = {c: i for i, c in enumerate(codes)}
    measures: dict[str, np.ndarray] = {
        "population": np.array([float(r.population) for r in rows]),
        "households": np.array([float(r.households) for r in rows]),
        "incidents": np.zeros(len(rows)),
    }
    for code, category, n in conn.exec_driver_sql(under(_INCIDENTS, source), params):
        key = f"incidents.{category}"
        measures.setdefault(key, np.zeros(len(rows)))[pos[code]] += n
        measures["incidents"][pos[code]] += n
    seats = {c: (float(x), float(y)) for c, x, y in conn.exec_driver_sql(under(_SEATS, source), params)}
    units = UnitSet(
        codes,
        shapely.from_wkb([bytes(r.wkb) for r in rows]),
        measures,
        village=tuple(r.community for r in rows),
    )
    return Scope(units, tuple(r.zone for r in rows), tuple(r.station for r in rows),
                 {r.zone: r.station for r in rows}, seats)


def read_zones(conn: Connection, station: str | None = None) -> dict[str, ZoneInfo]:
    """Every zone of ``station`` (or of the county) — with no grids too, as an empty district
    counts in the ideal — with its attributes and the officers assigned to it now."""
    rows = list(conn.exec_driver_sql(_ZONES, {"station": station}).mappings())
    if not rows:
        raise NotFound(f"no zones for station {station}" if station else "no zones")
    staff = agg.personnel(conn, "zone", [r["id"] for r in rows])
    return {r["code"]: ZoneInfo(r["code"], r["name"], r["station"], r["kind"], bool(r["has_office"]),
                                staff[r["id"]].officers, staff[r["id"]].community_officers)
            for r in rows}


def live_alternative(scope: Scope, zones: dict[str, ZoneInfo]) -> Alternative:
    """Today's assignment of the scope's grids, as an alternative."""
    return Alternative("live", "live", dict(zip(scope.units.codes, scope.zone, strict=True)), zones)


def read_context(conn: Connection, station: str | None = None, *, since: datetime | None = None,
                 until: datetime | None = None) -> Context:
    """What evaluating plans of ``station`` (or the county) needs: its grids with incidents in
    the window (missing ends: the policy's default window, as ``sizingReport``), its zones, the
    current policy, and today's assignment as the base."""
    pv = current_policy(conn)
    window = resolve_window(conn, pv.policy, since, until)
    scope = read_scope(conn, station, since=window.since, until=window.until)
    zones = read_zones(conn, station)
    return Context(scope.units, rook_adjacency(scope.units.geoms), pv.policy, pv.version, window.since,
                   window.until, window.days, scope.seats, live_alternative(scope, zones), station)
