"""Editing a plan: every edit operation, run on the plan's state, its effect stored in the plan.

A plan stores rows, not operations (models/plans.py), so what an edit does in a plan is worked
out by running the very operation that edits live data — its validation, station-scope checks,
invariant checks, derived outlines and warnings — inside a savepoint that is rolled back:

1. the plan's overlay is written over the live tables (:func:`apply_overlay`, one revision);
2. the operation runs there, as it would live (``editing.execute.execute``);
3. every row of the historised tables written in 1–2 is read back — as the plan now has it —
   and compared with the live row; the savepoint is rolled back (live data is as before);
4. the rows that differ from live become the plan's new overlay, and the edit is recorded in the
   plan's own history (``plan_edit``).

A dry run stops before 4: its impact and warnings are those of the edit on the plan's state, so
a second edit in the same plan sees the first (cumulative). Simulating takes the writers' lock
(``open_revision``) for the few milliseconds of the savepoint, as editing does: a plan edit waits
for a live edit in progress and the other way round; reads are never blocked.

Operations that write rows without history (address points, incidents) and ``revert`` cannot
target a plan (a plan has no points of its own).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from jurisgrid.auth.checks import require_plan_access, require_role, require_scope_for_moves
from jurisgrid.auth.principal import Principal, Role
from jurisgrid.config import EditSettings
from jurisgrid.editing.execute import EditOutcome, execute
from jurisgrid.editing.overlay import (
    DERIVED,
    apply_overlay,
)
from jurisgrid.editing.overlay import (
    columns as _columns,
)
from jurisgrid.editing.overlay import (
    geometry_columns as _geometry_columns,
)
from jurisgrid.editing.restore import restore_as_of
from jurisgrid.editing.revisions import (
    LOCK_KEY,
    Impact,
    close_revision,
    current_revision,
    open_revision,
)
from jurisgrid.editing.transaction import edit_transaction
from jurisgrid.errors import Forbidden, InvalidInput, NotFound
from jurisgrid.models import plans as store
from jurisgrid.models.plan_tables import PLANNED

__all__ = ["PlanEditOutcome", "branch_as_of", "create", "edit_plan", "in_plan", "rebase_plan", "simulate",
           "store_rows", "write_assignment"]

# operations a plan cannot hold: they write rows without history, or undo live revisions
NOT_PLANNABLE = ("revert", "createAddressPoint", "updateAddressPoint", "retireAddressPoint",
                 "createIncident", "updateIncident", "retireIncident", "importGrids")



@dataclass
class PlanEditOutcome:
    plan_id: int
    edit_id: int | None                      # the plan_edit row; None on a dry run
    impact: Impact
    repairs: list[str] = field(default_factory=list)
    overlay: dict[str, int] = field(default_factory=dict)   # rows the plan overrides, per table
    changed_area: dict[str, Any] | None = None


def _select_list(table: str) -> str:
    geo = _geometry_columns(table)
    return ", ".join(f"ST_AsEWKB({c}) AS {c}" if c in geo else c for c in _columns(table))


def _capture(conn: Connection, before: int) -> tuple[dict[str, list[dict[str, Any]]], bool]:
    """The rows of every historised table written since revision ``before`` (inside the
    simulation): as they are now, or, for a deleted one, as it was (``deleted``); rows whose
    content is back to the live version are left out. Also: do the grids differ in shape or
    code from the live ones (``reshapes``)?"""
    out: dict[str, list[dict[str, Any]]] = {}
    reshapes = False
    for t in PLANNED:
        cols = _columns(t)
        live_version = (f"SELECT h.* FROM {t}_history h WHERE h.id = x.id AND h.rev_from <= %(b)s "
                        "AND (h.rev_to IS NULL OR h.rev_to > %(b)s)")
        same = " AND ".join(f"l.{c} IS NOT DISTINCT FROM x.{c}" for c in cols)
        ids = f"SELECT id FROM {t}_history WHERE rev_from > %(b)s OR rev_to > %(b)s"
        rows = [dict(r) | {"deleted": False} for r in conn.exec_driver_sql(
            f"SELECT {_select_list(t)} FROM {t} x WHERE x.id IN ({ids}) "
            f"AND NOT EXISTS (SELECT 1 FROM ({live_version}) l WHERE {same})",
            {"b": before}).mappings()]
        hist_cols = ", ".join(f"ST_AsEWKB(h.{c}) AS {c}" if c in _geometry_columns(t) else f"h.{c}"
                              for c in cols)
        rows += [dict(r) | {"deleted": True} for r in conn.exec_driver_sql(
            f"SELECT {hist_cols} FROM {t}_history h WHERE h.rev_from <= %(b)s AND h.rev_to > %(b)s "
            f"AND NOT EXISTS (SELECT 1 FROM {t} x WHERE x.id = h.id)", {"b": before}).mappings()]
        out[t] = rows
        if t == "grid" and rows:
            reshapes = bool(conn.exec_driver_sql(
                "SELECT EXISTS (SELECT 1 FROM grid x WHERE x.id IN (" + ids + ") AND NOT EXISTS ("
                "SELECT 1 FROM grid_history h WHERE h.id = x.id AND h.rev_from <= %(b)s "
                "AND (h.rev_to IS NULL OR h.rev_to > %(b)s) AND h.code = x.code "
                "AND ST_Equals(h.geom, x.geom))) OR EXISTS (SELECT 1 FROM grid_history h "
                "WHERE h.rev_from <= %(b)s AND h.rev_to > %(b)s "
                "AND NOT EXISTS (SELECT 1 FROM grid x WHERE x.id = h.id))",
                {"b": before}).scalar_one())
    return out, reshapes


def store_rows(conn: Connection, plan_id: int, rows: dict[str, list[dict[str, Any]]],
           reshapes: bool) -> dict[str, int]:
    """Replace the plan's overlay with ``rows``."""
    counts = {}
    for t in PLANNED:
        conn.exec_driver_sql(f"DELETE FROM plan_{t} WHERE plan_id = %(p)s", {"p": plan_id})
        cols = _columns(t)
        geo = _geometry_columns(t)
        values = ", ".join(f"ST_GeomFromEWKB(%({c})s)" if c in geo else f"%({c})s" for c in cols)
        batch = [{**{c: (bytes(r[c]) if c in geo and r[c] is not None else r[c]) for c in cols},
                  "deleted": r["deleted"], "plan_": plan_id} for r in rows.get(t, [])]
        if batch:
            conn.exec_driver_sql(
                f"INSERT INTO plan_{t} (plan_id, deleted, {', '.join(cols)}) "
                f"VALUES (%(plan_)s, %(deleted)s, {values})", batch)
        counts[t] = len(batch)
    conn.exec_driver_sql("UPDATE plan SET reshapes = %(r)s WHERE id = %(p)s",
                         {"r": reshapes, "p": plan_id})
    return counts


