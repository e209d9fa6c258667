"""Result types of the mutations: ``EditResult = EditSuccess | ValidationError | ConflictError |
ForbiddenError | NotFound`` — expected failures are typed, with a code and per-feature details."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from jurisgrid import errors
from jurisgrid.editing.runner import EditOutcome
from jurisgrid.gql.scalars import GeoJSON


@strawberry.type(description="A committed revision, as an edit result refers to it.")
class RevisionRef:
    id: int
    at: datetime
    actor: str
    reason: str | None
    effective_from: datetime


@strawberry.type(description="Something an edit does that its author may not mean — shown, not refused.")
class EditWarning:
    code: str = strawberry.field(description=(
        "ZONE_SPLIT (a zone left in more pieces than before), STATION_CHANGE (grids or zones "
        "move to another station), NO_CHANGE (the units are already so), STAFFING_BREACH_CREATED "
        "/ STAFFING_BREACH_CLEARED (a staffing norm of the sizing policy; dry runs only)"))
    message: str
    units: list[str] = strawberry.field(description="codes of the units concerned")
    details: JSON = strawberry.field(
        description="the figures behind it (pieces, stations, rule, value, limit)")


@strawberry.type(description="What an edit changes (or, on a dry run, would change).")
class Impact:
    grids: list[str] = strawberry.field(description="grids whose zone or shape changes")
    zones: list[str] = strawberry.field(description="zones whose boundary changes")
    stations: list[str] = strawberry.field(description="stations whose boundary changes")
    population: int = strawberry.field(description="实有人口 that changes zone or grid")
    households: int
    incidents: int = strawberry.field(description="incidents that change zone or grid")
    address_points: int = strawberry.field(description="address points that change zone or grid")
    warnings: list[EditWarning] = strawberry.field(description="what to look at before committing")


@strawberry.type
class EditSuccess:
    revision: RevisionRef | None = strawberry.field(
        description="null on a dry run and for a scheduled edit (see scheduledId)")
    impact: Impact
    dry_run: bool
    repairs: list[str] = strawberry.field(description="what `repair: true` changed in the input")
    scheduled_id: int | None = strawberry.field(
        description="set when effectiveFrom is in the future: the edit is applied at that instant")
    changed_area: GeoJSON | None


@strawberry.interface
class EditError:
    code: str
    message: str
    details: list[JSON] = strawberry.field(description="per feature / per unit detail")


@strawberry.type(description="Bad input: invalid geometry, wrong type, outside the county, …")
class ValidationError(EditError):
    pass


@strawberry.type(description="Stale expectedRevision or a concurrent edit won; reload and retry.")
class ConflictError(EditError):
    current_revision: int | None


@strawberry.type(description="The caller's role or station scope does not allow this edit.")
class ForbiddenError(EditError):
    pass


@strawberry.type(name="NotFound", description="A code in the input names no unit.")
class NotFoundError(EditError):
    pass


EditResult = Annotated[EditSuccess | ValidationError | ConflictError | ForbiddenError | NotFoundError,
                       strawberry.union("EditResult")]


@strawberry.type(description="The scheduled edit, now cancelled: it will not take effect.")
class CancelSuccess:
    scheduled_edit_id: int
    cancelled_at: datetime
    cancelled_by: str


CancelResult = Annotated[CancelSuccess | ConflictError | ForbiddenError | NotFoundError,
                         strawberry.union("CancelResult")]


def _warning(w: dict[str, Any]) -> EditWarning:
    rest: Any = {k: v for k, v in w.items() if k not in ("code", "message", "units")}
    return EditWarning(code=w["code"], message=w["message"], units=list(w.get("units", [])), details=rest)


def success(out: EditOutcome, *, dry_run: bool) -> EditSuccess:
    i = out.impact
    rev = out.revision
    return EditSuccess(
        revision=None if rev is None else RevisionRef(id=rev.id, at=rev.at, actor=rev.actor,
                                                      reason=rev.reason,
                                                      effective_from=rev.effective_from),
        impact=Impact(grids=i.grids, zones=i.zones, stations=i.stations, population=i.population,
                      households=i.households, incidents=i.incidents, address_points=i.address_points,
                      warnings=[_warning(w) for w in i.warnings]),
        dry_run=dry_run, repairs=out.repairs, scheduled_id=out.scheduled_id,
        changed_area=None if out.changed_area is None else GeoJSON(out.changed_area))


def failure(exc: errors.JurisgridError, current_revision: int | None = None) -> Any:
    code, message = exc.code, exc.message
    details: list[Any] = list(exc.details)
    if isinstance(exc, errors.Forbidden):
        return ForbiddenError(code=code, message=message, details=details)
    if isinstance(exc, errors.NotFound):
        return NotFoundError(code=code, message=message, details=details)
    if isinstance(exc, errors.Conflict):
        return ConflictError(code=code, message=message, details=details,
                             current_revision=current_revision)
    return ValidationError(code=code, message=message, details=details)
