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

Each unit table is described once, in ``_UNITS`` (how its ids come into scope, and what a unit
created since takes with it when removed); the statements are derived from that and from the
table's columns, so a new unit table is one line there besides its place in ``overlay.ORDER``.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection

from jurisgrid.editing.overlay import DERIVED, ORDER, columns

__all__ = ["restore_as_of"]

_IDS = "jg_restore_ids"
_GONE = "jg_restore_gone"
_THEN = "h.valid @> %(t)s"
_IN_FORCE_THEN = f"{_THEN} AND h.valid_from <= %(t)s AND (h.valid_to IS NULL OR h.valid_to > %(t)s)"
_IN_FORCE_NOW = "x.valid_from <= now() AND (x.valid_to IS NULL OR x.valid_to > now())"


class _Unit(NamedTuple):
    """A unit table of the scope. In scope: the ``pick`` of the rows of ``source``, now and in
    its history then, whose ``key`` is among the ids in scope of ``parent`` (None: among the
    station codes asked for, or any); ``then_only``: only the history's rows in force then.
    A unit created since is removed after ``detach`` (the references to it set to NULL), unless
    one of ``kept_while`` still refers to it; ``removed=False``: never removed. ``dated``: the
    rows have a period in force of their own (``valid_from``, ``valid_to``) besides their
    versions — an assignment —, so "as it was" also means "in force then"."""

    pick: str
    source: str
    key: str
    parent: str | None
    then_only: bool = False
    detach: tuple[str, ...] = ()
    kept_while: tuple[str, ...] = ()
    removed: bool = True
    dated: bool = False


# in scope order (each reads the ids of the units before it)
_UNITS = {
    "station": _Unit("id", "station", "code", None),
    "zone": _Unit("id", "zone", "station_id", "station", detach=("assignment.zone_id",)),
    "grid": _Unit("id", "grid", "zone_id", "zone",
                  detach=("address_point.grid_id", "incident.grid_id", "assignment.grid_id")),
    "community": _Unit("community_id", "grid", "id", "grid",
                       kept_while=("grid.community_id", "assignment.community_id")),
    "assignment": _Unit("id", "assignment", "station_id", "station", dated=True),
    "person": _Unit("person_id", "assignment", "id", "assignment", then_only=True, removed=False),
}


def _ids(table: str) -> str:
    return f"SELECT id FROM {_IDS} WHERE tbl = '{table}'"


def _in_scope(unit: _Unit) -> str:
    """The ids in scope of a unit table (see ``_Unit``)."""
    def among(col: str) -> str:
        if unit.parent is None:
            return f"(%(s)s::text[] IS NULL OR {col} = ANY(%(s)s::text[]))"
        return f"{col} IN ({_ids(unit.parent)})"

    when = _IN_FORCE_THEN if unit.then_only else _THEN
    then = f"SELECT h.{unit.pick} FROM {unit.source}_history h WHERE {when} AND {among(f'h.{unit.key}')}"
    if unit.then_only:
        return then
    return f"SELECT {unit.pick} FROM {unit.source} WHERE {among(unit.key)} UNION {then}"


def _scope(conn: Connection, params: dict[str, object]) -> None:
    conn.exec_driver_sql(f"CREATE TEMP TABLE {_IDS} (tbl text NOT NULL, id integer NOT NULL) "
                         "ON COMMIT DROP")
    for table, unit in _UNITS.items():
        conn.exec_driver_sql(f"INSERT INTO {_IDS} (tbl, id) SELECT DISTINCT '{table}', x.id "
                             f"FROM ({_in_scope(unit)}) x(id) WHERE x.id IS NOT NULL", params)


def _put_back(conn: Connection, table: str, params: dict[str, object]) -> None:
    """Every unit of ``table`` in scope that was in force then, written as it was (an
    assignment's end date reached since cleared); a derived outline only on a unit put back."""
    cols = columns(table)
    own = [c for c in cols if c != "id" and c not in DERIVED.get(table, ())]
    picked = ["CASE WHEN h.valid_to <= now() THEN NULL ELSE h.valid_to END" if c == "valid_to"
              else f"h.{c}" for c in cols] if _UNITS[table].dated else [f"h.{c}" for c in cols]
    when = _IN_FORCE_THEN if _UNITS[table].dated else _THEN
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in own)
    differ = (f"({', '.join(f'{table}.{c}' for c in own)}) IS DISTINCT FROM "
              f"({', '.join(f'EXCLUDED.{c}' for c in own)})")
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(picked)} "
        f"FROM {table}_history h WHERE {when} AND h.id IN ({_ids(table)}) ORDER BY h.id "
        f"ON CONFLICT (id) DO UPDATE SET {sets} WHERE {differ}", params)


def _gone(table: str) -> str:
    """Units of ``table`` in scope that did not exist then; of assignments, also those in force
    now that were not in force then."""
    sql = (f"SELECT x.id FROM {table} x WHERE (x.id IN ({_ids(table)}) AND NOT EXISTS "
           f"(SELECT 1 FROM {table}_history h WHERE h.id = x.id AND {_THEN}))")
    if _UNITS[table].dated:
        sql += (f" OR (x.id IN ({_ids(table)}) AND {_IN_FORCE_NOW} AND NOT EXISTS "
                f"(SELECT 1 FROM {table}_history h WHERE h.id = x.id AND {_IN_FORCE_THEN}))")
    return sql


def _remove_since(conn: Connection, params: dict[str, object]) -> None:
    """Remove what did not exist then, children first (see ``_Unit`` and ``_gone``)."""
    conn.exec_driver_sql(f"CREATE TEMP TABLE {_GONE} (tbl text NOT NULL, id integer NOT NULL) "
                         "ON COMMIT DROP")
    for table in reversed(ORDER):
        unit = _UNITS[table]
        if not unit.removed:
            continue
        conn.exec_driver_sql(f"INSERT INTO {_GONE} (tbl, id) SELECT '{table}', id FROM ({_gone(table)}) x",
                             params)
        gone = f"SELECT id FROM {_GONE} WHERE tbl = '{table}'"
        for other, col in (ref.split(".") for ref in unit.detach):
            conn.exec_driver_sql(f"UPDATE {other} SET {col} = NULL WHERE {col} IN ({gone})")
        kept = "".join(f" AND NOT EXISTS (SELECT 1 FROM {other} r WHERE r.{col} = x.id)"
                       for other, col in (ref.split(".") for ref in unit.kept_while))
        conn.exec_driver_sql(f"DELETE FROM {table} x WHERE x.id IN ({gone}){kept}")


def restore_as_of(conn: Connection, at: datetime, stations: list[str] | None) -> None:
    """Put the units of ``stations`` (codes; None: the county) back as they were at ``at``, in
    the caller's open revision (see the module's docstring)."""
    params: dict[str, object] = {"t": at, "s": stations}
    _scope(conn, params)
    for table in ORDER:
        _put_back(conn, table, params)
    _remove_since(conn, params)
