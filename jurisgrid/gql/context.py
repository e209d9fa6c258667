"""Per-request context: the engine, settings, the caller (``principal``) and this request's
DataLoaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from strawberry.fastapi import BaseContext

from jurisgrid.auth.principal import ANONYMOUS, Principal
from jurisgrid.config import Settings
from jurisgrid.db import read
from jurisgrid.errors import InvalidInput
from jurisgrid.gql.loaders import Loaders

T = TypeVar("T")


@dataclass
class Context(BaseContext):
    engine: Engine
    settings: Settings
    # who asks: set by the router from the Authorization header (jurisgrid/auth/resolve.py)
    principal: Principal = ANONYMOUS
    # why the request's credentials were refused; the router answers 401 without executing
    auth_error: Exception | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        super().__init__()
        self.loaders = Loaders(self.db)

    async def db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(conn, *args, **kwargs)`` on a pooled connection in a worker thread, so a
        slow query never blocks the event loop (docs/design.md, GraphQL conventions)."""

        # retried once on a dropped connection; ServiceUnavailable when the database does not
        # answer (db.read)
        return await run_in_threadpool(read, self.engine, fn, *args, **kwargs)

    def page_size(self, first: int) -> int:
        return check_page_size(first, self.settings.api.page_size_max)


def check_page_size(first: int, maximum: int) -> int:
    if first < 1 or first > maximum:
        raise InvalidInput(f"first must be from 1 to {maximum} (the page-size cap), got {first}")
    return first
