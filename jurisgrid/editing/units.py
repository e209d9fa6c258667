"""Create / update / retire of stations, zones, communities, personnel assignments, address
points and incidents. Points get their grid from the membership trigger (boundary rule).

Address points and incidents have no history tables (there are hundreds of thousands and their
grid is derived); their edits record the before/after rows in ``revision.summary.points`` so
that a revert can restore them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import shapely
from sqlalchemy import Connection

from jurisgrid.auth.checks import require_station_scope
from jurisgrid.auth.principal import Role
from jurisgrid.editing.grids import area_arg
from jurisgrid.editing.lookup import unit_by_code
from jurisgrid.editing.registry import OpContext, OpFn, operation
from jurisgrid.editing.scope import (
    community_stations,
    require_county_wide,
    require_whole_community,
)
from jurisgrid.editing.validation import point_arg
from jurisgrid.errors import InvalidInput, NotFound

POINT_FIELDS = {
    "address_point": ("code", "address", "households", "population", "houses", "units"),
    "incident": ("code", "category", "occurred_at"),
}


def _point(args: dict[str, Any]) -> str | None:
    """The point as hex WKB (WGS 84); editing/validation.py has checked it lies in the county."""
    pt = point_arg(args)
    return None if pt is None else shapely.to_wkb(shapely.Point(*pt), hex=True)


def _set_clause(args: dict[str, Any], allowed: dict[str, str]) -> tuple[str, dict[str, Any]]:
    sets, params = [], {}
    for arg, col in allowed.items():
        if args.get(arg) is not None:
            sets.append(f"{col} = %({col})s")
            params[col] = args[arg]
    return ", ".join(sets), params


def _update(conn: Connection, table: str, code: str, args: dict[str, Any], allowed: dict[str, str],
            extra_sets: list[str] | None = None, extra: dict[str, Any] | None = None) -> None:
    sets, params = _set_clause(args, allowed)
    all_sets = [s for s in [sets, *(extra_sets or [])] if s]
    if not all_sets:
        raise InvalidInput("nothing to update: give at least one field")
    conn.exec_driver_sql(f"UPDATE {table} SET {', '.join(all_sets)} WHERE code = %(code_)s",
                         {**params, **(extra or {}), "code_": code})


def _refuse_if(conn: Connection, sql: str, params: dict[str, Any], message: str) -> None:
    if conn.exec_driver_sql(sql, params).scalar_one():
        raise InvalidInput(message)


# -- stations ----------------------------------------------------------------------------------
@operation("createStation", Role.ADMIN)
def create_station(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    sector = conn.exec_driver_sql("SELECT id FROM sector WHERE code = %(c)s",
                                  {"c": args.get("sector")}).scalar_one_or_none()
    if sector is None:
        raise NotFound(f"unknown sector code {args.get('sector')}")
    require_county_wide(ctx.principal, "a new station")
    seat = _point(args)
    if seat is None:
        raise InvalidInput("a station needs its seat (lon, lat)")
    conn.exec_driver_sql(
        "INSERT INTO station (code, name, kind, sector_id, address, phone, seat) VALUES "
        "(%(c)s, %(n)s, %(k)s, %(s)s, %(a)s, %(p)s, ST_SetSRID(ST_GeomFromWKB(decode(%(w)s, 'hex')), 4326))",
        {"c": args["code"], "n": args["name"], "k": args.get("kind") or "rural", "s": sector,
         "a": args.get("address"), "p": args.get("phone"), "w": seat})
    return []


@operation("updateStation")
def update_station(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    st = unit_by_code(conn, "station", args["code"], lock=True)
    require_station_scope(ctx.principal, [st["code"]])
    seat = _point(args)
    _update(conn, "station", st["code"], args,
            {"name": "name", "kind": "kind", "address": "address", "phone": "phone"},
            ["seat = ST_SetSRID(ST_GeomFromWKB(decode(%(seat)s, 'hex')), 4326)"] if seat else None,
            {"seat": seat})
    return []


@operation("retireStation", Role.ADMIN)
def retire_station(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    st = unit_by_code(conn, "station", args["code"], lock=True)
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
@operation("createZone")
def create_zone(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    st = unit_by_code(conn, "station", args["station"])
    require_station_scope(ctx.principal, [st["code"]])
    conn.exec_driver_sql(
        "INSERT INTO zone (code, name, kind, has_office, station_id) VALUES (%(c)s, %(n)s, %(k)s, "
        "%(o)s, %(s)s)",
        {"c": args["code"], "n": args["name"], "k": args.get("kind") or "rural",
         "o": bool(args.get("hasOffice")), "s": st["id"]})
    return []


@operation("updateZone")
def update_zone(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    z = unit_by_code(conn, "zone", args["code"], lock=True)
    require_station_scope(ctx.principal, [z["station_code"]])
    _update(conn, "zone", z["code"], args, {"name": "name", "kind": "kind", "hasOffice": "has_office"})
    return []


@operation("retireZone")
def retire_zone(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    z = unit_by_code(conn, "zone", args["code"], lock=True)
    require_station_scope(ctx.principal, [z["station_code"]])
    _refuse_if(conn, "SELECT EXISTS (SELECT 1 FROM grid WHERE zone_id = %(z)s)", {"z": z["id"]},
               f"zone {z['code']} still has grids: reassign them first")
    conn.exec_driver_sql("UPDATE assignment SET zone_id = NULL WHERE zone_id = %(z)s", {"z": z["id"]})
    conn.exec_driver_sql("DELETE FROM zone WHERE id = %(z)s", {"z": z["id"]})
    return []


# -- communities -------------------------------------------------------------------------------
@operation("createCommunity", Role.ADMIN)
def create_community(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    tw = conn.exec_driver_sql("SELECT id FROM township WHERE code = %(c)s",
                              {"c": args.get("township")}).scalar_one_or_none()
    if tw is None:
        raise NotFound(f"unknown township code {args.get('township')}")
    require_county_wide(ctx.principal, "a new community")
    checked = area_arg(args, ctx, community=args.get("code"))
    conn.exec_driver_sql(
        "INSERT INTO community (code, name, kind, township_id, geom) VALUES "
        "(%(c)s, %(n)s, %(k)s, %(t)s, ST_Multi(ST_GeomFromWKB(%(w)s, 4326)))",
        {"c": args["code"], "n": args["name"], "k": args.get("kind") or "village", "t": tw,
         "w": shapely.to_wkb(checked.geom)})
    return checked.repairs


@operation("updateCommunity")
def update_community(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    c = unit_by_code(conn, "community", args["code"], lock=True)
    require_whole_community(ctx.principal, conn, c)
    _update(conn, "community", c["code"], args, {"name": "name", "kind": "kind"})
    return []


@operation("retireCommunity", Role.ADMIN)
def retire_community(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    c = unit_by_code(conn, "community", args["code"], lock=True)
    require_whole_community(ctx.principal, conn, c)
    _refuse_if(conn, "SELECT EXISTS (SELECT 1 FROM grid WHERE community_id = %(c)s)", {"c": c["id"]},
               f"community {c['code']} still has grids")
    conn.exec_driver_sql("UPDATE assignment SET community_id = NULL WHERE community_id = "
                         "%(c)s", {"c": c["id"]})
    conn.exec_driver_sql("DELETE FROM community WHERE id = %(c)s", {"c": c["id"]})
    return []


# -- assignments -------------------------------------------------------------------------------
def _assignment_refs(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> dict[str, Any]:
    """Ids of the zone / community / grid an assignment names; a scoped principal may name
    only a zone or grid of its station, and a community with grids in it."""
    out: dict[str, Any] = {}
    for arg, table in (("zone", "zone"), ("community", "community"), ("grid", "grid")):
        if args.get(arg):
            unit = unit_by_code(conn, table, args[arg])
            out[f"{table}_id"] = unit["id"]
            if ctx.principal.station_code is not None:
                stations = ([unit["station_code"]] if table != "community"
                            else community_stations(conn, unit["id"]))
                require_station_scope(ctx.principal, stations)
    return out


@operation("createAssignment")
def create_assignment(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    person = conn.exec_driver_sql("SELECT id FROM person WHERE code = %(c)s",
                                  {"c": args.get("person")}).scalar_one_or_none()
    if person is None:
        raise NotFound(f"unknown person code {args.get('person')}")
    st = unit_by_code(conn, "station", args["station"])
    require_station_scope(ctx.principal, [st["code"]])
    refs = _assignment_refs(conn, ctx, args)
    conn.exec_driver_sql(
        "INSERT INTO assignment (person_id, role, station_id, zone_id, community_id, grid_id, valid_from) "
        "VALUES (%(p)s, %(r)s, %(s)s, %(zone_id)s, %(community_id)s, %(grid_id)s, "
        "coalesce(%(vf)s, current_setting('jurisgrid.effective')::timestamptz))",
        {"p": person, "r": args["role"], "s": st["id"], "zone_id": refs.get("zone_id"),
         "community_id": refs.get("community_id"), "grid_id": refs.get("grid_id"),
         "vf": args.get("validFrom")})
    return []


def _assignment(conn: Connection, ctx: OpContext, aid: Any) -> dict[str, Any]:
    row = conn.exec_driver_sql(
        "SELECT a.id, s.code AS station_code FROM assignment a JOIN station s ON s.id = a.station_id "
        "WHERE a.id = %(i)s FOR UPDATE OF a", {"i": aid}).mappings().one_or_none()
    if row is None:
        raise NotFound(f"unknown assignment id {aid}")
    require_station_scope(ctx.principal, [row["station_code"]])
    return dict(row)


@operation("updateAssignment")
def update_assignment(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    a = _assignment(conn, ctx, args.get("id"))
    refs = _assignment_refs(conn, ctx, args)
    sets = [f"{k} = %({k})s" for k in refs]
    if args.get("role"):
        sets.append("role = %(role)s")
    if not sets:
        raise InvalidInput("nothing to update: give role, zone, community or grid")
    conn.exec_driver_sql(f"UPDATE assignment SET {', '.join(sets)} WHERE id = %(i)s",
                         {**refs, "role": args.get("role"), "i": a["id"]})
    return []


@operation("retireAssignment")
def retire_assignment(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    a = _assignment(conn, ctx, args.get("id"))
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
    if ctx.principal.station_code is None:
        return
    st = conn.exec_driver_sql(
        f"SELECT s.code FROM {table} p JOIN grid g ON g.id = p.grid_id JOIN zone z ON z.id = g.zone_id "
        "JOIN station s ON s.id = z.station_id WHERE p.code = %(c)s", {"c": code}).scalar_one_or_none()
    require_station_scope(ctx.principal, [st] if st else [])


def _create_point(conn: Connection, ctx: OpContext, table: str, args: dict[str, Any]) -> None:
    wkb = _point(args)
    if wkb is None:
        raise InvalidInput("a point needs lon and lat")
    cols = [c for c in POINT_FIELDS[table]]
    missing = [c for c in cols if args.get(_camel(c)) is None]
    if missing:
        raise InvalidInput(f"missing field(s): {', '.join(_camel(c) for c in missing)}")
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(cols)}, geom) VALUES "
        f"({', '.join(f'%({c})s' for c in cols)}, ST_SetSRID(ST_GeomFromWKB(decode(%(w)s, 'hex')), 4326))",
        {**{c: args[_camel(c)] for c in cols}, "w": wkb})
    _point_scope(conn, ctx, table, args["code"])
    _note(conn, table, args["code"], None)


def _update_point(conn: Connection, ctx: OpContext, table: str, args: dict[str, Any]) -> None:
    before = _snapshot(conn, table, args["code"])
    if before is None:
        raise NotFound(f"unknown {table.replace('_', ' ')} code {args['code']}")
    _point_scope(conn, ctx, table, args["code"])
    wkb = _point(args)
    _update(conn, table, args["code"], args,
            {_camel(c): c for c in POINT_FIELDS[table] if c != "code"},
            ["geom = ST_SetSRID(ST_GeomFromWKB(decode(%(w)s, 'hex')), 4326)"] if wkb else None, {"w": wkb})
    _point_scope(conn, ctx, table, args["code"])
    _note(conn, table, args["code"], before)


def _retire_point(conn: Connection, ctx: OpContext, table: str, args: dict[str, Any]) -> None:
    before = _snapshot(conn, table, args["code"])
    if before is None:
        raise NotFound(f"unknown {table.replace('_', ' ')} code {args['code']}")
    _point_scope(conn, ctx, table, args["code"])
    _note(conn, table, args["code"], before)
    conn.exec_driver_sql(f"DELETE FROM {table} WHERE code = %(c)s", {"c": args["code"]})


def _camel(col: str) -> str:
    head, *rest = col.split("_")
    return head + "".join(w.title() for w in rest)


def _point_operation(fn: Callable[[Connection, OpContext, str, dict[str, Any]], None],
                     table: str) -> OpFn:
    def op(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
        fn(conn, ctx, table, args)
        return []

    return op


# createAddressPoint, updateAddressPoint, retireAddressPoint, and the same for Incident
for _table, _type in (("address_point", "AddressPoint"), ("incident", "Incident")):
    for _verb, _fn in (("create", _create_point), ("update", _update_point),
                       ("retire", _retire_point)):
        operation(f"{_verb}{_type}", tracked=False)(_point_operation(_fn, _table))