_AT_B = "{a}.rev_from <= %(b)s AND ({a}.rev_to IS NULL OR {a}.rev_to > %(b)s)"
_SCOPE_SQL = f"""
WITH changed AS (
    SELECT id FROM grid_history WHERE rev_from > %(b)s OR rev_to > %(b)s
), after AS (
    SELECT g.code, s.code AS station FROM grid g JOIN zone z ON z.id = g.zone_id
    JOIN station s ON s.id = z.station_id WHERE g.id IN (SELECT id FROM changed)
), before AS (
    SELECT h.code, s.code AS station FROM grid_history h
    JOIN zone_history z ON z.id = h.zone_id AND {_AT_B.format(a="z")}
    JOIN station_history s ON s.id = z.station_id AND {_AT_B.format(a="s")}
    WHERE h.id IN (SELECT id FROM changed) AND {_AT_B.format(a="h")}
), zchanged AS (  -- zones changed other than in their derived outline
    SELECT h.id FROM zone_history h WHERE (h.rev_from > %(b)s OR h.rev_to > %(b)s)
    AND NOT EXISTS (SELECT 1 FROM zone x JOIN zone_history v ON v.id = x.id AND {_AT_B.format(a="v")}
                    WHERE x.id = h.id AND (x.code, x.name, x.kind, x.has_office, x.station_id)
                          = (v.code, v.name, v.kind, v.has_office, v.station_id))
), zafter AS (
    SELECT z.code, s.code AS station FROM zone z JOIN station s ON s.id = z.station_id
    WHERE z.id IN (SELECT id FROM zchanged)
), zbefore AS (
    SELECT z.code, s.code AS station FROM zone_history z
    JOIN station_history s ON s.id = z.station_id AND {_AT_B.format(a="s")}
    WHERE z.id IN (SELECT id FROM zchanged) AND {_AT_B.format(a="z")}
)
SELECT code FROM (SELECT * FROM after UNION ALL SELECT * FROM before
                  UNION ALL SELECT * FROM zafter UNION ALL SELECT * FROM zbefore) u
GROUP BY code HAVING NOT bool_or(station = ANY(%(s)s)) ORDER BY code
"""


