"""Plans (scenarios): named, stored drafts of the jurisdiction, read as if they were live.

A plan is a copy-on-write overlay of the historised unit tables (grid, zone, station, community,
person, assignment — migration 0013): ``plan_<table>`` holds the rows the plan has that differ
from the live ones, with the live table's columns, or a ``deleted`` marker for a live row the plan
removes. The rows of a table under a plan are the live rows it does not override plus its own
(:class:`jurisgrid.models.plans_source.PlanSource`, the read layer's third source). Live data is
never written while planning; publishing writes the plan as one revision (editing/publish.py).

API (stable; the planners' workbench builds on it). ``conn`` is an open SQLAlchemy connection;
reads need no transaction, writes happen in the caller's transaction::

    create_plan(conn, name=, description=, scope=Scope("station", "511725PS02"),
                actor=, base_revision=) -> int            # empty overlay (branched from live)
    copy_plan(conn, plan_id, name=, description=, actor=) -> int   # overlay and base copied
    get_plan(conn, plan_id) -> dict                       # NotFound if absent
    list_plans(conn, *, station=None) -> list[dict]       # newest first; a station's own
    update_plan(conn, plan_id, name=None, description=None) -> dict
    delete_plan(conn, plan_id) -> None
    plan_edits(conn, plan_id) -> list[dict]               # its own edit history, oldest first
    load_assignment(conn, plan_id) -> dict[grid_code, zone_code]   # the grids of its scope
    zone_stations(conn, plan_id) -> dict[zone_code, station_code]  # the zones of its scope
    overlay_counts(conn, plan_id) -> dict[table, int]     # rows the plan overrides, per table
    changed_grids(conn, plan_id) -> list[dict]            # {code, from_zone, to_zone}

Writing into a plan runs the edit on the plan's state and stores what changed — it needs the
editing machinery, so it lives in :mod:`jurisgrid.editing.plans`::

    write_assignment(conn, plan_id, mapping: dict[grid_code, zone_code], *, principal,
                     settings, reason=None) -> PlanEditOutcome
    edit_plan(engine, plan_id, op, args, *, principal, settings, reason=None, dry_run=False)

A plan dict has: id, name, description, scope_kind, scope_code, base_kind, base_at, base_plan,
base_revision, reshapes (its grids differ in shape or code from the live ones), status
(draft | scheduled | published), scheduled_edit, published_revision, created_by, created_at,
updated_at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from jurisgrid.errors import InvalidInput, NotFound, RuleViolation
from jurisgrid.models.plan_tables import PLANNED
from jurisgrid.models.tables import metadata

__all__ = [
    "PLANNED", "Scope", "changed_grids", "copy_plan", "create_plan", "delete_plan", "get_plan",
    "list_plans", "load_assignment", "overlay_counts", "plan_edits", "record_edit",
    "scope_station_codes", "update_plan", "zone_stations",
]

SCOPE_KINDS = ("county", "sector", "station")
MAX_NAME = 200


@dataclass(frozen=True)
class Scope:
    """What a plan may change: the whole county, a sector's stations or one station."""

    kind: str
    code: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SCOPE_KINDS:
            raise InvalidInput(f"scope must be one of {', '.join(SCOPE_KINDS)}, not {self.kind!r}")
        if (self.kind == "county") != (self.code is None):
            raise InvalidInput("a county scope has no code; a sector or station scope needs one")


# a scheduled plan whose scheduled edit was cancelled (or failed when due) is a draft again
_COLUMNS = ("id, name, description, scope_kind, scope_code, base_kind, base_at, base_plan, "
            "base_revision, reshapes, CASE WHEN status = 'scheduled' AND EXISTS (SELECT 1 FROM "
            "scheduled_edit e WHERE e.id = plan.scheduled_edit AND e.cancelled_at IS NOT NULL) "
            "THEN 'draft' ELSE status END AS status, scheduled_edit, published_revision, "
            "created_by, created_at, updated_at")


