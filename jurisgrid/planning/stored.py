"""Stored plans as ``compare.Alternative``s, read through the plans storage (models/plans.py).

A plan's state is its overlay over the live tables (``models.plans.overlay_sql``): here, for the
grids of a context's scope, each grid's zone under the plan; every zone of the scope's stations
under the plan (new ones included, retired ones gone) with its kind, 警务室 flag and the officers
the plan assigns to it; and any zone of another station a grid of the scope moves to (so its
grids are still counted somewhere).

Grids are the units of every figure, read once for the scope from the live data. A plan that
reshapes grids (split, merge, redraw) has other units: its alternative carries its own context —
the plan's grids of the scope with their figures under the plan (points placed again near the
reshaped grids by the boundary rule: models/plan_membership.py), their adjacency, and as the base
each grid's live zone (a reshaped grid's: the live zone of the live grid covering most of it, so
a grid merged across zones counts as moved or not as a whole); the population, households and
incidents moved are counted point by point.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from jurisgrid.errors import InvalidInput
from jurisgrid.models import plans as store
from jurisgrid.models.plan_membership import membership_sql
from jurisgrid.models.plan_source import PlanSource
from jurisgrid.planning.compare import Alternative, Context
from jurisgrid.planning.geometry import rook_adjacency
from jurisgrid.planning.source import read_scope
from jurisgrid.planning.staffing import CATEGORY_PREFIX, ZoneInfo

POLICE_ROLES = ("chief", "instructor", "deputy_chief", "officer", "community_officer")


def _sql(template: str, **more: str) -> str:
    return template.format(**{t: store.overlay_sql(t) for t in ("grid", "zone", "station", "assignment")},
                           **more)


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
        return _reshaped(conn, ctx, plan)
    codes = list(ctx.units.codes)
    assignment = {g: z for g, z in conn.exec_driver_sql(_sql(_GRIDS), {"plan": pid, "codes": codes})}
    gone = [g for g in codes if g not in assignment]
    if gone:
        raise InvalidInput(f"plan {pid} no longer has grid(s) {', '.join(gone[:5])} of the scope",
                           details=[{"plan": pid, "grids": gone[:50]}])
    return Alternative(str(pid), plan["name"], assignment, _zones(conn, ctx, pid, assignment))


def _zones(conn: Connection, ctx: Context, pid: int, assignment: dict[str, str]) -> dict[str, ZoneInfo]:
    """Every zone of the scope's stations under the plan, and any zone a grid is assigned to."""
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
    return zones


# each grid's live zone: its own when the plan keeps its code and shape, else the live zone of the
# live grid that covers most of it (ties: the smaller code)
_BASE = """
SELECT g.code, coalesce(kz.code, (
    SELECT z.code FROM grid l JOIN zone z ON z.id = l.zone_id
    WHERE l.geom && g.geom AND ST_Intersects(l.geom, g.geom)
    ORDER BY ST_Area(ST_Intersection(l.geom, g.geom)) DESC, l.code LIMIT 1)) AS zone
FROM ({grid}) g
LEFT JOIN grid k ON k.id = g.id AND k.code = g.code AND ST_OrderingEquals(k.geom, g.geom)
LEFT JOIN zone kz ON kz.id = k.zone_id
WHERE g.code = ANY(%(codes)s)
"""
_LIVE_ZONES = """
SELECT z.code, z.name, z.kind, z.has_office, s.code AS station FROM zone z
JOIN station s ON s.id = z.station_id WHERE z.code = ANY(%(codes)s)
"""


# the points whose zone differs between live and the plan (a zone of the scope's station on either
# side): live, by their stored grid; under the plan, by their grid there (models/plan_membership.py)
_MOVED = """
SELECT {what} FROM {table} a JOIN ({points}) m ON m.id = a.id
JOIN grid lg ON lg.id = a.grid_id JOIN zone lz ON lz.id = lg.zone_id
JOIN station ls ON ls.id = lz.station_id
JOIN ({grid}) pg ON pg.id = m.grid_id JOIN ({zone}) pz ON pz.id = pg.zone_id
JOIN ({station}) ps ON ps.id = pz.station_id
WHERE lz.code <> pz.code AND (%(st)s::text IS NULL OR ls.code = %(st)s::text OR ps.code = %(st)s::text)
"""


def _moved(conn: Connection, pid: int, ctx: Context) -> dict[str, float]:
    """Population, households and incidents (in the context's window, also per category) that
    the plan puts in another zone than live, point by point."""
    p = {"plan": pid, "st": ctx.scope, "since": ctx.since, "until": ctx.until}
    pop, hh = conn.exec_driver_sql(_sql(
        _MOVED, what="coalesce(sum(a.population), 0), coalesce(sum(a.households), 0)",
        table="address_point", points=membership_sql("address_point")), p).one()
    out = {"population": float(pop), "households": float(hh), "incidents": 0.0}
    window = ("AND (%(since)s::timestamptz IS NULL OR a.occurred_at >= %(since)s::timestamptz) "
              "AND (%(until)s::timestamptz IS NULL OR a.occurred_at < %(until)s::timestamptz) "
              "GROUP BY a.category")
    for cat, n in conn.exec_driver_sql(_sql(_MOVED, what="a.category, count(*)", table="incident",
                                            points=membership_sql("incident")) + window, p):
        out[f"{CATEGORY_PREFIX}{cat}"] = float(n)
        out["incidents"] += float(n)
    return out


def _reshaped(conn: Connection, ctx: Context, plan: dict[str, Any]) -> Alternative:
    """A plan that reshapes grids, over its own grids of the scope (the module's docstring)."""
    pid = plan["id"]
    scope = read_scope(conn, ctx.scope, since=ctx.since, until=ctx.until,
                       source=PlanSource(pid, reshapes=True))
    codes = list(scope.units.codes)
    assignment = dict(zip(codes, scope.zone, strict=True))
    base = {g: z for g, z in conn.exec_driver_sql(_sql(_BASE), {"plan": pid, "codes": codes})}
    base_zones = dict(ctx.base.zones)
    missing = sorted({z for z in base.values() if z is not None} - set(base_zones))
    for r in conn.exec_driver_sql(_LIVE_ZONES, {"codes": missing}).mappings():
        base_zones[r["code"]] = ZoneInfo(r["code"], r["name"], r["station"], r["kind"],
                                         bool(r["has_office"]), 0, 0)
    # a grid of the plan over no live grid (none today) is counted as not moved
    base = {g: (z if z is not None else assignment[g]) for g, z in base.items()}
    zones = _zones(conn, ctx, pid, assignment)
    for z in set(base.values()) - set(base_zones):
        base_zones[z] = zones[z]
    own = replace(ctx, units=scope.units, adjacency=rook_adjacency(scope.units.geoms),
                  seats={**ctx.seats, **scope.seats},
                  base=Alternative("live", "live", base, base_zones))
    return Alternative(str(pid), plan["name"], assignment, zones, own, _moved(conn, pid, ctx))


def plans_scope(plans: list[dict[str, Any]]) -> str | None:
    """The scope to compare plans over: their station when every plan is of one station, else the
    county."""
    stations = {p["scope_code"] if p["scope_kind"] == "station" else None for p in plans}
    return stations.pop() if len(stations) == 1 else None