def _check_scope(conn: Connection, plan: dict[str, Any], before: int) -> None:
    """Refuse an edit that changes grids or zones outside the plan's scope: units whose station,
    both before and after, is outside it."""
    stations = store.scope_station_codes(conn, plan)
    if stations is None:
        return
    bad = [c for (c,) in conn.exec_driver_sql(_SCOPE_SQL, {"b": before, "s": stations})]
    if bad:
        where = f"{plan['scope_kind']} {plan['scope_code']}"
        raise InvalidInput(f"the edit changes units outside the plan's scope ({where}): "
                           + ", ".join(bad[:10]),
                           details=[{"kind": "unit", "code": c, "scope": where} for c in bad[:50]])


def simulate(conn: Connection, plan: dict[str, Any], fn: Callable[[Connection], Any], *,
             principal: Principal) -> tuple[Any, dict[str, list[dict[str, Any]]], bool]:
    """Run ``fn(conn)`` on the plan's state in a savepoint that is rolled back; returns what
    ``fn`` returned, the plan's rows afterwards and its ``reshapes`` flag."""
    before = current_revision(conn)
    sp = conn.begin_nested()
    try:
        rid = open_revision(conn, actor=principal.actor, role=principal.role.value,
                            reason=None, kind="plan")
        apply_overlay(conn, plan["id"])
        close_revision(conn, rid)
        result = fn(conn)
        _check_scope(conn, plan, before)
        rows, reshapes = _capture(conn, before)
    finally:
        sp.rollback()
    return result, rows, reshapes


def _lock(conn: Connection, plan_id: int) -> dict[str, Any]:
    """The plan's row, locked — after the writers' lock, which the simulation takes anyway: the
    same order as publishing (revision first, then the plan), so the two never deadlock."""
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%(k)s)", {"k": LOCK_KEY})
    return store.get_plan(conn, plan_id, lock=True)


def _edit(conn: Connection, plan_id: int, op_name: str, args: dict[str, Any],
          fn: Callable[[Connection], EditOutcome], *, principal: Principal,
          reason: str | None, dry_run: bool) -> PlanEditOutcome:
    plan = _lock(conn, plan_id)
    require_plan_access(principal, plan, write=True)
    if plan["status"] != "draft":
        raise InvalidInput(f"plan {plan_id} is {plan['status']}: it can no longer be edited "
                           "(copy it to go on planning)")
    out, rows, reshapes = simulate(conn, plan, fn, principal=principal)
    res = PlanEditOutcome(plan_id, None, out.impact, out.repairs,
                          {t: len(v) for t, v in rows.items()}, out.changed_area)
    if not dry_run:
        res.overlay = store_rows(conn, plan_id, rows, reshapes)
        summary = {"grids": out.impact.grids, "zones": out.impact.zones,
                   "stations": out.impact.stations, "population": out.impact.population,
                   "households": out.impact.households, "incidents": out.impact.incidents,
                   "warnings": [w.get("code") for w in out.impact.warnings]}
        res.edit_id = store.record_edit(conn, plan_id, op_name, args, actor=principal.actor,
                                        role=principal.role.value, reason=reason, summary=summary)
    return res


def _run(engine: Engine, body: Callable[[Connection], PlanEditOutcome]) -> PlanEditOutcome:
    with edit_transaction(engine) as (conn, trans):
        out = body(conn)
        trans.commit()
        return out


def edit_plan(engine: Engine, plan_id: int, op: str, args: dict[str, Any], *,
              principal: Principal, settings: EditSettings, reason: str | None = None,
              dry_run: bool = False) -> PlanEditOutcome:
    """Run edit operation ``op`` (a name of editing.registry) in plan ``plan_id``, in one
    transaction; nothing is stored on error or on a dry run."""
    if op in NOT_PLANNABLE:
        raise InvalidInput(f"{op} cannot target a plan: a plan holds jurisdictions and officers, "
                           "not address points, incidents or undone revisions")

    def run(conn: Connection) -> EditOutcome:
        return execute(conn, op, args, principal=principal, settings=settings, reason=reason,
                       effective_from=None, expected_revision=None)

    return _run(engine, lambda conn: _edit(conn, plan_id, op, _plain(args), run,
                                           principal=principal, reason=reason, dry_run=dry_run))