def _name(name: str | None) -> str:
    if name is None or not name.strip():
        raise InvalidInput("a plan needs a name")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise InvalidInput(f"a plan name has at most {MAX_NAME} characters")
    if any(ord(ch) < 32 for ch in name):
        raise InvalidInput("a plan name has no control characters")
    return name


def _check_scope(conn: Connection, scope: Scope) -> None:
    if scope.kind == "county":
        return
    found = conn.exec_driver_sql(f"SELECT 1 FROM {scope.kind} WHERE code = %(c)s",
                                 {"c": scope.code}).first()
    if found is None:
        raise NotFound(f"unknown {scope.kind} code: {scope.code}",
                       details=[{"kind": scope.kind, "code": scope.code}])


def _insert(conn: Connection, **values: Any) -> int:
    cols = ", ".join(values)
    params = ", ".join(f"%({k})s" for k in values)
    try:
        with conn.begin_nested():
            return int(conn.exec_driver_sql(
                f"INSERT INTO plan ({cols}) VALUES ({params}) RETURNING id", values).scalar_one())
    except IntegrityError:
        raise RuleViolation("DUPLICATE_NAME", f"a plan named {values['name']!r} already exists",
                            details=[{"kind": "plan", "field": "name", "code": values["name"]}]
                            ) from None


def create_plan(conn: Connection, *, name: str, description: str | None, scope: Scope, actor: str,
                base_revision: int, base_kind: str = "live", base_at: datetime | None = None,
                base_plan: int | None = None) -> int:
    """A new plan with an empty overlay: it reads as the live data until edited. (Branching
    from an instant fills the overlay afterwards: editing/plans.branch_as_of.)"""
    _check_scope(conn, scope)
    pid = _insert(conn, name=_name(name), description=description, scope_kind=scope.kind,
                  scope_code=scope.code, base_kind=base_kind, base_at=base_at,
                  base_plan=base_plan, base_revision=base_revision, created_by=actor)
    record_edit(conn, pid, "createPlan",
                {"scope": scope.kind, "code": scope.code, "from": base_kind,
                 "asOf": base_at.isoformat() if base_at else None, "plan": base_plan},
                actor=actor, role=None, reason=description, summary={})
    return pid


def copy_plan(conn: Connection, plan_id: int, *, name: str, description: str | None,
              actor: str, scope: Scope | None = None) -> int:
    """A new draft with the same overlay and base revision as ``plan_id`` (branch from a plan)."""
    src = get_plan(conn, plan_id)
    scope = scope or Scope(src["scope_kind"], src["scope_code"])
    _check_scope(conn, scope)
    pid = _insert(conn, name=_name(name), description=description, scope_kind=scope.kind,
                  scope_code=scope.code, base_kind="plan", base_at=None, base_plan=plan_id,
                  base_revision=src["base_revision"], reshapes=src["reshapes"], created_by=actor)
    for t in PLANNED:
        conn.exec_driver_sql(f"INSERT INTO plan_{t} SELECT %(n)s, deleted, {_cols(t)} "
                             f"FROM plan_{t} WHERE plan_id = %(p)s", {"n": pid, "p": plan_id})
    record_edit(conn, pid, "createPlan",
                {"scope": scope.kind, "code": scope.code, "from": "plan", "plan": plan_id},
                actor=actor, role=None, reason=description,
                summary={"copiedFrom": plan_id, "rows": overlay_counts(conn, pid)})
    return pid


def get_plan(conn: Connection, plan_id: int, *, lock: bool = False) -> dict[str, Any]:
    row = conn.exec_driver_sql(f"SELECT {_COLUMNS} FROM plan WHERE id = %(p)s"
                               + (" FOR UPDATE" if lock else ""), {"p": plan_id}).mappings().first()
    if row is None:
        raise NotFound(f"unknown plan {plan_id}", details=[{"kind": "plan", "code": str(plan_id)}])
    return dict(row)


