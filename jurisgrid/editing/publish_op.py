"""The ``publishPlan`` edit operation: the body of publishing a plan, registered with the other
operations so that a publish at an effective date is ONE scheduled edit that the scheduler
applies — as one revision, under its no-lost-update rule — at the cut-over
(editing/schedule.py), and that a future ``asOf`` sees coming (editing/asof.py).
editing/publish.py publishes now and schedules; this module imports nothing from the edit
runner, so execute.py can import it to register it.
"""

from __future__ import annotations

from pydantic import field_validator
from sqlalchemy import Connection

from jurisgrid.auth.checks import require_plan_access, require_scope_for_moves
from jurisgrid.auth.principal import Principal, Role
from jurisgrid.editing.commands import Command
from jurisgrid.editing.overlay import apply_overlay
from jurisgrid.editing.registry import OpContext, operation
from jurisgrid.editing.revisions import check_unchanged_since
from jurisgrid.errors import Forbidden, InvalidInput
from jurisgrid.models import plans as store

__all__ = ["PublishPlan", "publish_in", "require_publisher"]


class PublishPlan(Command):
    """Publish the plan with this id."""

    plan: int

    @field_validator("plan")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("plan must be a plan's id (a positive integer)")
        return v


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



@operation("publishPlan", PublishPlan, Role.EDITOR)
def publish_plan_op(conn: Connection, ctx: OpContext, cmd: PublishPlan) -> list[str]:
    rid = int(conn.exec_driver_sql("SELECT current_setting('jurisgrid.revision')").scalar_one())
    publish_in(conn, cmd.plan, rid, ctx.principal)
    return []
