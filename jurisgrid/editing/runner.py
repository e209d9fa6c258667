"""Running one edit: authorisation, the optimistic lock, dry runs and scheduling, in one
transaction that either commits everything or nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from jurisgrid.auth.checks import require_role
from jurisgrid.auth.principal import Principal
from jurisgrid.config import EditSettings
from jurisgrid.editing import grids as _grids  # noqa: F401  (registers the operations)
from jurisgrid.editing import revert as _revert  # noqa: F401
from jurisgrid.editing import units as _units  # noqa: F401
from jurisgrid.editing.registry import OPS, OpContext
from jurisgrid.editing.revisions import (
    Impact,
    check_unchanged_since,
    close_revision,
    open_revision,
)
from jurisgrid.errors import Conflict, InvalidInput, JurisgridError

# effectiveFrom up to this far in the past counts as "now" (clocks of clients drift)
PAST_SLACK = timedelta(minutes=5)


@dataclass
class RevisionInfo:
    id: int
    at: datetime
    actor: str
    reason: str | None
    effective_from: datetime


@dataclass
class EditOutcome:
    revision: RevisionInfo | None
    impact: Impact
    repairs: list[str] = field(default_factory=list)
    scheduled_id: int | None = None
    changed_area: dict[str, Any] | None = None


def map_db_error(exc: DBAPIError) -> JurisgridError:
    code = getattr(exc.orig, "pgcode", None)
    if code in ("40001", "40P01"):
        return Conflict("a concurrent edit got there first; reload and try again")
    if isinstance(exc, IntegrityError):
        diag = getattr(exc.orig, "diag", None)
        msg = getattr(diag, "message_primary", None) or str(exc.orig).splitlines()[0]
        if code == "23505":
            return Conflict(f"already exists: {msg}")
        return InvalidInput(f"refused by the database: {msg}")
    raise exc


def execute(conn: Connection, op: str, args: dict[str, Any], *, principal: Principal,
            settings: EditSettings, reason: str | None, effective_from: datetime | None,
            expected_revision: int | None, reverts: int | None = None) -> EditOutcome:
    """Run the operation inside ``conn``'s open transaction (the caller commits or rolls back)."""
    tracked = OPS[op].tracked
    rid = open_revision(conn, actor=principal.actor, role=principal.role.value, reason=reason,
                        kind=op, effective_from=effective_from,
                        expected_revision=expected_revision, reverts=reverts, tracked=tracked)
    repairs = OPS[op].fn(conn, OpContext(principal, settings), args)
    if tracked and expected_revision is not None:
        check_unchanged_since(conn, rid, expected_revision)
    summary = close_revision(conn, rid)
    at, eff, actor, why = conn.exec_driver_sql(
        "SELECT at, effective_from, actor, reason FROM revision WHERE id = %(r)s", {"r": rid}).one()
    return EditOutcome(RevisionInfo(rid, at, actor, why, eff), summary.impact, repairs,
                       changed_area=summary.changed_area_geojson)


def run_edit(engine: Engine, op: str, args: dict[str, Any], *, principal: Principal,
             settings: EditSettings, reason: str | None = None,
             effective_from: datetime | None = None, expected_revision: int | None = None,
             dry_run: bool = False) -> EditOutcome:
    """One edit, in its own transaction. Raises domain errors; nothing is written on error or
    on a dry run. A future ``effective_from`` stores the edit (after a dry run of it against the
    current state) and returns its schedule id; it is applied at that instant."""
    if op not in OPS:
        raise InvalidInput(f"unknown operation {op!r}")
    require_role(principal, OPS[op].role)
    now = datetime.now(UTC)
    if effective_from is not None:
        if effective_from.tzinfo is None:
            raise InvalidInput("effectiveFrom needs a time zone (e.g. 2026-12-01T00:00:00+08:00)")
        if effective_from < now - PAST_SLACK:
            raise InvalidInput("effectiveFrom is in the past: history cannot be rewritten; "
                               "omit it to edit now")
        if effective_from <= now:
            effective_from = None
    from jurisgrid.editing.schedule import apply_due, schedule

    apply_due(engine, settings=settings)
    future = effective_from is not None
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            out = execute(conn, op, args, principal=principal, settings=settings, reason=reason,
                          effective_from=None, expected_revision=expected_revision)
            if dry_run or future:
                trans.rollback()
                out.revision = None
            else:
                trans.commit()
        except DBAPIError as exc:
            trans.rollback()
            raise map_db_error(exc) from None
        except BaseException:
            trans.rollback()
            raise
    if future and not dry_run:
        assert effective_from is not None
        out.scheduled_id = schedule(engine, op, args, principal=principal, reason=reason,
                                    effective_from=effective_from)
    return out


def args_json(args: dict[str, Any]) -> str:
    return json.dumps(args, default=str)
