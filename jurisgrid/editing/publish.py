"""Publishing a plan: its changes written to the live data as ONE revision — now, or at an
effective date as ONE scheduled edit — with optimistic locking against live changes since the
plan's base revision; and rebasing a plan onto today's live data.

Publishing writes the plan's overlay over the live tables (editing/plans.apply_overlay: only
rows that differ, derived outlines recomputed) inside one revision, then holds it to the
per-unit lock of ``expectedRevision`` with the plan's ``base_revision``: if a revision committed
since changed a unit the plan changes, the publish is refused with a Conflict naming the units
(grids, zones, …) and nothing is written — :func:`rebase_plan`, look, and publish again. The
revision is an ordinary one: one ``revert`` of it restores the state before.

Who: editors and admins — not planners (who plan) — and an editor scoped to a station only a
plan whose every changed grid and zone is in its station before or after.

A future ``effective_from`` stores one scheduled edit (operation ``publishPlan``, argument the
plan id) after a dry run of it now; the plan is ``scheduled`` (read-only) until it takes effect
— as one revision, under the scheduler's no-lost-update rule — or is cancelled. Rebasing is
editing/plans.rebase_plan.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from jurisgrid.auth.checks import require_scope_for_moves
from jurisgrid.auth.principal import Principal, Role
from jurisgrid.config import EditSettings
from jurisgrid.editing.execute import EditOutcome, RevisionInfo, map_db_error
from jurisgrid.editing.overlay import apply_overlay, require_plan_access
from jurisgrid.editing.revisions import (
    check_unchanged_since,
    close_revision,
    edit_warnings,
    open_revision,
)
from jurisgrid.errors import Forbidden, InvalidInput
from jurisgrid.models import plans as store

__all__ = ["publish_in", "publish_plan", "require_publisher"]

PAST_SLACK_S = 300  # an effectiveFrom up to 5 minutes in the past counts as now (runner.py)


def require_publisher(principal: Principal) -> None:
    """Editors and admins publish; planners plan (issue 12, roles)."""
    if principal.role not in (Role.EDITOR, Role.ADMIN):
        raise Forbidden(f"{principal.actor} has role {principal.role.value}; publishing a plan "
                        "needs editor (in its scope) or admin",
                        details=[{"actor": principal.actor, "role": principal.role.value,
                                  "required": "editor or admin"}])


_MOVES = """
SELECT o.code, ls.code AS before, ps.code AS after, o.deleted FROM plan_{t} o
LEFT JOIN {t} l ON l.id = o.id {live_station}
LEFT JOIN ({station}) ps ON ps.id = {plan_station_id}
WHERE o.plan_id = %(plan)s
"""


def _check_principal_scope(conn: Connection, plan_id: int, principal: Principal) -> None:
    if principal.station_code is None:
        return
    """Every grid and zone the plan changes must be in the principal's station before or
    after (as for a direct edit)."""
    station = store.overlay_sql("station")
    grid = _MOVES.format(
        t="grid", station=station,
        live_station="LEFT JOIN zone lz ON lz.id = l.zone_id LEFT JOIN station ls ON ls.id = lz.station_id",
        plan_station_id=f"(SELECT z.station_id FROM ({store.overlay_sql('zone')}) z "
                        "WHERE z.id = o.zone_id)")
    zone = _MOVES.format(t="zone", station=station,
                         live_station="LEFT JOIN station ls ON ls.id = l.station_id",
                         plan_station_id="o.station_id")
    moves = [(c, b or "", None if d else a) for sql in (grid, zone)
             for c, b, a, d in conn.exec_driver_sql(sql, {"plan": plan_id})]
    require_scope_for_moves(principal, moves)


def publish_in(conn: Connection, plan_id: int, revision_id: int, principal: Principal) -> None:
    """Inside the open revision ``revision_id``: write plan ``plan_id`` over the live data and
    refuse (Conflict naming the units) if a revision after its base changed a unit it changes.
    The caller closes the revision. Also the body of the scheduled ``publishPlan``."""
    plan = store.get_plan(conn, plan_id, lock=True)
    require_publisher(principal)
    require_plan_access(principal, plan, write=False)
    if plan["status"] == "published":
        raise InvalidInput(f"plan {plan_id} is already published (revision "
                           f"{plan['published_revision']}); copy it to publish it again")
    _check_principal_scope(conn, plan_id, principal)
    apply_overlay(conn, plan_id)
    check_unchanged_since(conn, revision_id, plan["base_revision"])
    conn.exec_driver_sql("UPDATE plan SET status = 'published', published_revision = %(r)s, "
                         "updated_at = clock_timestamp() WHERE id = %(p)s",
                         {"r": revision_id, "p": plan_id})


def publish_plan(engine: Engine, plan_id: int, *, principal: Principal, settings: EditSettings,
                 reason: str | None = None, effective_from: datetime | None = None
                 ) -> EditOutcome:
    """Publish now (one revision) or at ``effective_from`` (one scheduled edit)."""
    require_publisher(principal)
    now = datetime.now(UTC)
    if effective_from is not None:
        if effective_from.tzinfo is None:
            raise InvalidInput("effectiveFrom needs a time zone (e.g. 2026-12-01T00:00:00+08:00)")
        if (now - effective_from).total_seconds() > PAST_SLACK_S:
            raise InvalidInput("effectiveFrom is in the past: history cannot be rewritten; "
                               "omit it to publish now")
        if effective_from <= now:
            effective_from = None
    if effective_from is not None:
        return _schedule(engine, plan_id, principal=principal, settings=settings, reason=reason,
                         effective_from=effective_from)
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            if store.get_plan(conn, plan_id)["status"] == "scheduled":
                raise InvalidInput(f"plan {plan_id} is scheduled to be published: cancel its "
                                   "scheduled edit to publish it now")
            rid = open_revision(conn, actor=principal.actor, role=principal.role.value,
                                reason=reason, kind="publishPlan", tracked=True)
            publish_in(conn, plan_id, rid, principal)
            summary = close_revision(conn, rid)
            summary.impact.warnings = edit_warnings(conn, rid, tracked=True)
            at, eff = conn.exec_driver_sql("SELECT at, effective_from FROM revision "
                                           "WHERE id = %(r)s", {"r": rid}).one()
            trans.commit()
        except DBAPIError as exc:
            trans.rollback()
            raise map_db_error(exc) from None
        except BaseException:
            trans.rollback()
            raise
    return EditOutcome(RevisionInfo(rid, at, principal.actor, reason, eff), summary.impact,
                       changed_area=summary.changed_area_geojson)


def _schedule(engine: Engine, plan_id: int, *, principal: Principal, settings: EditSettings,
              reason: str | None, effective_from: datetime) -> EditOutcome:
    from jurisgrid.editing.runner import run_edit  # publishPlan registered with the operations

    with engine.connect() as conn:
        if store.get_plan(conn, plan_id)["status"] != "draft":
            raise InvalidInput(f"plan {plan_id} is not a draft: only a draft can be scheduled")
    out = run_edit(engine, "publishPlan", {"plan": plan_id}, principal=principal,
                   settings=settings, reason=reason, effective_from=effective_from)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE plan SET status = 'scheduled', scheduled_edit = %(s)s, "
                             "updated_at = clock_timestamp() WHERE id = %(p)s",
                             {"s": out.scheduled_id, "p": plan_id})
    return out
