"""History queries: ``currentRevision``, ``revisions`` (with the changed area as GeoJSON) and
``scheduledEdits``. (``asOf`` on the unit queries is a source of the one read layer:
jurisgrid/models/source.py, jurisgrid/gql/source.py.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from jurisgrid.editing.revisions import current_revision
from jurisgrid.gql.scalars import GeoJSON
from jurisgrid.models import history


@strawberry.type(description="One committed change: who, when, why, what.")
class Revision:
    id: int
    actor: str
    role: str | None
    at: datetime
    effective_from: datetime
    reason: str | None
    kind: str = strawberry.field(description="the mutation that made it, e.g. reassignGrids")
    summary: JSON = strawberry.field(
        description="codes of the grids/zones/stations changed and the numbers moved")
    changed_area: GeoJSON | None
    reverts: int | None
    reverted_by: int | None


@strawberry.type(description="An edit waiting for its effectiveFrom (and what became of it).")
class ScheduledEdit:
    id: int
    operation: str
    args: JSON
    actor: str
    reason: str | None
    effective_from: datetime
    applied_revision: int | None = strawberry.field(description="set once it took effect")
    cancelled_at: datetime | None
    cancelled_by: str | None = strawberry.field(
        description="who cancelled it (cancelScheduledEdit); `system` when it no longer applied "
                    "when due (see error)")
    cancel_reason: str | None
    error: str | None
    status: str = strawberry.field(
        description="pending, applied, cancelled, failed (see errorCode/error: e.g. FORBIDDEN when "
                    "the scheduler's station scope no longer covers the units, or its token was "
                    "revoked) or conflict (a later committed edit changed the same units: see "
                    "conflicts; the scheduled edit is not applied, so the later edit is kept)")
    error_code: str | None = strawberry.field(description="the error's code, e.g. FORBIDDEN, CONFLICT")
    conflicts: list[JSON] | None = strawberry.field(
        description="on a conflict: the units and the revisions that changed them after it was "
                    "scheduled, as {kind, code, revision}")
    station_code: str | None = strawberry.field(
        description="the scheduler's station scope, checked again when it takes effect (null: "
                    "county-wide)")
    base_revision: int | None = strawberry.field(
        description="the revision it was validated on; later changes to the same units conflict")


def _revision(r: dict[str, Any]) -> Revision:
    return Revision(**r)


@strawberry.type
class HistoryQuery:
    @strawberry.field(description="The newest revision id: send it as expectedRevision.")
    async def current_revision(self, info: Info) -> int:
        return await info.context.db(current_revision)

    @strawberry.field(description="Revisions, newest first; `before` pages by id.")
    async def revisions(self, info: Info, first: int = 50, before: int | None = None,
                        since: datetime | None = None, until: datetime | None = None,
                        actor: str | None = None, kind: str | None = None,
                        code: str | None = None) -> list[Revision]:
        n = info.context.page_size(first)
        rows = await info.context.db(history.revisions, first=n, before=before, since=since,
                                     until=until, actor=actor, kind=kind, code=code)
        return [_revision(r) for r in rows]

    @strawberry.field(description="Edits scheduled for a future effectiveFrom (and what became of "
                      "them); `pending: true` lists only those still waiting.")
    async def scheduled_edits(self, info: Info, pending: bool = False) -> list[ScheduledEdit]:
        rows = await info.context.db(history.scheduled, pending_only=pending)
        return [ScheduledEdit(**r) for r in rows]
