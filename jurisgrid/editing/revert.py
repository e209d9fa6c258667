"""Revert: restore the state before a revision exactly, as a new revision.

Every row the revision changed in the historised tables gets back the version it closed (rows
it created are deleted, rows it deleted come back with their ids); address points and incidents
come back from the before/after rows the revision noted in its summary. Derived data (zone and
station outlines, point membership) is then recomputed by ``close_revision`` as for any edit.

Refused (Conflict) when a later revision changed any of the same rows (other than derived
outlines): reverting would silently undo that later edit too — revert the later one first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from jurisgrid.auth.checks import require_scope_for_moves
from jurisgrid.editing.admin_units import restore_units
from jurisgrid.editing.commands import Revert
from jurisgrid.editing.registry import OpContext, operation
from jurisgrid.editing.scope import require_county_wide, require_scope_for_units
from jurisgrid.errors import Conflict, InvalidInput, NotFound
from jurisgrid.models.history_tables import HISTORISED
from jurisgrid.models.partitions import point_county_sql, split_incident_months_of

DERIVED = {"zone": ("geom",), "station": ("geom",)}
INSERT_ORDER = ("community", "station", "zone", "person", "grid", "assignment")
DELETE_ORDER = tuple(reversed(INSERT_ORDER))


def _cols(conn: Connection, table: str) -> list[str]:
    rows = conn.exec_driver_sql(
        "SELECT h.attname FROM pg_attribute h JOIN pg_attribute b ON b.attname = h.attname "
        "AND b.attrelid = %(b)s::regclass AND b.attnum > 0 AND NOT b.attisdropped "
        "WHERE h.attrelid = %(h)s::regclass AND h.attnum > 0 AND NOT h.attisdropped "
        "ORDER BY h.attnum", {"b": table, "h": f"{table}_history"}).all()
    return [r[0] for r in rows]


def _conflicts(conn: Connection, table: str, rid: int, cols: list[str]) -> list[Any]:
    cmp = [c for c in cols if c not in DERIVED.get(table, ())]
    c_row = ", ".join(f"c.{c}" for c in cmp)
    a_row = ", ".join(f"a.{c}" for c in cmp)
    return list(conn.exec_driver_sql(
        f"SELECT a.id FROM {table}_history a LEFT JOIN {table} c ON c.id = a.id "
        f"WHERE a.rev_from = %(r)s AND (c.id IS NULL OR ROW({c_row}) IS DISTINCT FROM ROW({a_row})) "
        f"UNION ALL SELECT b.id FROM {table}_history b JOIN {table} c ON c.id = b.id "
        f"WHERE b.rev_to = %(r)s AND NOT EXISTS (SELECT 1 FROM {table}_history a "
        f"WHERE a.rev_from = %(r)s AND a.id = b.id)", {"r": rid}).all())


@operation("revert", Revert, tracked=False)
def revert(conn: Connection, ctx: OpContext, cmd: Revert) -> list[str]:
    target = cmd.revision
    row = conn.exec_driver_sql("SELECT id, reverted_by, summary, kind FROM revision WHERE id = %(r)s "
                               "FOR UPDATE", {"r": target}).one_or_none()
    if row is None:
        raise NotFound(f"unknown revision {target}", details=[{"kind": "revision", "id": target}])
    if row.kind == "loadJurisdiction":
        # a load also wrote counties, townships, address points, incidents and staff, which a
        # revert does not take back: it would leave a county without grids and points outside
        raise InvalidInput(f"revision {target} loaded whole counties (jurisgrid load) and is not "
                           "reverted; retire its units, or restore the backup taken before the load",
                           details=[{"kind": "revision", "id": target, "operation": "loadJurisdiction"}])
    if row.reverted_by is not None:
        raise Conflict(f"revision {target} was already reverted by revision {row.reverted_by}")
    moves = conn.exec_driver_sql(
        "SELECT h.code, sb.code, sa.code FROM grid_history h "
        "LEFT JOIN zone zb ON zb.id = h.zone_id LEFT JOIN station sb ON sb.id = zb.station_id "
        "LEFT JOIN grid g ON g.id = h.id LEFT JOIN zone za ON za.id = g.zone_id "
        "LEFT JOIN station sa ON sa.id = za.station_id "
        "WHERE h.rev_from = %(r)s OR h.rev_to = %(r)s", {"r": target}).all()
    require_scope_for_moves(ctx.principal, [(c, b or a, a) for c, b, a in moves])
    if row.summary.get("units"):  # a county, sector or township edit (editing/admin_units.py)
        require_county_wide(ctx.principal, f"reverting revision {target} (it changed a county, "
                            "sector or township)")
    if ctx.principal.is_scoped:
        require_scope_for_units(ctx.principal, _touched_stations(conn, target, row.summary))
    cols = {t: _cols(conn, t) for t in HISTORISED}
    bad = {t: [r[0] for r in _conflicts(conn, t, target, cols[t])] for t in HISTORISED}
    bad = {t: ids for t, ids in bad.items() if ids}
    if bad:
        raise Conflict(f"revision {target} cannot be reverted: later revisions changed the same "
                       "units; revert those first",
                       details=[{"table": t, "ids": ids[:50]} for t, ids in bad.items()])
    created = {t: [r[0] for r in conn.exec_driver_sql(
        f"SELECT id FROM {t}_history a WHERE rev_from = %(r)s AND NOT EXISTS "
        f"(SELECT 1 FROM {t}_history b WHERE b.rev_to = %(r)s AND b.id = a.id)", {"r": target})]
        for t in HISTORISED}
    # 1. rows the revision deleted come back, parents first
    for t in INSERT_ORDER:
        c = ", ".join(cols[t])
        conn.exec_driver_sql(
            f"INSERT INTO {t} ({c}) SELECT {c} FROM {t}_history b WHERE b.rev_to = %(r)s "
            f"AND NOT EXISTS (SELECT 1 FROM {t} x WHERE x.id = b.id)", {"r": target})
    # 2. rows the revision changed get their previous values
    for t in INSERT_ORDER:
        upd = [c for c in cols[t] if c != "id" and c not in DERIVED.get(t, ())]
        sets = ", ".join(f"{c} = b.{c}" for c in upd)
        conn.exec_driver_sql(
            f"UPDATE {t} x SET {sets} FROM {t}_history b WHERE b.rev_to = %(r)s AND x.id = b.id "
            f"AND EXISTS (SELECT 1 FROM {t}_history a WHERE a.rev_from = %(r)s AND a.id = b.id)",
            {"r": target})
    # 3. rows the revision created go, children first (points move to the grid covering them)
    doomed = created["grid"]
    if doomed:
        for pt in ("address_point", "incident"):
            conn.exec_driver_sql(  # the boundary rule without the doomed grids
                f"UPDATE {pt} p SET grid_id = jg_grid_at(p.geom, excluding => %(d)s) "
                "WHERE p.grid_id = ANY(%(d)s)", {"d": doomed})
    for t in DELETE_ORDER:
        if created[t]:
            conn.exec_driver_sql(f"DELETE FROM {t} WHERE id = ANY(%(i)s)", {"i": created[t]})
    _restore_points(conn, row.summary.get("points") or [])
    restore_units(conn, row.summary.get("units") or [])
    conn.exec_driver_sql("UPDATE revision SET reverted_by = current_setting('jurisgrid.revision')::bigint "
                         "WHERE id = %(r)s", {"r": target})
    return []


_TOUCHED = """
SELECT 'zone ' || h.code, s.code FROM zone_history h LEFT JOIN station s ON s.id = h.station_id
 WHERE h.rev_from = %(r)s OR h.rev_to = %(r)s
