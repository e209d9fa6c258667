"""Relay-style connections (first/after, last/before, pageInfo, totalCount) with a server-side
cap; cursors are keyset positions (models/filters.py)."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import strawberry

from jurisgrid.errors import InvalidInput

T = TypeVar("T")


def encode_cursor(code: str) -> str:
    return base64.urlsafe_b64encode(f"code:{code}".encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
    except Exception:
        raise InvalidInput(f"malformed cursor {cursor!r}") from None
    if not raw.startswith("code:"):
        raise InvalidInput(f"malformed cursor {cursor!r}")
    return raw[5:]


@strawberry.type
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="more items after this page (paging forwards; false when paging backwards)")
    end_cursor: str | None
    has_previous_page: bool = strawberry.field(
        default=False,
        description="more items before this page (paging backwards with last/before; "
                    "false when paging forwards)")
    start_cursor: str | None = None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count_fn: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="All items matching the filters (one extra COUNT query).")
    async def total_count(self) -> int:
        return await self.count_fn()

    @strawberry.field(description="The nodes of this page, without edges.")
    def nodes(self) -> list[T]:
        return [e.node for e in self.edges]
