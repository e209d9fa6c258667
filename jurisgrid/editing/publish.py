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

from datetime import datetime

from sqlalchemy import Engine

from jurisgrid.auth.principal import Principal
from jurisgrid.config import EditSettings
from jurisgrid.editing.execute import EditOutcome, RevisionInfo
from jurisgrid.editing.publish_op import publish_in, require_publisher
from jurisgrid.editing.revisions import (
    close_revision,
    edit_warnings,
    open_revision,
)
from jurisgrid.editing.transaction import edit_transaction, effective_instant
from jurisgrid.errors import InvalidInput
from jurisgrid.models import plans as store

__all__ = ["publish_plan"]


def publish_plan(engine: Engine, plan_id: int, *, principal: Principal, settings: EditSettings,
                 reason: str | None = None, effective_from: datetime | None = None
                 ) -> EditOutcome:
    """Publish now (one revision) or at ``effective_from`` (one scheduled edit)."""
    require_publisher(principal)
    effective_from = effective_instant(effective_from, verb="publish")
    if effective_from is not None:
        return _schedule(engine, plan_id, principal=principal, settings=settings, reason=reason,
                         effective_from=effective_from)
    with edit_transaction(engine) as (conn, trans):
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
