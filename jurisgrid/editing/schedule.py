"""Effective-dated edits: a change with a future ``effectiveFrom`` takes effect at that instant.

Design. A future edit is validated by a dry run against the current state, then stored in
``scheduled_edit`` (operation name + JSON arguments + actor). It is not applied early: the
current tables keep holding "now". :func:`apply_due` applies every stored edit whose instant
has come, each as an ordinary revision whose ``effective_from`` is the scheduled instant (so
history says it took effect then). It runs

- at the start of every edit (``runner.run_edit``) — edits always build on a state where
  everything due has happened;
- in the server's background task every ``JURISGRID_EDIT_APPLY_DUE_INTERVAL_S`` seconds;
- from the CLI: ``jurisgrid edits apply-due`` (e.g. from cron).

``asOf`` a future instant T (models/history.py) sees the scheduled edits: inside a transaction
that is always rolled back it applies the pending edits with effective_from ≤ T in order
(:func:`apply_pending_until`) and reads the current tables. A scheduled edit that no longer
applies when due (its grid was merged away, say) is marked with its error and skipped.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from jurisgrid.auth.checks import require_role
from jurisgrid.auth.principal import Principal, Role
from jurisgrid.config import EditSettings
from jurisgrid.errors import Conflict, Forbidden, JurisgridError, NotFound
from jurisgrid.models.history import SCHEDULED_COLUMNS

log = logging.getLogger("jurisgrid.editing")

_PENDING = ("SELECT id, operation, args, actor, role, reason, effective_from FROM scheduled_edit "
            "WHERE applied_revision IS NULL AND cancelled_at IS NULL AND effective_from <= {until} "
            "ORDER BY effective_from, id")


def schedule(engine: Engine, op: str, args: dict[str, Any], *, principal: Principal,
             reason: str | None, effective_from: datetime) -> int:
    with engine.begin() as conn:
        return int(conn.exec_driver_sql(
            "INSERT INTO scheduled_edit (operation, args, actor, role, reason, effective_from) "
            "VALUES (%(o)s, %(a)s::jsonb, %(ac)s, %(r)s, %(why)s, %(e)s) RETURNING id",
            {"o": op, "a": json.dumps(args, default=str), "ac": principal.actor,
             "r": principal.role.value, "why": reason, "e": effective_from}).scalar_one())


def cancel(engine: Engine, schedule_id: int, *, principal: Principal,
           reason: str | None) -> dict[str, Any]:
    """Cancel a pending scheduled edit; returns its row. Whoever scheduled it may cancel it, and
    any admin. Refused (Conflict) once it was applied or cancelled — the row is locked, so an
    edit being applied at this moment is either applied first (then Conflict) or not at all."""
    require_role(principal, Role.EDITOR)
    with engine.begin() as conn:
        row = conn.exec_driver_sql(
            "SELECT id, actor, applied_revision, cancelled_at FROM scheduled_edit "
            "WHERE id = %(i)s FOR UPDATE", {"i": schedule_id}).one_or_none()
        if row is None:
            raise NotFound(f"no scheduled edit {schedule_id}",
                           details=[{"kind": "scheduledEdit", "id": schedule_id}])
        if not principal.role.at_least(Role.ADMIN) and principal.actor != row.actor:
            raise Forbidden(f"scheduled edit {schedule_id} belongs to {row.actor}: only they or an "
                            "admin may cancel it", details=[{"required": "admin"}])
        if row.applied_revision is not None:
            raise Conflict(f"scheduled edit {schedule_id} was already applied as revision "
                           f"{row.applied_revision}; revert that revision instead")
        if row.cancelled_at is not None:
            raise Conflict(f"scheduled edit {schedule_id} was already cancelled")
        return dict(conn.exec_driver_sql(
            "UPDATE scheduled_edit SET cancelled_at = clock_timestamp(), cancelled_by = %(a)s, "
            "cancel_reason = %(why)s WHERE id = %(i)s RETURNING " + SCHEDULED_COLUMNS,
            {"a": principal.actor, "why": reason, "i": schedule_id}).mappings().one())


def _principal(row: Any) -> Principal:
    # the station scope was checked when the edit was scheduled
    return Principal(actor=row.actor, role=Role(row.role or "admin"), station_code=None)


def apply_pending_until(conn: Connection, until: datetime | None, *,
                        settings: EditSettings) -> list[tuple[int, int | None, str | None]]:
    """Apply pending edits due by ``until`` (None: by now) in the caller's transaction.
    Returns (schedule id, revision id or None, error) per edit tried."""
    from jurisgrid.editing.runner import execute

    clause = "clock_timestamp()" if until is None else "%(u)s"
    lock = " FOR UPDATE SKIP LOCKED" if until is None else ""
    rows = conn.exec_driver_sql(_PENDING.format(until=clause) + lock, {"u": until}).all()
    done: list[tuple[int, int | None, str | None]] = []
    for row in rows:
        sp = conn.begin_nested()
        try:
            out = execute(conn, row.operation, row.args, principal=_principal(row),
                          settings=settings, reason=row.reason, effective_from=row.effective_from,
                          expected_revision=None)
            sp.commit()
            rid = out.revision.id if out.revision else None
            conn.exec_driver_sql("UPDATE scheduled_edit SET applied_revision = %(r)s WHERE id = %(i)s",
                                 {"r": rid, "i": row.id})
            done.append((row.id, rid, None))
        except JurisgridError as exc:
            sp.rollback()
            conn.exec_driver_sql("UPDATE scheduled_edit SET error = %(e)s, cancelled_at = clock_timestamp(), "
                                 "cancelled_by = 'system' WHERE id = %(i)s",
                                 {"e": f"{exc.code}: {exc.message}", "i": row.id})
            done.append((row.id, None, exc.message))
    return done


def seconds_to_next_due(engine: Engine) -> float | None:
    """Seconds until the next pending scheduled edit is due (≤ 0 when one is due), or None."""
    with engine.connect() as conn:
        secs = conn.exec_driver_sql(
            "SELECT extract(epoch FROM min(effective_from) - clock_timestamp()) FROM scheduled_edit "
            "WHERE applied_revision IS NULL AND cancelled_at IS NULL").scalar_one()
        conn.rollback()
    return None if secs is None else float(secs)


def apply_due(engine: Engine, *, settings: EditSettings) -> list[tuple[int, int | None, str | None]]:
    """Apply every scheduled edit whose instant has come; cheap when none is due."""
    with engine.connect() as conn:
        due = conn.exec_driver_sql(
            "SELECT EXISTS (" + _PENDING.format(until="clock_timestamp()") + ")").scalar_one()
        conn.rollback()
    if not due:
        return []
    with engine.begin() as conn:
        done = apply_pending_until(conn, None, settings=settings)
    for sid, rid, err in done:
        if err:
            log.warning("scheduled edit %s could not be applied: %s", sid, err)
        else:
            log.info("scheduled edit %s applied as revision %s", sid, rid)
    return done
