"""Effective-dated edits: a change with a future ``effectiveFrom`` takes effect at that instant.

Design. A future edit is validated by a dry run against the current state, then stored in
``scheduled_edit`` (operation name + JSON arguments + actor) together with what that dry run
was checked under (migration 0009): the scheduler's role, station scope and token, and the
revision it was validated on (``base_revision``). It is not applied early: the current tables
keep holding "now". :func:`apply_due` applies every stored edit whose instant has come, each as
an ordinary revision whose ``effective_from`` is the scheduled instant (so history says it took
effect then). It runs

- at the start of every edit (``runner.run_edit``) — edits always build on a state where
  everything due has happened;
- in the server's background task every ``JURISGRID_EDIT_APPLY_DUE_INTERVAL_S`` seconds;
- from the CLI: ``jurisgrid edits apply-due`` (e.g. from cron).

When it takes effect, a scheduled edit is held to the same rules as a direct edit by its author
at that moment (editing/execute.py): the author's role and **station scope** — a grid or zone
that moved to another station since is Forbidden —, the validation of the input, and the
**no-lost-update rule**: if a revision committed after ``base_revision`` changed a unit this
edit changes (the per-unit check of ``expectedRevision``, revisions.check_unchanged_since; for
address points and incidents, the points noted in the revisions), the edit is not applied and
is recorded as a ``conflict`` naming the units and revisions. Revisions that applied scheduled
edits already pending when this one was scheduled do not count: its author saw them coming
(``scheduledEdits``, a future ``asOf``). A conflict is also announced on the
``jurisdiction_changed`` channel (payload ``{"revision": null, "codes": …,
"scheduledEdit": {"id", "status": "conflict", "conflicts"}}``).

**Revoked tokens**: revoking a token (auth/tokens.revoke) cancels its pending scheduled edits
in the same transaction (``cancel_reason`` "token revoked"); an edit whose token is found
revoked when it comes due is refused all the same (Forbidden) as a backstop.

Every outcome is on the row (``status``: pending, applied, cancelled, failed, conflict, with
``error_code``/``error`` and ``conflicts``), shown by ``scheduledEdits``. A scheduled edit that
no longer applies when due (its grid was merged away, say) is ``failed`` with its error.

``asOf`` a future instant T sees the scheduled edits without applying them: their effect is
worked out once per state of the data (:func:`apply_pending_until` in a rolled-back savepoint)
and cached as rows (editing/asof.py, migration 0011); reads use the cache.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from jurisgrid.auth.checks import require_role
from jurisgrid.auth.principal import Principal, Role
from jurisgrid.auth.tokens import with_token_scope
from jurisgrid.config import EditSettings
from jurisgrid.editing.execute import Baseline, execute, map_db_error
from jurisgrid.editing.registry import get
from jurisgrid.editing.revisions import CHANNEL, NOTIFY_MAX_CODES
from jurisgrid.errors import Conflict, Forbidden, JurisgridError, NotFound
from jurisgrid.models.history import SCHEDULED_COLUMNS
from jurisgrid.models.scheduled import PENDING

log = logging.getLogger("jurisgrid.editing")

_PENDING = ("SELECT id, operation, args, actor, role, reason, effective_from, station_code, "
            "token_id, base_revision, (SELECT revoked_at IS NOT NULL FROM api_token t "
            "WHERE t.id = token_id) AS token_revoked FROM scheduled_edit "
            f"WHERE {PENDING} AND effective_from <= {{until}} "
            "ORDER BY effective_from, id")


def schedule(engine: Engine, op: str, args: dict[str, Any], *, principal: Principal,
             reason: str | None, effective_from: datetime, base_revision: int | None = None) -> int:
    """Store an edit (already validated by a dry run on ``base_revision``) with its author's
    role, station scope and token, checked again when it takes effect."""
    with engine.begin() as conn:
        return int(conn.exec_driver_sql(
            "INSERT INTO scheduled_edit (operation, args, actor, role, reason, effective_from, "
            "station_code, token_id, base_revision) VALUES (%(o)s, %(a)s::jsonb, %(ac)s, %(r)s, "
            "%(why)s, %(e)s, %(st)s, %(tk)s, %(b)s) RETURNING id",
            {"o": op, "a": json.dumps(args, default=str), "ac": principal.actor,
             "r": principal.role.value, "why": reason, "e": effective_from,
             "st": principal.station_code, "tk": principal.token_id,
             "b": base_revision}).scalar_one())


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
            "cancel_reason = %(why)s, status = 'cancelled' WHERE id = %(i)s RETURNING "
            + SCHEDULED_COLUMNS, {"a": principal.actor, "why": reason, "i": schedule_id}).mappings().one())


def _principal(row: Any) -> Principal:
    """The author as they were when scheduling (rows from before migration 0009 have no
    scope: they were checked only when scheduled)."""
    return Principal(actor=row.actor, role=Role(row.role or "admin"), station_code=row.station_code,
                     token_id=row.token_id)


def _known(conn: Connection, row: Any) -> frozenset[int]:
    """Revisions of scheduled edits already pending when ``row`` was scheduled."""
    return frozenset(r for (r,) in conn.exec_driver_sql(
        "SELECT applied_revision FROM scheduled_edit WHERE id < %(i)s AND applied_revision > %(b)s",
        {"i": row.id, "b": row.base_revision}))


def _take_effect(conn: Connection, row: Any, settings: EditSettings) -> int:
    principal = with_token_scope(conn, _principal(row))
    if row.token_revoked:
        raise Forbidden(f"the token of {row.actor} was revoked: its scheduled edits do not take "
                        "effect", details=[{"actor": row.actor, "token": row.token_id,
                                            "reason": "token revoked"}])
    require_role(principal, get(row.operation).role)
    baseline = (Baseline(int(row.base_revision), _known(conn, row))
                if row.base_revision is not None else None)
    out = execute(conn, row.operation, row.args, principal=principal, settings=settings,
                  reason=row.reason, effective_from=row.effective_from, expected_revision=None,
                  baseline=baseline)
    assert out.revision is not None
    return out.revision.id


def _record_failure(conn: Connection, row: Any, exc: JurisgridError) -> None:
    conflicts = ([d for d in exc.details if "revision" in d and "code" in d]
                 if isinstance(exc, Conflict) else [])
    status = "conflict" if conflicts else "failed"
    conn.exec_driver_sql(
        "UPDATE scheduled_edit SET status = %(s)s, error_code = %(c)s, error = %(e)s, "
        "conflicts = %(x)s::jsonb, cancelled_at = clock_timestamp(), cancelled_by = 'system', "
        "cancel_reason = CASE WHEN %(revoked)s THEN 'token revoked' ELSE cancel_reason END "
        "WHERE id = %(i)s",
        {"s": status, "c": exc.code, "e": f"{exc.code}: {exc.message}",
         "x": json.dumps(conflicts) if conflicts else None, "i": row.id,
         "revoked": bool(row.token_revoked)})
    if conflicts:
        _announce(conn, row.id, status, conflicts)


_WHERE = """
SELECT s.code, ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (
    SELECT (SELECT array_agg(DISTINCT s.code ORDER BY s.code) FROM grid g
              JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id
             WHERE g.code = ANY(%(g)s)) || (SELECT array_agg(DISTINCT s.code ORDER BY s.code)
              FROM zone z JOIN station s ON s.id = z.station_id WHERE z.code = ANY(%(z)s))
            || %(s)s::text[] AS code,
           (SELECT ST_Extent(geom) FROM grid WHERE code = ANY(%(g)s))::geometry AS b) s