def list_plans(conn: Connection, *, station: str | None = None) -> list[dict[str, Any]]:
    """Every plan, newest first; with ``station``, only the plans of that station's scope."""
    where = "" if station is None else "WHERE scope_kind = 'station' AND scope_code = %(s)s"
    return [dict(r) for r in conn.exec_driver_sql(
        f"SELECT {_COLUMNS} FROM plan {where} ORDER BY id DESC", {"s": station}).mappings()]


def update_plan(conn: Connection, plan_id: int, *, name: str | None = None,
                description: str | None = None) -> dict[str, Any]:
    """Rename and/or re-describe (an empty description clears it)."""
    get_plan(conn, plan_id, lock=True)
    if name is None and description is None:
        raise InvalidInput("nothing to update: give a name or a description")
    sets: list[str] = ["updated_at = clock_timestamp()"]
    params: dict[str, Any] = {"p": plan_id}
    if name is not None:
        sets.append("name = %(n)s")
        params["n"] = _name(name)
    if description is not None:
        sets.append("description = %(d)s")
        params["d"] = description or None
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(f"UPDATE plan SET {', '.join(sets)} WHERE id = %(p)s", params)
    except IntegrityError:
        raise RuleViolation("DUPLICATE_NAME", f"a plan named {name!r} already exists",
                            details=[{"kind": "plan", "field": "name", "code": name}]) from None
    return get_plan(conn, plan_id)


def delete_plan(conn: Connection, plan_id: int) -> None:
    """Delete a plan with its overlay and history. A plan scheduled for publishing is refused
    (cancel the scheduled edit first); plans branched from it keep their own copy."""
    plan = get_plan(conn, plan_id, lock=True)
    if plan["status"] == "scheduled":
        raise InvalidInput(f"plan {plan_id} is scheduled to be published (scheduled edit "
                           f"{plan['scheduled_edit']}): cancel that first")
    conn.exec_driver_sql("DELETE FROM plan WHERE id = %(p)s", {"p": plan_id})


def record_edit(conn: Connection, plan_id: int, operation: str, args: dict[str, Any], *,
                actor: str, role: str | None, reason: str | None,
                summary: dict[str, Any]) -> int:
    conn.exec_driver_sql("UPDATE plan SET updated_at = clock_timestamp() WHERE id = %(p)s",
                         {"p": plan_id})
    return int(conn.exec_driver_sql(
        "INSERT INTO plan_edit (plan_id, operation, args, actor, role, reason, summary) "
        "VALUES (%(p)s, %(o)s, %(a)s::jsonb, %(actor)s, %(role)s, %(r)s, %(s)s::jsonb) RETURNING id",
        {"p": plan_id, "o": operation, "a": json.dumps(args, default=str), "actor": actor,
         "role": role, "r": reason, "s": json.dumps(summary, default=str)}).scalar_one())


def plan_edits(conn: Connection, plan_id: int) -> list[dict[str, Any]]:
    get_plan(conn, plan_id)
    return [dict(r) for r in conn.exec_driver_sql(
        "SELECT id, operation, args, actor, role, reason, at, summary FROM plan_edit "
        "WHERE plan_id = %(p)s ORDER BY id", {"p": plan_id}).mappings()]


# -- reading a plan's state (plain SQL over the overlay; PlanSource is the general read path) --
def overlay_sql(table: str, plan_param: str = "%(plan)s") -> str:
    """The rows of ``table`` under the plan ``plan_param`` (SQL), with the live columns; for
    ``assignment`` only those in force now."""
    cols = ", ".join(f"b.{c}" for c in _table_columns(table))
    ocols = ", ".join(f"o.{c}" for c in _table_columns(table))
    now = " AND b.valid_to IS NULL" if table == "assignment" else ""
    onow = " AND o.valid_to IS NULL" if table == "assignment" else ""
    return (f"SELECT {cols} FROM {table} b WHERE NOT EXISTS (SELECT 1 FROM plan_{table} o "
            f"WHERE o.plan_id = {plan_param} AND o.id = b.id){now} "
            f"UNION ALL SELECT {ocols} FROM plan_{table} o "
            f"WHERE o.plan_id = {plan_param} AND NOT o.deleted{onow}")