def _plain(args: Any) -> dict[str, Any]:
    if isinstance(args, dict):
        return json.loads(json.dumps(args, default=str))
    dump = getattr(args, "as_args", None) or args.model_dump
    return dict(dump())


def write_assignment(conn: Connection, plan_id: int, mapping: dict[str, str], *,
                     principal: Principal, settings: EditSettings, reason: str | None = None,
                     dry_run: bool = False) -> PlanEditOutcome:
    """Set grid → zone for the grids of ``mapping`` in the plan (one plan edit, in the caller's
    transaction): the balancer's and the workbench's writer. Grids already so are left alone;
    the usual checks apply (unknown codes, station scope of the principal, the plan's scope)."""
    if not mapping:
        raise InvalidInput("the assignment is empty")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise InvalidInput("the assignment maps grid codes to zone codes")

    def run(conn: Connection) -> EditOutcome:
        by_zone: dict[str, list[str]] = {}
        for g, z in sorted(mapping.items()):
            by_zone.setdefault(z, []).append(g)
        rid = open_revision(conn, actor=principal.actor, role=principal.role.value,
                            reason=reason, kind="assignGrids")
        _move(conn, principal, by_zone)
        summary = close_revision(conn, rid)
        return EditOutcome(None, summary.impact, [], changed_area=summary.changed_area_geojson)

    return _edit(conn, plan_id, "assignGrids", {"assignment": dict(sorted(mapping.items()))}, run,
                 principal=principal, reason=reason, dry_run=dry_run)


def _move(conn: Connection, principal: Principal, by_zone: dict[str, list[str]]) -> None:
    zones = {r["code"]: dict(r) for r in conn.exec_driver_sql(
        "SELECT z.id, z.code, s.code AS station_code FROM zone z JOIN station s ON s.id = z.station_id "
        "WHERE z.code = ANY(%(c)s)", {"c": list(by_zone)}).mappings()}
    codes = [g for gs in by_zone.values() for g in gs]
    grids = {r["code"]: dict(r) for r in conn.exec_driver_sql(
        "SELECT g.id, g.code, g.zone_id, s.code AS station_code FROM grid g "
        "JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id "
        "WHERE g.code = ANY(%(c)s) FOR UPDATE OF g", {"c": codes}).mappings()}
    missing = [("zone", z) for z in by_zone if z not in zones]
    missing += [("grid", g) for g in codes if g not in grids]
    if missing:
        raise NotFound("unknown code(s): " + ", ".join(f"{k} {c}" for k, c in missing[:10]),
                       details=[{"kind": k, "code": c} for k, c in missing])
    require_scope_for_moves(principal, [(g, grids[g]["station_code"], zones[z]["station_code"])
                                        for z, gs in by_zone.items() for g in gs])
    for z, gs in by_zone.items():
        ids = [grids[g]["id"] for g in gs if grids[g]["zone_id"] != zones[z]["id"]]
        if ids:
            conn.exec_driver_sql("UPDATE grid SET zone_id = %(z)s WHERE id = ANY(%(i)s)",
                                 {"z": zones[z]["id"], "i": ids})


def branch_as_of(conn: Connection, plan_id: int, at: datetime, *, principal: Principal) -> dict[str, int]:
    """Fill a new plan's overlay with the state in force at ``at`` for the units of its scope —
    grid shapes and codes, zones, stations, communities, persons and assignments, as an ``asOf``
    read of that instant answers (editing/restore.py); units created since are not in the plan.
    Returns the overlay counts."""
    plan = _lock(conn, plan_id)
    stations = store.scope_station_codes(conn, plan)

    def run(conn: Connection) -> None:
        rid = open_revision(conn, actor=principal.actor, role=principal.role.value,
                            reason=f"branched as of {at.isoformat()}", kind="branchAsOf")
        restore_as_of(conn, at, stations)
        close_revision(conn, rid)

    _, rows, reshapes = simulate(conn, plan, run, principal=principal)
    return store_rows(conn, plan_id, rows, reshapes)


