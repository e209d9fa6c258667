"""Compliance with the staffing norms of the sizing policy: every breach with its rule."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from jurisgrid.errors import NotFound
from jurisgrid.models import aggregates as agg
from jurisgrid.models.plan_source import under
from jurisgrid.models.policy import current_policy
from jurisgrid.models.source import LIVE, Source

RULES = {
    "ZONE_POPULATION_PER_OFFICER": "a zone's population per community officer is above the norm",
    "ZONE_WITHOUT_COMMUNITY_OFFICER": "a zone has no community officer (社区民警)",
    "OFFICE_UNDERSTAFFED": "a 警务室 has fewer officers than the minimum",
    "COMMUNITY_WITHOUT_AUXILIARY": "a village or community has no 辅警",
    "GRID_HOUSEHOLDS_OUT_OF_RANGE": "a grid's households are outside the range",
}

_UNITS = """
SELECT '{level}' AS level, u.id, u.code, u.name, st.code AS station_code{extra}
FROM {level} u {join}
WHERE %(station)s::text IS NULL OR st.code = %(station)s
"""
_ZONES = _UNITS.format(
    level="zone", extra=", u.kind, u.has_office", join="JOIN station st ON st.id = u.station_id"
)
_GRIDS = _UNITS.format(
    level="grid", extra="", join="JOIN zone z ON z.id = u.zone_id JOIN station st ON st.id = z.station_id"
)
# a community is in a station's report when any of its grids is; its station is the one of most grids
_COMMUNITIES = """
SELECT DISTINCT ON (u.id) u.id, u.code, u.name, u.kind, st.code AS station_code
FROM community u JOIN grid g ON g.community_id = u.id JOIN zone z ON z.id = g.zone_id
JOIN station st ON st.id = z.station_id
WHERE %(station)s::text IS NULL OR st.code = %(station)s
GROUP BY u.id, u.code, u.name, u.kind, st.code  -- all named: u may be a plan's rows
ORDER BY u.id, count(*) DESC, st.code
"""


@dataclass(frozen=True)
class Breach:
    rule: str
    level: str
    code: str
    name: str
    station: str
    value: float
    limit: float
    message: str


def compliance(conn: Connection, *, station: str | None = None,
               source: Source = LIVE) -> tuple[int, list[Breach]]:
    """All breaches (of one station, or the whole county), ordered by rule and unit code — of
    the live data, or of a plan (``source``)."""
    if station is not None and not agg.unit_ids(conn, "station", code=station):
        raise NotFound(f"no station with code {station!r}")
    pv = current_policy(conn)
    p = pv.policy
    params = {"station": station, **source.sql_args()}
    zones = list(conn.exec_driver_sql(under(_ZONES, source), params).mappings())
    grids = list(conn.exec_driver_sql(under(_GRIDS, source), params).mappings())
    comms = list(conn.exec_driver_sql(under(_COMMUNITIES, source), params).mappings())
    zstats = agg.address_stats(conn, "zone", [z["id"] for z in zones], source=source)
    zstaff = agg.personnel(conn, "zone", [z["id"] for z in zones], source=source)
    gstats = agg.address_stats(conn, "grid", [g["id"] for g in grids], source=source)
    cstaff = agg.personnel(conn, "community", [c["id"] for c in comms], source=source)
    out: list[Breach] = []
    for z in zones:
        pop, staff = zstats[z["id"]].population, zstaff[z["id"]]
        unit = ("zone", z["code"], z["name"], z["station_code"])
        norm = p.population_per_officer[z["kind"]]
        if staff.community_officers == 0:
            out.append(
                Breach(
                    "ZONE_WITHOUT_COMMUNITY_OFFICER",
                    *unit,
                    0,
                    1,
                    f"{z['name']}: no community officer for {pop} residents",
                )
            )
        elif pop / staff.community_officers > norm:
            v = pop / staff.community_officers
            out.append(
                Breach(
                    "ZONE_POPULATION_PER_OFFICER",
                    *unit,
                    v,
                    norm,
                    f"{z['name']}: {v:.0f} residents per community officer "
                    f"({staff.community_officers} for {pop}), norm {norm:.0f} ({z['kind']})",
                )
            )
        if z["has_office"] and staff.officers < p.min_officers_per_office:
            out.append(
                Breach(
                    "OFFICE_UNDERSTAFFED",
                    *unit,
                    staff.officers,
                    p.min_officers_per_office,
                    f"{z['name']}: 警务室 with {staff.officers} officer(s), "
                    f"minimum {p.min_officers_per_office}",
                )
            )
    for c in comms:
        if cstaff[c["id"]].auxiliaries == 0:
            out.append(
                Breach(
                    "COMMUNITY_WITHOUT_AUXILIARY",
                    "community",
                    c["code"],
                    c["name"],
                    c["station_code"],
                    0,
                    1,
                    f"{c['name']} ({c['kind']}): no 辅警",
                )
            )
    lo, hi = p.grid_households_min, p.grid_households_max
    for g in grids:
        hh = gstats[g["id"]].households
        if not lo <= hh <= hi:
            out.append(
                Breach(
                    "GRID_HOUSEHOLDS_OUT_OF_RANGE",
                    "grid",
                    g["code"],
                    g["name"],
                    g["station_code"],
                    hh,
                    lo if hh < lo else hi,
                    f"{g['name']}: {hh} households, range {lo}–{hi}",
                )
            )
    out.sort(key=lambda b: (b.rule, b.code))
    return pv.version, out