def scope_station_codes(conn: Connection, plan: dict[str, Any]) -> list[str] | None:
    """The stations of the plan's scope (None: the county, every station) — under the plan."""
    if plan["scope_kind"] == "county":
        return None
    if plan["scope_kind"] == "station":
        return [plan["scope_code"]]
    return [c for (c,) in conn.exec_driver_sql(
        f"SELECT s.code FROM ({overlay_sql('station')}) s JOIN sector se ON se.id = s.sector_id "
        "WHERE se.code = %(sector)s ORDER BY s.code",
        {"plan": plan["id"], "sector": plan["scope_code"]})]


def load_assignment(conn: Connection, plan_id: int) -> dict[str, str]:
    """grid code → zone code under the plan, for the grids of its scope."""
    plan = get_plan(conn, plan_id)
    stations = scope_station_codes(conn, plan)
    rows = conn.exec_driver_sql(
        f"SELECT g.code, z.code FROM ({overlay_sql('grid')}) g JOIN ({overlay_sql('zone')}) z "
        f"ON z.id = g.zone_id JOIN ({overlay_sql('station')}) s ON s.id = z.station_id "
        "WHERE %(st)s::text[] IS NULL OR s.code = ANY(%(st)s::text[]) ORDER BY g.code",
        {"plan": plan_id, "st": stations})
    return {g: z for g, z in rows}


def zone_stations(conn: Connection, plan_id: int) -> dict[str, str]:
    """zone code → station code under the plan, for the zones of its scope."""
    plan = get_plan(conn, plan_id)
    stations = scope_station_codes(conn, plan)
    rows = conn.exec_driver_sql(
        f"SELECT z.code, s.code FROM ({overlay_sql('zone')}) z JOIN ({overlay_sql('station')}) s "
        "ON s.id = z.station_id WHERE %(st)s::text[] IS NULL OR s.code = ANY(%(st)s::text[]) "
        "ORDER BY z.code", {"plan": plan_id, "st": stations})
    return {z: s for z, s in rows}


def overlay_counts(conn: Connection, plan_id: int) -> dict[str, int]:
    return {t: int(conn.exec_driver_sql(f"SELECT count(*) FROM plan_{t} WHERE plan_id = %(p)s",
                                        {"p": plan_id}).scalar_one()) for t in PLANNED}


def changed_grids(conn: Connection, plan_id: int) -> list[dict[str, Any]]:
    """The grids whose zone the plan changes: code, live zone, plan zone (None: removed)."""
    return [dict(r) for r in conn.exec_driver_sql(
        "SELECT coalesce(o.code, g.code) AS code, lz.code AS from_zone, "
        "CASE WHEN o.deleted THEN NULL ELSE pz.code END AS to_zone "
        "FROM plan_grid o LEFT JOIN grid g ON g.id = o.id LEFT JOIN zone lz ON lz.id = g.zone_id "
        f"LEFT JOIN ({overlay_sql('zone')}) pz ON pz.id = o.zone_id "
        "WHERE o.plan_id = %(plan)s AND (o.deleted OR g.id IS NULL OR g.zone_id <> o.zone_id) "
        "ORDER BY 1", {"plan": plan_id}).mappings()]


# -- columns -----------------------------------------------------------------------------------
def _table_columns(table: str) -> list[str]:
    return [c.name for c in metadata.tables[table].columns]


def _cols(table: str) -> str:
    return ", ".join(_table_columns(table))
