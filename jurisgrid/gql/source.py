"""The source of a GraphQL read (models/source.py): from ``asOf`` arguments and from the row a
node was built from; and the one place that knows how to run a read under a source.

Every source is a plain read. A future instant also sees the scheduled edits due by then, from
the cache of their effect (editing/asof.py): its key is looked up (and built if missing) once
per request and instant, and every batch then reads under it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from jurisgrid.editing.asof import future_source
from jurisgrid.errors import InvalidInput
from jurisgrid.gql.loaders import Loaders
from jurisgrid.models.rows import Row
from jurisgrid.models.source import LIVE, AsOf, Source, source_of

__all__ = ["current_only", "loaders", "of_row", "source_for"]

of_row = source_of


def source_for(as_of: datetime | None) -> Source:
    """The source an ``asOf`` argument asks for (a naive instant is taken as UTC)."""
    return LIVE if as_of is None else AsOf(as_of)


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
    """Refuse a figure that is not historised under a node read from another source."""
    if source_of(row) != LIVE:
        raise InvalidInput(f"{what} are current only (not historised): drop asOf, or ask for "
                           f"{what} in a separate, current query")
