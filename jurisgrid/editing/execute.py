"""One edit inside the caller's open transaction: open the revision, validate the input, run the
operation, check the optimistic lock, close the revision.

Both ``runner.run_edit`` (direct edits, dry runs, the dry run before scheduling) and
``schedule.apply_pending_until`` (scheduled edits taking effect) call :func:`execute`, so both
go through the same validation (editing/validation.py), the same operations with their
station-scope checks, and the same per-unit lock. Keeping it here, apart from both, is what
lets ``runner`` import ``schedule`` at module level without an import cycle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from jurisgrid.auth.principal import Principal
from jurisgrid.config import EditSettings
from jurisgrid.editing import admin_units as _admin_units  # noqa: F401  (registers the operations)
from jurisgrid.editing import grids as _grids  # noqa: F401
from jurisgrid.editing import publish_op as _publish_op  # noqa: F401  (plans: publishPlan)
from jurisgrid.editing import revert as _revert  # noqa: F401
from jurisgrid.editing import units as _units  # noqa: F401
from jurisgrid.editing.commands import Command
from jurisgrid.editing.registry import OpContext, get
from jurisgrid.editing.revisions import (
    Impact,
    check_points_unchanged_since,
    check_unchanged_since,
    close_revision,
    edit_warnings,
    open_revision,
)
from jurisgrid.editing.validation import RULES, validate
from jurisgrid.errors import Conflict, InvalidInput, JurisgridError, RuleViolation


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
    # the newest revision the edit was run against (a scheduled edit keeps it, see Baseline)
    base_revision: int | None = None
    # [minLon, minLat, maxLon, maxLat] of what changed (None: nothing spatial)
    bbox: list[float] | None = None


@dataclass(frozen=True)
class Baseline:
    """What a scheduled edit was validated on: at take-effect it conflicts with any revision
    after ``revision`` that changed a unit it changes — except those in ``known`` (scheduled
    edits that were already pending when it was scheduled, so its author saw them coming)."""

    revision: int
    known: frozenset[int] = frozenset()


_KEY = re.compile(r"Key \((?P<cols>[^)]*)\)=\((?P<vals>.*)\)")


def map_db_error(exc: DBAPIError) -> JurisgridError:
    """A database refusal as a domain error whose message names no constraint or SQL."""
    code = getattr(exc.orig, "pgcode", None)
    if code in ("40001", "40P01"):
        return Conflict("a concurrent edit got there first; reload and try again")
    if isinstance(exc, IntegrityError):
        diag = getattr(exc.orig, "diag", None)
        table = (getattr(diag, "table_name", None) or "row").replace("_", " ")
        m = _KEY.search(getattr(diag, "message_detail", None) or "")
        cols, vals = (m["cols"], m["vals"]) if m else ("", "")
        if code == "23505":
            what = f"{table} {cols} {vals}" if m else f"such a {table}"
            return RuleViolation("DUPLICATE_CODE", f"{what} already exists",
                                 details=[{"kind": table, "field": cols, "code": vals}] if m else [])
        if code == "23503":
            return InvalidInput(f"unknown {cols} {vals}" if m else f"{table}: refers to a unit "
                                "that does not exist")
        if code == "23502":
            return InvalidInput(f"{getattr(diag, 'column_name', None) or 'a field'} is required")
        return InvalidInput(f"{table}: a value is out of its allowed range")
    raise exc


def execute(conn: Connection, op: str, args: dict[str, Any] | Command, *, principal: Principal,
            settings: EditSettings, reason: str | None, effective_from: datetime | None,
            expected_revision: int | None, reverts: int | None = None,
            baseline: Baseline | None = None) -> EditOutcome:
    """Run the operation inside ``conn``'s open transaction (the caller commits or rolls back).

    ``baseline`` (scheduled edits): Conflict if a revision committed since the baseline, other
    than a known one, changed a row — or an address point / incident — this edit changes.
    ``args`` are parsed into the operation's command first (InvalidInput naming the field)."""
    spec = get(op)
    cmd = spec.parse(args)
    tracked = spec.tracked
    rid = open_revision(conn, actor=principal.actor, role=principal.role.value, reason=reason,
                        kind=op, effective_from=effective_from,
                        expected_revision=expected_revision, reverts=reverts, tracked=tracked)
    base = int(conn.exec_driver_sql("SELECT max(id) FROM revision WHERE id < %(r)s",
                                    {"r": rid}).scalar_one())
    if op in RULES:
        validate(conn, op, cmd, settings)
    repairs = spec.fn(conn, OpContext(principal, settings), cmd)
    if tracked and expected_revision is not None:
        check_unchanged_since(conn, rid, expected_revision)
    if baseline is not None:
        check_unchanged_since(conn, rid, baseline.revision, ignore=baseline.known)
        check_points_unchanged_since(conn, rid, baseline.revision, ignore=baseline.known)
    summary = close_revision(conn, rid, rehome=not spec.places_points)
    summary.impact.warnings = edit_warnings(conn, rid, tracked=tracked)
    at, eff, actor, why = conn.exec_driver_sql(
        "SELECT at, effective_from, actor, reason FROM revision WHERE id = %(r)s", {"r": rid}).one()
    return EditOutcome(RevisionInfo(rid, at, actor, why, eff), summary.impact, repairs,
                       changed_area=summary.changed_area_geojson, base_revision=base,
                       bbox=summary.bbox)
