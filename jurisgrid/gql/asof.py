"""Relations of nodes read *as of an instant* (issue 3), batched per request.

A node built from a history read carries its instant in its row (``models.asof.AS_OF``); its
relations, geometry and officers are then read as of that instant through the loaders below —
keyed by (what, table, instant), so a nested as-of query costs one statement per level, as a
current one does, and one request may mix as-of and current root fields (under aliases).
A future instant runs each batch inside ``editing.asof.as_of_call``: the scheduled edits due by
then are applied in a transaction that is rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from jurisgrid.errors import InvalidInput
from jurisgrid.models import asof as q
from jurisgrid.models.history import is_future
from jurisgrid.models.rows import Row

T = TypeVar("T")


def instant(at: datetime) -> datetime:
    """An ``asOf`` argument as an aware instant (a naive one is taken as UTC)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def run_at(info: Info, at: datetime, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """``fn(conn, at, *args, **kw)`` on a connection that sees the data as of ``at``."""
    ctx = info.context
    if is_future(at):
        from jurisgrid.editing.asof import as_of_call

        return await run_in_threadpool(as_of_call, ctx.engine, at, fn, at, *args,
                                       settings=ctx.settings.edit, **kw)
    return await ctx.db(fn, at, *args, **kw)


def _loader(info: Info, key: Hashable, fn: Callable[..., Any], at: datetime, *args: Any,
            default: Any = None, **kw: Any) -> Any:
    async def load(keys: list[Any]) -> list[Any]:
        found = await run_at(info, at, fn, *args, keys, **kw)
        return [found.get(k, default() if callable(default) else default) for k in keys]

    return info.context.loaders.batch(("as_of", key, at), load)


async def row(info: Info, table: str, unit_id: int, at: datetime) -> Row | None:
    return await _loader(info, ("rows", table), q.rows_by_ids, at, table).load(unit_id)


async def rows(info: Info, table: str, ids: list[int], at: datetime) -> list[Row | None]:
    return await _loader(info, ("rows", table), q.rows_by_ids, at, table).load_many(ids)


async def by_code(info: Info, table: str, code: str, at: datetime) -> Row | None:
    return await _loader(info, ("code", table), q.rows_by_codes, at, table).load(code)


async def children(info: Info, table: str, fk: str, parent_id: int, at: datetime) -> list[Row]:
    loader = _loader(info, ("children", table, fk), q.rows_by_parent, at, table, fk, default=list)
    return await loader.load(parent_id)


async def first_points(info: Info, table: str, grid_id: int, at: datetime, *, first: int,
                       since: datetime | None, until: datetime | None) -> list[Row]:
    loader = _loader(info, ("points", table, first, since, until), q.first_points_by_grid, at,
                     table, default=list, first=first, since=since, until=until)
    return await loader.load(grid_id)


async def wkb(info: Info, table: str, column: str, unit_id: int, at: datetime,
              simplify_deg: float) -> bytes | None:
    loader = _loader(info, ("geom", table, column, simplify_deg), q.fetch_wkb, at, table, column,
                     simplify_deg=simplify_deg)
    return await loader.load(unit_id)


def current_only(what: str, row: Row) -> None:
    """Refuse a figure that is not historised under a node read as of an instant."""
    if q.as_of_of(row) is not None:
        raise InvalidInput(f"{what} are current only (not historised): drop asOf, or ask for "
                           f"{what} in a separate, current query")
