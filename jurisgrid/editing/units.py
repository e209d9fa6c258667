"""Create / update / retire of stations, zones, communities, personnel assignments, address
points and incidents. Points get their grid from the membership trigger (boundary rule).

Address points and incidents have no history tables (there are hundreds of thousands and their
grid is derived); their edits record the before/after rows in ``revision.summary.points`` so
that a revert can restore them.
"""

from __future__ import annotations

import json
from typing import Any

import shapely
from sqlalchemy import Connection

from jurisgrid.auth.checks import require_station_scope
from jurisgrid.auth.principal import Role
from jurisgrid.editing.admin_units import refuse_outside, refuse_overlap
from jurisgrid.editing.commands import (
    ByCode,
    ById,
    Command,
    CreateAddressPoint,
    CreateAssignment,
    CreateCommunity,
    CreateIncident,
    CreateStation,
    CreateZone,
    UpdateAddressPoint,
    UpdateAssignment,
    UpdateCommunity,
    UpdateIncident,
    UpdateStation,
    UpdateZone,
    WithPoint,
)
from jurisgrid.editing.grids import area_arg
from jurisgrid.editing.lookup import unit_by_code
from jurisgrid.editing.registry import OpContext, operation
from jurisgrid.editing.scope import (
    community_stations,
    require_county_wide,
    require_whole_community,
)
from jurisgrid.errors import InvalidInput, NotFound, RuleViolation
from jurisgrid.models import categories
from jurisgrid.models.partitions import point_county_sql, split_incident_months_of

POINT_FIELDS = {
    "address_point": ("code", "address", "households", "population", "houses", "units"),
    "incident": ("code", "category", "occurred_at"),
}


def _point(cmd: WithPoint) -> str | None:
    """The point as hex WKB (WGS 84); editing/validation.py has checked it lies in the county."""
    pt = cmd.point()
    return None if pt is None else shapely.to_wkb(shapely.Point(*pt), hex=True)


