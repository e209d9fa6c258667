"""Running one edit: authorisation, the optimistic lock, dry runs and scheduling, in one
transaction that either commits everything or nothing. The edit itself (validation, the
operation, the lock) is editing/execute.py, shared with scheduled edits taking effect."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from jurisgrid.auth.checks import require_role
from jurisgrid.auth.principal import Principal
from jurisgrid.config import EditSettings
from jurisgrid.editing.commands import Command
from jurisgrid.editing.execute import EditOutcome, RevisionInfo, execute, map_db_error
from jurisgrid.editing.registry import get
from jurisgrid.editing.schedule import apply_due, schedule
from jurisgrid.editing.staffing import breaches, staffing_warnings, stations_touched
from jurisgrid.editing.transaction import edit_transaction, effective_instant
from jurisgrid.errors import InvalidInput

__all__ = ["EditOutcome", "RevisionInfo", "execute", "map_db_error", "run_edit"]


def run_edit(engine: Engine, op: str, args: dict[str, Any] | Command, *, principal: Principal,
             settings: EditSettings, reason: str | None = None,
             effective_from: datetime | None = None, expected_revision: int | None = None,
             dry_run: bool = False) -> EditOutcome:
    """One edit, in its own transaction. Raises domain errors; nothing is written on error or
    on a dry run. A future ``effective_from`` stores the edit (after a dry run of it against the
    current state) and returns its schedule id; it is applied at that instant.

    ``args``: the operation's command (editing/commands.py), or its plain-JSON form, parsed
    here — every writer (GraphQL, ``jurisgrid edit``, import) comes through this one path."""
    spec = get(op)
    require_role(principal, spec.role)
    cmd = spec.parse(args)
    effective_from = effective_instant(effective_from)
    apply_due(engine, settings=settings)
    future = effective_from is not None
    if future and not spec.schedulable:
        raise InvalidInput(f"{op} cannot be scheduled for a future effectiveFrom")
    with edit_transaction(engine) as (conn, trans):
        savepoint = conn.begin_nested() if dry_run else None
        out = execute(conn, op, cmd, principal=principal, settings=settings, reason=reason,
                      effective_from=None, expected_revision=expected_revision)
        if savepoint is not None:  # what committing would do to the staffing norms
            assert out.revision is not None
            touched = stations_touched(conn, out.revision.id)
            after = breaches(conn, touched)
            savepoint.rollback()
            out.impact.warnings += staffing_warnings(breaches(conn, touched), after)
        if dry_run or future:
            trans.rollback()
            out.revision = None
        else:
            trans.commit()
    if future and not dry_run:
        assert effective_from is not None
        assert out.base_revision is not None
        out.scheduled_id = schedule(engine, op, cmd.as_args(), principal=principal, reason=reason,
                                    effective_from=effective_from, base_revision=out.base_revision)
    return out


def args_json(args: dict[str, Any]) -> str:
    return json.dumps(args, default=str)
