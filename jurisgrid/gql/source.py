"""The source of a GraphQL read (models/source.py): from ``asOf`` arguments and from the row a
node was built from; and the one place that knows how to run a read under a source.

``plan:`` (a plan's id) reads a plan as if it were live (:func:`with_plan`). Every source is a
plain read. A future instant also sees the scheduled edits due by then, from
the cache of their effect (editing/asof.py): its key is looked up (and built if missing) once
per request and instant, and every batch then reads under it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from jurisgrid.auth.checks import require_plan_access
from jurisgrid.editing.asof import future_source
from jurisgrid.errors import InvalidInput
from jurisgrid.gql.loaders import Loaders
from jurisgrid.models.plan_source import PlanSource
from jurisgrid.models.plans import get_plan
from jurisgrid.models.rows import Row
from jurisgrid.models.source import LIVE, AsOf, Source, source_of

__all__ = ["PlanArg", "current_only", "loaders", "of_row", "plan_id_arg", "plan_source", "source_for",
           "with_plan"]

of_row = source_of


def source_for(as_of: datetime | Source | None) -> Source:
    """The source an ``asOf`` argument asks for (a naive instant is taken as UTC); a source
    already made (a plan's, :func:`with_plan`) is itself."""
    if isinstance(as_of, Source):
        return as_of
    return LIVE if as_of is None else AsOf(as_of)


PlanArg = Annotated[strawberry.ID | None, strawberry.argument(
    description="answer as plan <id> has it (a stored draft: plans), as if it were live")]


def plan_id_arg(raw: Any) -> int:
    """A plan's ID as the integer it is (InvalidInput otherwise)."""
    try:
        value = int(str(raw))
    except ValueError:
        raise InvalidInput(f"plan must be a plan's id (an integer), not {raw!r}") from None
    if value < 1:
        raise InvalidInput(f"plan must be a plan's id (a positive integer), not {raw!r}")
    return value


async def plan_source(info: Info, plan: Any) -> Source:
    """The source a ``plan:`` argument asks for (:data:`LIVE` without one)."""
    return source_for(await with_plan(info, None, plan))


async def with_plan(info: Info, as_of: datetime | None, plan: Any) -> datetime | Source | None:
    """``asOf`` unchanged without ``plan``; with it, the plan's source (models/plan_source.py):
    the plan must exist and be visible to the caller (a station-scoped token: its station's)."""
    if plan is None:
        return as_of
    if as_of is not None:
        raise InvalidInput("asOf and plan cannot be combined: a plan is read as if it were live")
    pid = plan_id_arg(plan)
    row = await info.context.db(get_plan, pid)
    require_plan_access(info.context.principal, row, write=False)
    return PlanSource(pid, bool(row["reshapes"]))


def loaders(info: Info) -> Loaders:
    """This request's loaders, able to run reads under any source."""
    ld: Loaders = info.context.loaders
    if ld.source_runner is None:
        ctx = info.context

        keyed: dict[AsOf, AsOf] = {}

        async def run(src: Source, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
            if isinstance(src, AsOf) and src.future is None and src.after_now:
                if src not in keyed:
                    keyed[src] = await run_in_threadpool(future_source, ctx.engine, src,
                                                         settings=ctx.settings.edit)
                src = keyed[src]
            return await ctx.db(fn, src, *args, **kw)

        ld.source_runner = run
    return ld


async def read(info: Info, src: Source, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """``fn(conn, src, *args, **kw)`` once (not batched), e.g. a page of a list."""
    return await loaders(info).run(src, fn, *args, **kw)


def current_only(what: str, row: Row) -> None:
    """Refuse a figure that is not historised under a node read as of an instant (live data
    and plans have it: a plan keeps the live points)."""
    src = source_of(row)
    if src != LIVE and not isinstance(src, PlanSource):
        raise InvalidInput(f"{what} are current only (not historised): drop asOf, or ask for "
                           f"{what} in a separate, current query")