def _set_clause(cmd: Command, allowed: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """``allowed``: attribute of the command → column; the attributes given (not None)."""
    sets, params = [], {}
    for attr, col in allowed.items():
        value = getattr(cmd, attr)
        if value is not None:
            sets.append(f"{col} = %({col})s")
            params[col] = value
    return ", ".join(sets), params


def _update(conn: Connection, table: str, code: str, cmd: Command, allowed: dict[str, str],
            extra_sets: list[str] | None = None, extra: dict[str, Any] | None = None) -> None:
    sets, params = _set_clause(cmd, allowed)
    all_sets = [s for s in [sets, *(extra_sets or [])] if s]
    if not all_sets:
        raise InvalidInput("nothing to update: give at least one field")
    conn.exec_driver_sql(f"UPDATE {table} SET {', '.join(all_sets)} WHERE code = %(code_)s",
                         {**params, **(extra or {}), "code_": code})


def _refuse_if(conn: Connection, sql: str, params: dict[str, Any], message: str) -> None:
    if conn.exec_driver_sql(sql, params).scalar_one():
        raise InvalidInput(message)


# -- stations ----------------------------------------------------------------------------------
@operation("createStation", CreateStation, Role.ADMIN)
def create_station(conn: Connection, ctx: OpContext, cmd: CreateStation) -> list[str]:
    sector = conn.exec_driver_sql("SELECT id FROM sector WHERE code = %(c)s",
                                  {"c": cmd.sector}).scalar_one_or_none()
    if sector is None:
        raise NotFound(f"unknown sector code {cmd.sector}")
    require_county_wide(ctx.principal, "a new station")
    seat = _point(cmd)
    if seat is None:
        raise InvalidInput("a station needs its seat (lon, lat)")
    conn.exec_driver_sql(
        "INSERT INTO station (code, name, kind, sector_id, address, phone, seat) VALUES "
        "(%(c)s, %(n)s, %(k)s, %(s)s, %(a)s, %(p)s, ST_SetSRID(ST_GeomFromWKB(decode(%(w)s, 'hex')), 4326))",
        {"c": cmd.code, "n": cmd.name, "k": cmd.kind or "rural", "s": sector,
         "a": cmd.address, "p": cmd.phone, "w": seat})
    return []


@operation("updateStation", UpdateStation)
def update_station(conn: Connection, ctx: OpContext, cmd: UpdateStation) -> list[str]:
    st = unit_by_code(conn, "station", cmd.code, lock=True)
    require_station_scope(ctx.principal, [st["code"]])
    seat = _point(cmd)
    _update(conn, "station", st["code"], cmd,
            {"name": "name", "kind": "kind", "address": "address", "phone": "phone"},
            ["seat = ST_SetSRID(ST_GeomFromWKB(decode(%(seat)s, 'hex')), 4326)"] if seat else None,
            {"seat": seat})
    return []


@operation("retireStation", ByCode, Role.ADMIN)
def retire_station(conn: Connection, ctx: OpContext, cmd: ByCode) -> list[str]:
    st = unit_by_code(conn, "station", cmd.code, lock=True)
    require_station_scope(ctx.principal, [st["code"]])
    _refuse_if(conn, "SELECT EXISTS (SELECT 1 FROM zone WHERE station_id = %(s)s)", {"s": st["id"]},
               f"station {st['code']} still has zones: move them first (moveZone)")
    conn.exec_driver_sql("UPDATE assignment SET valid_to = clock_timestamp() WHERE station_id = %(s)s "
                         "AND valid_to IS NULL", {"s": st["id"]})
    _refuse_if(conn, "SELECT EXISTS (SELECT 1 FROM assignment WHERE station_id = %(s)s)", {"s": st["id"]},
               f"station {st['code']} has personnel history; it cannot be deleted")
    conn.exec_driver_sql("DELETE FROM station WHERE id = %(s)s", {"s": st["id"]})
    return []


# -- zones ---------------------------------------------------------------------------------------
@operation("createZone", CreateZone)
def create_zone(conn: Connection, ctx: OpContext, cmd: CreateZone) -> list[str]:
    st = unit_by_code(conn, "station", cmd.station)
    require_station_scope(ctx.principal, [st["code"]])
    conn.exec_driver_sql(
        "INSERT INTO zone (code, name, kind, has_office, station_id) VALUES (%(c)s, %(n)s, %(k)s, "
        "%(o)s, %(s)s)",
        {"c": cmd.code, "n": cmd.name, "k": cmd.kind or "rural", "o": cmd.has_office,
         "s": st["id"]})
    return []


@operation("updateZone", UpdateZone)
def update_zone(conn: Connection, ctx: OpContext, cmd: UpdateZone) -> list[str]:
    z = unit_by_code(conn, "zone", cmd.code, lock=True)
    require_station_scope(ctx.principal, [z["station_code"]])
    _update(conn, "zone", z["code"], cmd, {"name": "name", "kind": "kind", "has_office": "has_office"})
    return []


@operation("retireZone", ByCode)
def retire_zone(conn: Connection, ctx: OpContext, cmd: ByCode) -> list[str]:
    z = unit_by_code(conn, "zone", cmd.code, lock=True)
    require_station_scope(ctx.principal, [z["station_code"]])
    _refuse_if(conn, "SELECT EXISTS (SELECT 1 FROM grid WHERE zone_id = %(z)s)", {"z": z["id"]},
               f"zone {z['code']} still has grids: reassign them first")
    conn.exec_driver_sql("UPDATE assignment SET zone_id = NULL WHERE zone_id = %(z)s", {"z": z["id"]})
    conn.exec_driver_sql("DELETE FROM zone WHERE id = %(z)s", {"z": z["id"]})
    return []


# -- communities -------------------------------------------------------------------------------
@operation("createCommunity", CreateCommunity, Role.ADMIN)
def create_community(conn: Connection, ctx: OpContext, cmd: CreateCommunity) -> list[str]:
    tw = conn.exec_driver_sql("SELECT id FROM township WHERE code = %(c)s",
                              {"c": cmd.township}).scalar_one_or_none()
    if tw is None:
        raise NotFound(f"unknown township code {cmd.township}")
    require_county_wide(ctx.principal, "a new community")
    checked = area_arg(cmd, ctx, community=cmd.code)
    # the checks createCommunity once skipped (issue 11): inside its township's county, and
    # overlapping no other community
    refuse_outside(conn, "SELECT c.geom FROM county c JOIN township t ON t.county_id = c.id "
                         "WHERE t.id = %(t)s", {"t": tw}, checked.geom,
                   label=f"community {cmd.code}", outer=f"the county of township {cmd.township}")
    refuse_overlap(conn, "community", checked.geom, label=f"community {cmd.code}")
    conn.exec_driver_sql(
        "INSERT INTO community (code, name, kind, township_id, geom) VALUES "
        "(%(c)s, %(n)s, %(k)s, %(t)s, ST_Multi(ST_GeomFromWKB(%(w)s, 4326)))",
        {"c": cmd.code, "n": cmd.name, "k": cmd.kind or "village", "t": tw,
         "w": shapely.to_wkb(checked.geom)})
    return checked.repairs


@operation("updateCommunity", UpdateCommunity)
def update_community(conn: Connection, ctx: OpContext, cmd: UpdateCommunity) -> list[str]:
    c = unit_by_code(conn, "community", cmd.code, lock=True)
    require_whole_community(ctx.principal, conn, c)
    _update(conn, "community", c["code"], cmd, {"name": "name", "kind": "kind"})
    return []


@operation("retireCommunity", ByCode, Role.ADMIN)
def retire_community(conn: Connection, ctx: OpContext, cmd: ByCode) -> list[str]:
    c = unit_by_code(conn, "community", cmd.code, lock=True)
    require_whole_community(ctx.principal, conn, c)
    _refuse_if(conn, "SELECT EXISTS (SELECT 1 FROM grid WHERE community_id = %(c)s)", {"c": c["id"]},
               f"community {c['code']} still has grids")
    conn.exec_driver_sql("UPDATE assignment SET community_id = NULL WHERE community_id = "
                         "%(c)s", {"c": c["id"]})
    conn.exec_driver_sql("DELETE FROM community WHERE id = %(c)s", {"c": c["id"]})
    return []


# -- assignments -------------------------------------------------------------------------------
def _assignment_refs(conn: Connection, ctx: OpContext,
                     cmd: CreateAssignment | UpdateAssignment) -> dict[str, Any]:
    """Ids of the zone / community / grid an assignment names; a scoped principal may name
    only a zone or grid of its station, and a community with grids in it."""
    out: dict[str, Any] = {}
    for table in ("zone", "community", "grid"):
        code = getattr(cmd, table)
        if code:
            unit = unit_by_code(conn, table, code)
            out[f"{table}_id"] = unit["id"]
            if ctx.principal.is_scoped:
                stations = ([unit["station_code"]] if table != "community"
                            else community_stations(conn, unit["id"]))
                require_station_scope(ctx.principal, stations)
    return out


@operation("createAssignment", CreateAssignment)
def create_assignment(conn: Connection, ctx: OpContext, cmd: CreateAssignment) -> list[str]:
    person = conn.exec_driver_sql("SELECT id FROM person WHERE code = %(c)s",
                                  {"c": cmd.person}).scalar_one_or_none()
    if person is None:
        raise NotFound(f"unknown person code {cmd.person}")
    st = unit_by_code(conn, "station", cmd.station)
    require_station_scope(ctx.principal, [st["code"]])
    refs = _assignment_refs(conn, ctx, cmd)
    conn.exec_driver_sql(
        "INSERT INTO assignment (person_id, role, station_id, zone_id, community_id, grid_id, valid_from) "
        "VALUES (%(p)s, %(r)s, %(s)s, %(zone_id)s, %(community_id)s, %(grid_id)s, "
        "coalesce(%(vf)s, current_setting('jurisgrid.effective')::timestamptz))",
        {"p": person, "r": cmd.role, "s": st["id"], "zone_id": refs.get("zone_id"),
         "community_id": refs.get("community_id"), "grid_id": refs.get("grid_id"),
         "vf": cmd.valid_from})
    return []


def _assignment(conn: Connection, ctx: OpContext, aid: Any) -> dict[str, Any]:
    row = conn.exec_driver_sql(
        "SELECT a.id, s.code AS station_code FROM assignment a JOIN station s ON s.id = a.station_id "
        "WHERE a.id = %(i)s FOR UPDATE OF a", {"i": aid}).mappings().one_or_none()
    if row is None:
        raise NotFound(f"unknown assignment id {aid}")
    require_station_scope(ctx.principal, [row["station_code"]])
    return dict(row)


@operation("updateAssignment", UpdateAssignment)
def update_assignment(conn: Connection, ctx: OpContext, cmd: UpdateAssignment) -> list[str]:
    a = _assignment(conn, ctx, cmd.id)
    refs = _assignment_refs(conn, ctx, cmd)
    sets = [f"{k} = %({k})s" for k in refs]
    if cmd.role:
        sets.append("role = %(role)s")
    if not sets:
        raise InvalidInput("nothing to update: give role, zone, community or grid")
    conn.exec_driver_sql(f"UPDATE assignment SET {', '.join(sets)} WHERE id = %(i)s",
                         {**refs, "role": cmd.role, "i": a["id"]})
    return []


@operation("retireAssignment", ById)
def retire_assignment(conn: Connection, ctx: OpContext, cmd: ById) -> list[str]:
    a = _assignment(conn, ctx, cmd.id)
    conn.exec_driver_sql("UPDATE assignment SET valid_to = greatest(valid_from + interval '1 second', "
                         "current_setting('jurisgrid.effective')::timestamptz) "
                         "WHERE id = %(i)s AND valid_to IS NULL", {"i": a["id"]})
    return []


# -- address points and incidents ----------------------------------------------------------------
def _snapshot(conn: Connection, table: str, code: str) -> dict[str, Any] | None:
    cols = ", ".join(POINT_FIELDS[table])
    row = conn.exec_driver_sql(f"SELECT {cols}, encode(ST_AsEWKB(geom), 'hex') AS ewkb FROM {table} "
                               "WHERE code = %(c)s", {"c": code}).mappings().one_or_none()
    return None if row is None else {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                                     for k, v in row.items()}


def _note(conn: Connection, table: str, code: str, before: dict[str, Any] | None) -> None:
    entry = {"table": table, "code": code, "before": before, "after": _snapshot(conn, table, code)}
    conn.exec_driver_sql(
        "UPDATE revision SET summary = jsonb_set(summary, '{points}', "
        "coalesce(summary->'points', '[]'::jsonb) || %(e)s::jsonb) "
        "WHERE id = current_setting('jurisgrid.revision')::bigint", {"e": json.dumps([entry])})
    conn.exec_driver_sql(
        "UPDATE revision SET changed_area = ST_Collect(ARRAY(SELECT g FROM (VALUES (changed_area), "
        "((SELECT geom FROM address_point WHERE code = %(c)s AND %(t)s = 'address_point')), "
        "((SELECT geom FROM incident WHERE code = %(c)s AND %(t)s = 'incident'))) v(g) "
        "WHERE g IS NOT NULL)) WHERE id = current_setting('jurisgrid.revision')::bigint",
        {"c": code, "t": table})


def _point_scope(conn: Connection, ctx: OpContext, table: str, code: str) -> None:
    if not ctx.principal.is_scoped:
        return
    st = conn.exec_driver_sql(
        f"SELECT s.code FROM {table} p JOIN grid g ON g.id = p.grid_id JOIN zone z ON z.id = g.zone_id "
        "JOIN station s ON s.id = z.station_id WHERE p.code = %(c)s", {"c": code}).scalar_one_or_none()
    require_station_scope(ctx.principal, [st] if st else [])


# the point operations: the command's attributes (snake_case) are the table's columns
_POINTS: dict[str, tuple[type[Command], type[Command], str]] = {
    "address_point": (CreateAddressPoint, UpdateAddressPoint, "AddressPoint"),
    "incident": (CreateIncident, UpdateIncident, "Incident"),
}


def _columns(cmd: Command, table: str) -> dict[str, Any]:
    return {c: getattr(cmd, c) for c in POINT_FIELDS[table]}


def _category(conn: Connection, cmd: Any) -> Any:
    """An incident command with its category resolved as the import resolves it — a category
    code (any case), name or mapped local 警情 code (models/categories.py) — or refused."""
    raw = getattr(cmd, "category", None)
    if raw is None:
        return cmd
    known = categories.lookup(conn)
    code = known.get(raw) or known.get(raw.upper())
    if code is None:
        raise RuleViolation("UNKNOWN_CATEGORY", f"category: unknown incident category {raw!r} (add "
                            "it, or map it as a local code: mapIncidentCategory)",
                            details=[{"field": "category", "value": raw}])
    return cmd.model_copy(update={"category": code})


def _create_point(conn: Connection, ctx: OpContext, table: str,
                  cmd: CreateAddressPoint | CreateIncident) -> None:
    cmd = _category(conn, cmd)
    wkb = _point(cmd)
    if wkb is None:
        raise InvalidInput("a point needs lon and lat")
    cols = list(POINT_FIELDS[table])
    conn.exec_driver_sql(  # with its county, the partition key (models/partitions.py)
        f"INSERT INTO {table} ({', '.join(cols)}, geom, county_code) SELECT "
        f"{', '.join(f'%({c})s' for c in cols)}, p.g, {point_county_sql('p.g')} "
        "FROM (SELECT ST_SetSRID(ST_GeomFromWKB(decode(%(w)s, 'hex')), 4326) AS g) p",
        {**_columns(cmd, table), "w": wkb})
    if table == "incident":
        split_incident_months_of(conn, cmd.code)
    _point_scope(conn, ctx, table, cmd.code)
    _note(conn, table, cmd.code, None)


def _update_point(conn: Connection, ctx: OpContext, table: str,
                  cmd: UpdateAddressPoint | UpdateIncident) -> None:
    before = _snapshot(conn, table, cmd.code)
    if before is None:
        raise NotFound(f"unknown {table.replace('_', ' ')} code {cmd.code}")
    _point_scope(conn, ctx, table, cmd.code)
    cmd = _category(conn, cmd)
    wkb = _point(cmd)
    _update(conn, table, cmd.code, cmd, {c: c for c in POINT_FIELDS[table] if c != "code"},
            ["geom = ST_SetSRID(ST_GeomFromWKB(decode(%(w)s, 'hex')), 4326)"] if wkb else None, {"w": wkb})
    if table == "incident":  # a new county or month: the membership trigger moved the row
        split_incident_months_of(conn, cmd.code)
    _point_scope(conn, ctx, table, cmd.code)
    _note(conn, table, cmd.code, before)


def _retire_point(conn: Connection, ctx: OpContext, table: str, cmd: ByCode) -> None:
    before = _snapshot(conn, table, cmd.code)
    if before is None:
        raise NotFound(f"unknown {table.replace('_', ' ')} code {cmd.code}")
    _point_scope(conn, ctx, table, cmd.code)
    _note(conn, table, cmd.code, before)
    conn.exec_driver_sql(f"DELETE FROM {table} WHERE code = %(c)s", {"c": cmd.code})


def _register_points(table: str) -> None:
    """createAddressPoint, updateAddressPoint, retireAddressPoint (and the same for Incident)."""
    create, update, name = _POINTS[table]

    def do_create(conn: Connection, ctx: OpContext, cmd: Any) -> list[str]:
        _create_point(conn, ctx, table, cmd)
        return []

    def do_update(conn: Connection, ctx: OpContext, cmd: Any) -> list[str]:
        _update_point(conn, ctx, table, cmd)
        return []

    def do_retire(conn: Connection, ctx: OpContext, cmd: ByCode) -> list[str]:
        _retire_point(conn, ctx, table, cmd)
        return []

    operation(f"create{name}", create, tracked=False)(do_create)
    operation(f"update{name}", update, tracked=False)(do_update)
    operation(f"retire{name}", ByCode, tracked=False)(do_retire)


for _table in _POINTS:
    _register_points(_table)
