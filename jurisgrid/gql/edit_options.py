"""``EditOptions``: the one input every edit mutation takes as ``options:`` — why, when it takes
effect, the revision the client saw, or only its impact.

The four separate arguments that came before it (``reason``, ``effectiveFrom``,
``expectedRevision``, ``dryRun``) still work on every mutation, marked deprecated in the
schema, so that older clients (the web map's editor among them) keep working. Giving both
``options`` and one of them is a BAD_USER_INPUT error: which should win is not obvious.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import strawberry

from jurisgrid.errors import InvalidInput


@strawberry.input(description="How an edit is made: why, when it takes effect, the revision the "
                  "client saw, or only its impact. Accepted by every edit mutation as `options`.")
class EditOptions:
    reason: str | None = strawberry.field(default=None,
                                          description="why (recorded on the revision)")
    effective_from: datetime | None = strawberry.field(
        default=None, description="when the change takes effect; default now, a future instant "
                                  "schedules it")
    expected_revision: int | None = strawberry.field(
        default=None, description="the currentRevision you saw; a ConflictError if a later "
                                  "revision changed a unit this edit changes")
    dry_run: bool = strawberry.field(default=False,
                                     description="return the impact, write nothing")
    plan: strawberry.ID | None = strawberry.field(
        default=None, description="write into this plan (a stored draft: `plans`) instead of "
                                  "the live data; a dry run shows the edit on the plan's state")


_USE = "use options: {{ {} }}"

Options = Annotated[EditOptions | None, strawberry.argument(
    description="reason, effectiveFrom, expectedRevision, dryRun, plan (one input for every edit)")]
Reason = Annotated[str | None, strawberry.argument(
    description="why (recorded on the revision)", deprecation_reason=_USE.format("reason"))]
Effective = Annotated[datetime | None, strawberry.argument(
    description="when the change takes effect; default now, a future instant schedules it",
    deprecation_reason=_USE.format("effectiveFrom"))]
Expected = Annotated[int | None, strawberry.argument(
    description="the currentRevision you saw; a ConflictError if a later revision changed a "
                "unit this edit changes", deprecation_reason=_USE.format("expectedRevision"))]
DryRun = Annotated[bool | None, strawberry.argument(
    description="return the impact, write nothing", deprecation_reason=_USE.format("dryRun"))]


@dataclass(frozen=True)
class ResolvedOptions:
    """The options of one edit, from ``options`` or from the deprecated arguments."""

    reason: str | None = None
    effective_from: datetime | None = None
    expected_revision: int | None = None
    dry_run: bool = False
    plan: str | None = None  # a plan's id: the edit goes into the plan (editing/plans.py)


def resolve(options: EditOptions | None, *, reason: str | None = None,
            effective_from: datetime | None = None, expected_revision: int | None = None,
            dry_run: bool | None = None) -> ResolvedOptions:
    """One set of options; InvalidInput when ``options`` and a deprecated argument are both given."""
    legacy = {"reason": reason, "effectiveFrom": effective_from,
              "expectedRevision": expected_revision, "dryRun": dry_run}
    given = [k for k, v in legacy.items() if v is not None]
    if options is None:
        return ResolvedOptions(reason, effective_from, expected_revision, bool(dry_run))
    if given:
        raise InvalidInput(f"give either options or {', '.join(given)} (deprecated), not both: "
                           f"move {', '.join(given)} into options",
                           details=[{"field": k, "reason": "also given in options"} for k in given])
    if options.plan is not None and (options.effective_from is not None
                                     or options.expected_revision is not None):
        raise InvalidInput("an edit into a plan takes neither effectiveFrom nor expectedRevision: "
                           "publish the plan with effectiveFrom (its base revision is the lock)",
                           details=[{"field": "plan", "reason": "with effectiveFrom or "
                                                               "expectedRevision"}])
    return ResolvedOptions(options.reason, options.effective_from, options.expected_revision,
                           bool(options.dry_run), None if options.plan is None else str(options.plan))