"""


def _announce(conn: Connection, sid: int, status: str, conflicts: list[dict[str, Any]]) -> None:
    """NOTIFY ``jurisdiction_changed`` (delivered on commit) that a scheduled edit did not take
    effect: ``revision`` null, the units' codes with their stations and box — so subscribers
    filtering by station or bbox get it too — and ``scheduledEdit`` with the conflicts."""
    codes: dict[str, set[str]] = {}
    for c in conflicts:
        codes.setdefault(str(c["kind"]), set()).add(str(c["code"]))
    stations, *box = conn.exec_driver_sql(_WHERE, {
        "g": sorted(codes.get("grid", ())), "z": sorted(codes.get("zone", ())),
        "s": sorted(codes.get("station", ()))}).one()
    codes.setdefault("station", set()).update(s for s in stations or () if s is not None)
    payload = {"revision": None, "bbox": None if box[0] is None else [float(v) for v in box],
               "codes": {k: sorted(v)[:NOTIFY_MAX_CODES] for k, v in codes.items() if v},
               "scheduledEdit": {"id": sid, "status": status, "conflicts": conflicts[:20]}}
    conn.exec_driver_sql("SELECT pg_notify(%(c)s, %(p)s)", {"c": CHANNEL, "p": json.dumps(payload)})


def apply_pending_until(conn: Connection, until: datetime | None, *,
                        settings: EditSettings) -> list[tuple[int, int | None, str | None]]:
    """Apply pending edits due by ``until`` (None: by now) in the caller's transaction.
    Returns (schedule id, revision id or None, error) per edit tried."""
    clause = "clock_timestamp()" if until is None else "%(u)s"
    lock = " FOR UPDATE SKIP LOCKED" if until is None else ""
    rows = conn.exec_driver_sql(_PENDING.format(until=clause) + lock, {"u": until}).all()
    done: list[tuple[int, int | None, str | None]] = []
    for row in rows:
        sp = conn.begin_nested()
        try:
            try:
                rid = _take_effect(conn, row, settings)
            except DBAPIError as db_exc:
                raise map_db_error(db_exc) from None
            sp.commit()
            conn.exec_driver_sql("UPDATE scheduled_edit SET applied_revision = %(r)s, "
                                 "status = 'applied' WHERE id = %(i)s", {"r": rid, "i": row.id})
            done.append((row.id, rid, None))
        except JurisgridError as exc:
            sp.rollback()
            _record_failure(conn, row, exc)
            done.append((row.id, None, exc.message))
    return done


def seconds_to_next_due(engine: Engine) -> float | None:
    """Seconds until the next pending scheduled edit is due (≤ 0 when one is due), or None."""
    with engine.connect() as conn:
        secs = conn.exec_driver_sql(
            "SELECT extract(epoch FROM min(effective_from) - clock_timestamp()) FROM scheduled_edit "
            f"WHERE {PENDING}").scalar_one()
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
