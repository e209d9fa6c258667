"""The unit tables put back as they were at an instant, for the units of some stations — the body
of branching a plan from an instant (editing/plans.branch_as_of). It runs inside the plan's
simulation (a savepoint that is rolled back, in an open revision): what it writes becomes the
plan's overlay, never live data.

For the stations of the scope (their codes now, or then) the units in scope are: the stations;
the zones of those stations, then or now; the grids of those zones, then or now; the communities
of those grids; the assignments of those stations; the persons assigned in scope then. Each is
put back to its version in force at the instant (``<table>_history``, ``valid @> at`` — what an
``asOf`` read of that instant answers):

- a unit in force then is written as it was (grid shapes and codes, zones, stations,
  communities, persons, assignments); one retired since comes back with its id;
- a unit created since (a grid split off, a zone or station added) is removed — its address
  points and incidents are placed again by the boundary rule when the revision closes;
- an assignment in force then is in force in the plan (an end date reached since is cleared);
  one in force now (or created since) that was not in force then is removed.

Derived outlines (zone and station ``geom``) are left to ``close_revision``, which also checks
the invariants: a scope whose grids were reshaped together with grids of other stations since the
instant cannot be put back alone, and is refused by those checks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from jurisgrid.editing.overlay import DERIVED, ORDER, columns

__all__ = ["restore_as_of"]

_IDS = "jg_restore_ids"
_THEN = "h.valid @> %(t)s"
_IN_FORCE_THEN = f"{_THEN} AND h.valid_from <= %(t)s AND (h.valid_to IS NULL OR h.valid_to > %(t)s)"

# the units in scope, table by table (each step reads the ids of the steps before it)
_SCOPE = {
    "station": """
        SELECT id FROM station WHERE %(s)s::text[] IS NULL OR code = ANY(%(s)s::text[])
        UNION SELECT h.id FROM station_history h
        WHERE {then} AND (%(s)s::text[] IS NULL OR h.code = ANY(%(s)s::text[]))""",
    "zone": """
        SELECT id FROM zone WHERE station_id IN ({ids_station})
        UNION SELECT h.id FROM zone_history h WHERE {then} AND h.station_id IN ({ids_station})""",
    "grid": """
        SELECT id FROM grid WHERE zone_id IN ({ids_zone})
        UNION SELECT h.id FROM grid_history h WHERE {then} AND h.zone_id IN ({ids_zone})""",
    "community": """
        SELECT community_id FROM grid WHERE id IN ({ids_grid})
        UNION SELECT h.community_id FROM grid_history h WHERE {then} AND h.id IN ({ids_grid})""",
    "assignment": """
        SELECT id FROM assignment WHERE station_id IN ({ids_station})
        UNION SELECT h.id FROM assignment_history h WHERE {then} AND h.station_id IN ({ids_station})""",
    "person": """
        SELECT h.person_id FROM assignment_history h
        WHERE {in_force} AND h.id IN ({ids_assignment})""",
}


def _ids(table: str) -> str:
    return f"SELECT id FROM {_IDS} WHERE tbl = '{table}'"


def _scope(conn: Connection, params: dict[str, object]) -> None:
    conn.exec_driver_sql(f"CREATE TEMP TABLE {_IDS} (tbl text NOT NULL, id integer NOT NULL) "
                         "ON COMMIT DROP")
    fill = {f"ids_{t}": _ids(t) for t in ORDER}
    for table, sql in _SCOPE.items():
        body = sql.format(then=_THEN, in_force=_IN_FORCE_THEN, **fill)
        conn.exec_driver_sql(f"INSERT INTO {_IDS} (tbl, id) SELECT DISTINCT '{table}', x.id "
                             f"FROM ({body}) x(id) WHERE x.id IS NOT NULL", params)


def _put_back(conn: Connection, table: str, params: dict[str, object]) -> None:
    """Every unit of ``table`` in scope that was in force then, written as it was (an
    assignment's end date reached since cleared); a derived outline only on a unit put back."""
    cols = columns(table)
    own = [c for c in cols if c != "id" and c not in DERIVED.get(table, ())]
    picked = ["CASE WHEN h.valid_to <= now() THEN NULL ELSE h.valid_to END" if c == "valid_to"
              else f"h.{c}" for c in cols] if table == "assignment" else [f"h.{c}" for c in cols]
    when = _IN_FORCE_THEN if table == "assignment" else _THEN
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in own)
    differ = (f"({', '.join(f'{table}.{c}' for c in own)}) IS DISTINCT FROM "
              f"({', '.join(f'EXCLUDED.{c}' for c in own)})")
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(picked)} "
        f"FROM {table}_history h WHERE {when} AND h.id IN ({_ids(table)}) ORDER BY h.id "
        f"ON CONFLICT (id) DO UPDATE SET {sets} WHERE {differ}", params)


def _not_then(table: str) -> str:
    """Units of ``table`` in scope that did not exist then."""
    return (f"SELECT x.id FROM {table} x WHERE x.id IN ({_ids(table)}) AND NOT EXISTS "
            f"(SELECT 1 FROM {table}_history h WHERE h.id = x.id AND {_THEN})")


def _remove_since(conn: Connection, params: dict[str, object]) -> None:
    """Remove what did not exist then (children first), and the assignments in force now that
    were not in force then."""
    conn.exec_driver_sql(
        f"DELETE FROM assignment a WHERE a.id IN ({_not_then('assignment')}) "
        f"OR (a.id IN ({_ids('assignment')}) AND a.valid_from <= now() "
        "AND (a.valid_to IS NULL OR a.valid_to > now()) AND NOT EXISTS ("
        f"SELECT 1 FROM assignment_history h WHERE h.id = a.id AND {_IN_FORCE_THEN}))", params)
    grids = _not_then("grid")
    conn.exec_driver_sql(f"CREATE TEMP TABLE jg_restore_gone ON COMMIT DROP AS {grids}", params)
    for table in ("address_point", "incident", "assignment"):
        conn.exec_driver_sql(f"UPDATE {table} SET grid_id = NULL "
                             "WHERE grid_id IN (SELECT id FROM jg_restore_gone)")
    conn.exec_driver_sql("DELETE FROM grid WHERE id IN (SELECT id FROM jg_restore_gone)")
    conn.exec_driver_sql(f"UPDATE assignment SET zone_id = NULL WHERE zone_id IN ({_not_then('zone')})",
                         params)
    conn.exec_driver_sql(f"DELETE FROM zone WHERE id IN ({_not_then('zone')})", params)
    conn.exec_driver_sql(f"DELETE FROM station WHERE id IN ({_not_then('station')})", params)
    conn.exec_driver_sql(f"DELETE FROM community c WHERE c.id IN ({_not_then('community')}) "
                         "AND NOT EXISTS (SELECT 1 FROM grid g WHERE g.community_id = c.id) "
                         "AND NOT EXISTS (SELECT 1 FROM assignment a WHERE a.community_id = c.id)",
                         params)


def restore_as_of(conn: Connection, at: datetime, stations: list[str] | None) -> None:
    """Put the units of ``stations`` (codes; None: the county) back as they were at ``at``, in
    the caller's open revision (see the module's docstring)."""
    params: dict[str, object] = {"t": at, "s": stations}
    _scope(conn, params)
    for table in ORDER:
        _put_back(conn, table, params)
    _remove_since(conn, params)