def create(conn: Connection, *, name: str, description: str | None, scope: store.Scope,
           principal: Principal, as_of: datetime | None = None,
           from_plan: int | None = None) -> int:
    """A new plan (planners and admins; a station-scoped one only for its own station): empty
    (the live data), filled with the state of its scope in force ``as_of`` an instant, or a copy
    of plan ``from_plan``."""
    require_role(principal, Role.PLANNER)
    if principal.station_code is not None and (scope.kind, scope.code) != ("station",
                                                                           principal.station_code):
        raise Forbidden(f"{principal.actor} may only plan station {principal.station_code}",
                        details=[{"actor": principal.actor, "station": principal.station_code}])
    if as_of is not None and from_plan is not None:
        raise InvalidInput("a plan starts from live data, an instant (asOf) or a plan — not both")
    if from_plan is not None:
        require_plan_access(principal, store.get_plan(conn, from_plan), write=False)
        return store.copy_plan(conn, from_plan, name=name, description=description,
                               actor=principal.actor, scope=scope)
    if as_of is not None:
        _check_instant(conn, as_of)
    pid = store.create_plan(conn, name=name, description=description, scope=scope,
                            actor=principal.actor, base_revision=current_revision(conn),
                            base_kind="live" if as_of is None else "asOf", base_at=as_of)
    if as_of is not None:
        branch_as_of(conn, pid, as_of, principal=principal)
    return pid


def _check_instant(conn: Connection, at: datetime) -> None:
    """An instant to branch from: with a time zone, and not after now — the history holds the
    past; a future instant would also need the scheduled edits due by then."""
    if at.tzinfo is None:
        raise InvalidInput("asOf needs a time zone (e.g. 2026-12-01T00:00:00+08:00)")
    if conn.exec_driver_sql("SELECT %(t)s::timestamptz > clock_timestamp()", {"t": at}).scalar_one():
        raise InvalidInput(f"asOf {at.isoformat()} is in the future: a plan branches from the live "
                           "data or a past instant (scheduled edits are published, not branched)",
                           details=[{"field": "asOf", "value": at.isoformat()}])


def rebase_plan(conn: Connection, plan_id: int, *, principal: Principal) -> dict[str, int]:
    """Bring a draft up to date with the live data (in the caller's transaction): for each row
    the plan changes, the columns it changed keep its values and the others take today's live
    values (a three-way merge against the version at its base revision); then the derived
    outlines are recomputed on today's state, the invariants checked, and the base revision
    becomes the newest. Returns the overlay counts."""
    plan = _lock(conn, plan_id)
    require_plan_access(principal, plan, write=True)
    if plan["status"] != "draft":
        raise InvalidInput(f"plan {plan_id} is {plan['status']}: only a draft can be rebased")
    base = plan["base_revision"]
    for t in PLANNED:
        cols = [c for c in _columns(t) if c != "id" and c not in DERIVED.get(t, ())]
        sets = ", ".join(f"{c} = CASE WHEN o.{c} IS NOT DISTINCT FROM b.{c} THEN l.{c} "
                         f"ELSE o.{c} END" for c in cols)
        conn.exec_driver_sql(
            f"UPDATE plan_{t} o SET {sets} FROM {t} l, {t}_history b "
            "WHERE o.plan_id = %(p)s AND NOT o.deleted AND l.id = o.id AND b.id = o.id "
            "AND b.rev_from <= %(b)s AND (b.rev_to IS NULL OR b.rev_to > %(b)s)",
            {"p": plan_id, "b": base})
    _, rows, reshapes = simulate(conn, plan, lambda c: None, principal=principal)
    counts = store_rows(conn, plan_id, rows, reshapes)
    conn.exec_driver_sql("UPDATE plan SET base_revision = %(r)s, updated_at = clock_timestamp() "
                         "WHERE id = %(p)s", {"r": current_revision(conn), "p": plan_id})
    store.record_edit(conn, plan_id, "rebasePlan", {"from": base}, actor=principal.actor,
                      role=principal.role.value, reason=None,
                      summary={"baseRevision": current_revision(conn), "rows": counts})
    return counts




def in_plan(engine: Engine, plan: str | int, op: str, args: dict[str, Any], *,
            principal: Principal, settings: EditSettings, reason: str | None = None,
            dry_run: bool = False) -> EditOutcome:
    """:func:`edit_plan` for the edit mutations (``options: {plan}``): the plan's id as given,
    the outcome as an edit's (no revision: the live data is not changed)."""
    try:
        pid = int(str(plan))
    except ValueError:
        raise InvalidInput(f"plan must be a plan's id (an integer), not {plan!r}") from None
    out = edit_plan(engine, pid, op, args, principal=principal, settings=settings, reason=reason,
                    dry_run=dry_run)
    return EditOutcome(None, out.impact, out.repairs, changed_area=out.changed_area)
