"""Stored plans as ``compare.Alternative``s, read through the plans storage (models/plans.py).

A plan's state is its overlay over the live tables (``models.plans.overlay_sql``): here, for the
grids of a context's scope, each grid's zone under the plan; every zone of the scope's stations
under the plan (new ones included, retired ones gone) with its kind, 警务室 flag and the officers
the plan assigns to it; and any zone of another station a grid of the scope moves to (so its
grids are still counted somewhere).

Grids are the units of every figure, read once for the scope from the live data. A plan that
reshapes grids (split, merge, redraw) has other units: its metrics are refused with a clear error
rather than computed over the wrong shapes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from jurisgrid.errors import InvalidInput
from jurisgrid.models import plans as store
from jurisgrid.planning.compare import Alternative, Context
from jurisgrid.planning.staffing import ZoneInfo

POLICE_ROLES = ("chief", "instructor", "deputy_chief", "officer", "community_officer")


def _sql(template: str) -> str:
    return template.format(**{t: store.overlay_sql(t) for t in ("grid", "zone", "station", "assignment")})


_GRIDS = """
SELECT g.code, z.code AS zone FROM ({grid}) g JOIN ({zone}) z ON z.id = g.zone_id
WHERE g.code = ANY(%(codes)s)
"""
_ZONES = """
SELECT z.id, z.code, z.name, z.kind, z.has_office, s.code AS station
FROM ({zone}) z JOIN ({station}) s ON s.id = z.station_id
WHERE (%(stations)s::text[] IS NULL OR s.code = ANY(%(stations)s::text[])) OR z.code = ANY(%(extra)s)
"""
_OFFICERS = """
SELECT a.zone_id,
       count(DISTINCT a.person_id) FILTER (WHERE a.role = ANY(%(police)s)) AS officers,
       count(DISTINCT a.person_id) FILTER (WHERE a.role = 'community_officer') AS community_officers
FROM ({assignment}) a
WHERE a.zone_id = ANY(%(ids)s) AND a.valid_from <= now()
GROUP BY a.zone_id
"""


def plan_alternative(conn: Connection, ctx: Context, plan: dict[str, Any]) -> Alternative:
    """``plan`` (a ``models.plans.get_plan`` dict) over ``ctx``'s grids."""
    pid = plan["id"]
    if plan["reshapes"]:
        raise InvalidInput(f"plan {pid} reshapes grids (split, merge or redraw): its metrics are "
                           "computed over today's grids only, so they are not available for it",
                           details=[{"plan": pid}])
    codes = list(ctx.units.codes)
    assignment = {g: z for g, z in conn.exec_driver_sql(_sql(_GRIDS), {"plan": pid, "codes": codes})}
    gone = [g for g in codes if g not in assignment]
    if gone:
        raise InvalidInput(f"plan {pid} no longer has grid(s) {', '.join(gone[:5])} of the scope",
                           details=[{"plan": pid, "grids": gone[:50]}])
    stations = [ctx.scope] if ctx.scope is not None else None
    rows = list(conn.exec_driver_sql(_sql(_ZONES), {
        "plan": pid, "stations": stations, "extra": sorted(set(assignment.values()))}).mappings())
    staff = {r["zone_id"]: r for r in conn.exec_driver_sql(_sql(_OFFICERS), {
        "plan": pid, "ids": [r["id"] for r in rows], "police": list(POLICE_ROLES)}).mappings()}
    zones = {}
    for r in rows:
        s = staff.get(r["id"])
        zones[r["code"]] = ZoneInfo(r["code"], r["name"], r["station"], r["kind"], bool(r["has_office"]),
                                    int(s["officers"]) if s else 0, int(s["community_officers"]) if s else 0)
    return Alternative(str(pid), plan["name"], assignment, zones)


def plans_scope(plans: list[dict[str, Any]]) -> str | None:
    """The scope to compare plans over: their station when every plan is of one station, else the
    county."""
    stations = {p["scope_code"] if p["scope_kind"] == "station" else None for p in plans}
    return stations.pop() if len(stations) == 1 else None
