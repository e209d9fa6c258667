"""Aggregates per unit at every level (docs/design.md, Performance principles): plain GROUP BY
over the stored memberships (``address_point.grid_id``, ``incident.grid_id``,
``grid.zone_id``/``community_id``) and the
per-grid rollup ``sizing_grid_stats`` (migration 0002) — no spatial join at query time.

Every function takes a batch of unit ids of one level and answers ``{unit_id: ...}`` in one
statement, so the GraphQL DataLoaders cost one statement per level and kind of figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from jurisgrid.errors import InvalidInput
from jurisgrid.models.plan_source import under
from jurisgrid.models.source import LIVE, Source
from jurisgrid.models.sqlfiles import sql_text

# level → (unit id of a grid, joins from grid g to reach it)
GRID_KEYS: dict[str, tuple[str, str]] = {
    "grid": ("g.id", ""),
    "community": ("g.community_id", ""),
    "township": ("c.township_id", "JOIN community c ON c.id = g.community_id"),
    "zone": ("g.zone_id", ""),
    "station": ("z.station_id", "JOIN zone z ON z.id = g.zone_id"),
    "sector": ("st.sector_id", "JOIN zone z ON z.id = g.zone_id JOIN station st ON st.id = z.station_id"),
    "county": (
        "sc.county_id",
        "JOIN zone z ON z.id = g.zone_id JOIN station st ON st.id = z.station_id "
        "JOIN sector sc ON sc.id = st.sector_id",
    ),
}
# level → (unit id of an assignment, joins from assignment a to reach it)
ASSIGNMENT_KEYS: dict[str, tuple[str, str]] = {
    "grid": ("a.grid_id", ""),
    "community": ("a.community_id", ""),
    "township": ("c.township_id", "JOIN community c ON c.id = a.community_id"),
    "zone": ("a.zone_id", ""),
    "station": ("a.station_id", ""),
    "sector": ("st.sector_id", "JOIN station st ON st.id = a.station_id"),
    "county": (
        "sc.county_id",
        "JOIN station st ON st.id = a.station_id JOIN sector sc ON sc.id = st.sector_id",
    ),
}
# levels served by the zone rollup sizing_zone_incidents: level → (unit id of a zone r, joins)
ZONE_KEYS: dict[str, tuple[str, str]] = {
    "zone": ("d.zone_id", ""),
    "station": ("z.station_id", "JOIN zone z ON z.id = d.zone_id"),
    "sector": ("st.sector_id", "JOIN zone z ON z.id = d.zone_id JOIN station st ON st.id = z.station_id"),
    "county": (
        "sc.county_id",
        "JOIN zone z ON z.id = d.zone_id JOIN station st ON st.id = z.station_id "
        "JOIN sector sc ON sc.id = st.sector_id",
    ),
}
LEVELS = tuple(GRID_KEYS)
INTERVALS = ("month", "week")

# level → the time zone of each unit's county (through its parents, as models/county_scope.py
# has it: the administrative chain for grids, communities and townships, the policing chain for
# zones, stations and sectors) — the local calendar of the unit's month and week series
_TZ_CHAINS: dict[str, str] = {
    "grid": "FROM grid u JOIN community c ON c.id = u.community_id "
            "JOIN township t ON t.id = c.township_id JOIN county cy ON cy.id = t.county_id",
    "community": "FROM community u JOIN township t ON t.id = u.township_id "
                 "JOIN county cy ON cy.id = t.county_id",
    "township": "FROM township u JOIN county cy ON cy.id = u.county_id",
    "zone": "FROM zone u JOIN station s ON s.id = u.station_id JOIN sector sc ON sc.id = s.sector_id "
            "JOIN county cy ON cy.id = sc.county_id",
    "station": "FROM station u JOIN sector sc ON sc.id = u.sector_id "
               "JOIN county cy ON cy.id = sc.county_id",
    "sector": "FROM sector u JOIN county cy ON cy.id = u.county_id",
    "county": "FROM county u JOIN county cy ON cy.id = u.id",
}


@cache
def _sql(name: str, level: str) -> str:
    if level not in GRID_KEYS:
        raise InvalidInput(f"unknown level {level!r}; one of {', '.join(LEVELS)}")
    text = sql_text(f"aggregates_{name}.sql")
    key, joins = GRID_KEYS[level]
    akey, ajoins = ASSIGNMENT_KEYS[level]
    zkey, zjoins = ZONE_KEYS.get(level, ("", ""))
    return text.format(key=key, joins=joins, akey=akey, ajoins=ajoins, zkey=zkey, zjoins=zjoins)


@dataclass
class AddressStats:
    grids: int = 0
    addresses: int = 0
    households: int = 0
    population: int = 0
    houses: int = 0
    units: int = 0
    area_m2: float = 0.0

    @property
    def area_km2(self) -> float:
        return self.area_m2 / 1e6

    @property
    def density(self) -> float | None:
        """Residents per km²."""
        return self.population / self.area_km2 if self.area_m2 > 0 else None


@dataclass
class Personnel:
    officers: int = 0
    community_officers: int = 0
    auxiliaries: int = 0
    grid_workers: int = 0


@dataclass
class IncidentCounts:
    by_category: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_category.values())


def _rows(conn: Connection, name: str, level: str, params: dict[str, Any],
          source: Source = LIVE) -> list[Any]:
    """The statement ``name`` at ``level``, reading the unit tables under ``source`` (live, or a
    plan: models/plan_source.under, with the memberships under a plan that reshapes grids)."""
    if source == LIVE:
        return list(conn.exec_driver_sql(_sql(name, level), params).mappings())
    return list(conn.exec_driver_sql(under(_sql(name, level), source),
                                     {**params, **source.sql_args()}).mappings())


def address_stats(conn: Connection, level: str, ids: Iterable[int], *,
                  source: Source = LIVE) -> dict[int, AddressStats]:
    ids = sorted(set(ids))
    out = {i: AddressStats() for i in ids}
    for r in _rows(conn, "address", level, {"ids": ids}, source):
        out[r["unit_id"]] = AddressStats(
            grids=r["grids"],
            addresses=int(r["addresses"]),
            households=int(r["households"]),
            population=int(r["population"]),
            houses=int(r["houses"]),
            units=int(r["units"]),
            area_m2=float(r["area_m2"]),
        )
    return out


def personnel(conn: Connection, level: str, ids: Iterable[int], *,
              source: Source = LIVE) -> dict[int, Personnel]:
    ids = sorted(set(ids))
    out = {i: Personnel() for i in ids}
    for r in _rows(conn, "officers", level, {"ids": ids}, source):
        out[r["unit_id"]] = Personnel(
            r["officers"], r["community_officers"], r["auxiliaries"], r["grid_workers"]
        )
    return out


def check_window(since: datetime | None, until: datetime | None) -> None:
    for name, t in (("since", since), ("until", until)):
        if t is not None and t.tzinfo is None:
            raise InvalidInput(f"{name} needs a time zone (e.g. 2026-01-01T00:00:00+08:00)")
    if since is not None and until is not None and since >= until:
        raise InvalidInput(f"since ({since.isoformat()}) must be before until ({until.isoformat()})")


def _month_floor(t: datetime, tz: ZoneInfo) -> datetime:
    return t.astimezone(tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(m: datetime) -> datetime:
    return (m + timedelta(days=32)).replace(day=1)


def rollup_split(since: datetime | None, until: datetime | None, time_zone: str) -> dict[str, Any]:
    """Parameters of the zone-rollup statements: the full local months inside [since, until)
    (``full_start``/``full_end``, None = open) and the partial ranges at either end."""
    tz = ZoneInfo(time_zone)
    fs = (
        None
        if since is None
        else (since if _month_floor(since, tz) == since else _next_month(_month_floor(since, tz)))
    )
    fe = None if until is None else _month_floor(until, tz)
    p: dict[str, Any] = {
        "use_rollup": True,
        "full_start": fs,
        "full_end": fe,
        "a0": None,
        "a1": None,
        "b0": None,
        "b1": None,
    }
    if fs is not None and fe is not None and fs >= fe:  # inside one month: incidents only
        p.update(use_rollup=False, a0=since, a1=until)
        return p
    if since is not None and fs != since:
        p.update(a0=since, a1=fs)
    if until is not None and fe != until:
        p.update(b0=fe, b1=until)
    return p


def rollup_time_zone(conn: Connection) -> str:
    return conn.exec_driver_sql("SELECT time_zone FROM sizing_settings").scalar_one()


def incident_counts(
    conn: Connection,
    level: str,
    ids: Iterable[int],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    source: Source = LIVE,
) -> dict[int, IncidentCounts]:
    """Incidents per unit and category in [since, until) (either bound may be open). Under a
    plan, counted per grid (the per-zone rollup is of the live zones)."""
    check_window(since, until)
    ids = sorted(set(ids))
    out = {i: IncidentCounts() for i in ids}
    if level in ZONE_KEYS and source == LIVE:
        params = {"ids": ids, **rollup_split(since, until, rollup_time_zone(conn))}
        rows = _rows(conn, "zone_incidents", level, params)
    else:
        rows = _rows(conn, "incidents", level, {"ids": ids, "since": since, "until": until},
                     source)
    for r in rows:
        out[r["unit_id"]].by_category[r["category"]] = int(r["n"])
    return out


def incident_series(
    conn: Connection,
    level: str,
    ids: Iterable[int],
    *,
    interval: str,
    time_zone: str,
    since: datetime | None = None,
    until: datetime | None = None,
    source: Source = LIVE,
) -> dict[int, list[tuple[datetime, int]]]:
    """Incidents per unit and calendar month or ISO week, periods without incidents left out.
    ``start`` is the local start of the period.

    The calendar is the unit's county's (``county.time_zone``: a deployment may span time
    zones — San Francisco beside 达州), ``time_zone`` (the sizing policy's) where the unit's
    county is not known. One statement per time zone among the units; the zone rollup (kept in
    the policy's calendar, migration 0002) serves the months of the units that share it."""
    if interval not in INTERVALS:
        raise InvalidInput(f"interval must be one of {', '.join(INTERVALS)}, got {interval!r}")
    check_window(since, until)
    ids = sorted(set(ids))
    out: dict[int, list[tuple[datetime, int]]] = {i: [] for i in ids}
    zones = unit_time_zones(conn, level, ids, source=source)
    groups: dict[str, list[int]] = {}
    for i in ids:
        groups.setdefault(zones.get(i) or time_zone, []).append(i)
    rollup = rollup_time_zone(conn) if level in ZONE_KEYS and source == LIVE else None
    for tz, group in sorted(groups.items()):
        params = {"ids": group, "since": since, "until": until, "interval": interval, "tz": tz}
        if interval == "month" and rollup == tz:
            params.update(rollup_split(since, until, tz))
            rows = _rows(conn, "zone_series", level, params)
        else:
            rows = _rows(conn, "series", level, params, source)
        for r in rows:
            out[r["unit_id"]].append((r["start"], int(r["n"])))
    return out


def unit_time_zones(conn: Connection, level: str, ids: Iterable[int], *,
                    source: Source = LIVE) -> dict[int, str]:
    """The time zone of each unit's county (units without one are left out), read under
    ``source`` (a plan's own units included)."""
    if level not in _TZ_CHAINS:
        raise InvalidInput(f"unknown level {level!r}; one of {', '.join(LEVELS)}")
    sql = f"SELECT u.id, cy.time_zone {_TZ_CHAINS[level]} WHERE u.id = ANY(%(ids)s)"
    params: dict[str, Any] = {"ids": sorted(set(ids))}
    if source != LIVE:
        sql, params = under(sql, source), {**params, **source.sql_args()}
    return {int(i): str(tz) for i, tz in conn.exec_driver_sql(sql, params)}


def incident_window(conn: Connection) -> tuple[datetime | None, datetime | None]:
    """The first and last incident time stored."""
    row = conn.exec_driver_sql("SELECT min(occurred_at), max(occurred_at) FROM incident").one()
    return row[0], row[1]


def unit_ids(conn: Connection, level: str, *, code: str | None = None) -> dict[str, int]:
    """Code → id of every unit of a level (or just the one with ``code``)."""
    if level not in GRID_KEYS:
        raise InvalidInput(f"unknown level {level!r}; one of {', '.join(LEVELS)}")
    sql = f"SELECT code, id FROM {level}" + (" WHERE code = %(code)s" if code else "")
    return {r[0]: r[1] for r in conn.exec_driver_sql(sql, {"code": code})}