UNION ALL SELECT 'zone ' || h.code, s.code FROM zone_history h JOIN zone z ON z.id = h.id
 JOIN station s ON s.id = z.station_id WHERE h.rev_from = %(r)s OR h.rev_to = %(r)s
UNION ALL SELECT 'station ' || h.code, h.code FROM station_history h
 WHERE h.rev_from = %(r)s OR h.rev_to = %(r)s
UNION ALL SELECT 'assignment ' || h.id, s.code FROM assignment_history h
 LEFT JOIN station s ON s.id = h.station_id WHERE h.rev_from = %(r)s OR h.rev_to = %(r)s
UNION ALL SELECT 'community ' || h.code, NULL FROM community_history h
 WHERE h.rev_from = %(r)s OR h.rev_to = %(r)s
"""
_POINT_STATION = """
SELECT s.code FROM grid g JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id
WHERE g.id = jg_grid_at(ST_GeomFromEWKB(decode(%(w)s, 'hex')))
"""


def _touched_stations(conn: Connection, target: int, summary: dict[str, Any]) -> dict[str, set[str | None]]:
    """Every unit other than grids (checked as moves) that reverting ``target`` changes, with
    the stations it was in — before or after the revision, or now. A community counts as in
    a station only when all its grids are (editing/scope.py)."""
    units: dict[str, set[str | None]] = {}
    for label, station in conn.exec_driver_sql(_TOUCHED, {"r": target}):
        units.setdefault(label, set()).add(station)
    for label in [k for k in units if k.startswith("community ")]:
        stations = conn.exec_driver_sql(
            "SELECT DISTINCT s.code FROM community c JOIN grid g ON g.community_id = c.id "
            "JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id "
            "WHERE c.code = %(c)s", {"c": label.split(" ", 1)[1]}).scalars().all()
        units[label] = set(stations) if len(stations) == 1 else {None}
    for e in summary.get("points") or []:
        label = f"{e['table'].replace('_', ' ')} {e['code']}"
        for version in (e.get("before"), e.get("after")):
            if version and version.get("ewkb"):
                units.setdefault(label, set()).add(
                    conn.exec_driver_sql(_POINT_STATION, {"w": version["ewkb"]}).scalar_one_or_none())
    return units


def _restore_points(conn: Connection, entries: list[dict[str, Any]]) -> None:
    for e in reversed(entries):
        table, code, before = e["table"], e["code"], e["before"]
        if table not in ("address_point", "incident"):
            continue
        if before is None:
            conn.exec_driver_sql(f"DELETE FROM {table} WHERE code = %(c)s", {"c": code})
            continue
        fields = [k for k in before if k not in ("ewkb",)]
        params = {**{k: before[k] for k in fields}, "w": before["ewkb"]}
        cols = ", ".join(fields)
        vals = ", ".join(f"%({k})s" for k in fields)
        sets = ", ".join(f"{k} = %({k})s" for k in fields if k != "code")
        # by code, in whichever county's partition the row is now: an UPDATE moves it back
        # (grid_id = NULL: the membership trigger re-places it, county included); else insert
        # it with its county, the partition key (models/partitions.py)
        updated = conn.exec_driver_sql(
            f"UPDATE {table} SET {sets}, geom = ST_GeomFromEWKB(decode(%(w)s, 'hex')), grid_id = NULL "
            "WHERE code = %(code)s", params).rowcount
        if not updated:
            conn.exec_driver_sql(
                f"INSERT INTO {table} ({cols}, geom, county_code) SELECT {vals}, p.g, "
                f"{point_county_sql('p.g')} FROM (SELECT ST_GeomFromEWKB(decode(%(w)s, 'hex')) AS g) p",
                params)
        if table == "incident":
            split_incident_months_of(conn, code)
