"""A time budget per GraphQL query (``JURISGRID_REQUEST_TIMEOUT_S``): when it runs out, the
request is answered with a typed error and its database statements are cancelled.

Why both halves: giving up on the request alone would leave its statement running in a worker
thread (and holding a pooled connection and a PostgreSQL backend) until the statement timeout;
cancelling the statement alone would leave CPU-bound work running. Here the router runs the
request under an ``asyncio`` timeout (:meth:`RequestBudget.scope`), and every statement the
request sends — from whichever thread — is noted with its DBAPI connection by an engine event,
so that on expiry each one in flight is cancelled (``connection.cancel()``: PostgreSQL's cancel
request, the same as ``pg_cancel_backend``) and any later one is refused before it is sent.

The answer: HTTP 200 (GraphQL's convention: the error is in the body, like any other) with
``{"data": null, "errors": [{"extensions": {"code": "TIMEOUT"}}]}``.

Only queries get the budget. A mutation cut short here would answer "timeout" while its
transaction may still commit in its thread; mutations are bounded by the statement timeout and
the editing caps instead. The budget starts when the document is known to be a query
(gql/documents.py calls :func:`start`); until then it is unlimited.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from graphql import GraphQLError
from sqlalchemy import Engine, event

log = logging.getLogger("jurisgrid.gql")

TIMEOUT = "TIMEOUT"

_current: ContextVar[RequestBudget | None] = ContextVar("jurisgrid_request_budget", default=None)


class BudgetExceeded(Exception):
    """A statement a timed-out request would still send: refused before it is sent."""


class RequestBudget:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._timeout: asyncio.Timeout | None = None
        self._lock = threading.Lock()
        self._in_flight: dict[int, Any] = {}  # id(DBAPI connection) -> connection
        self.started = False
        self.expired = False

    @asynccontextmanager
    async def scope(self) -> AsyncIterator[None]:
        """Run the request under this budget (unlimited until :meth:`start`). Raises
        ``TimeoutError`` when the budget ran out, after cancelling the request's statements."""
        token = _current.set(self)
        try:
            async with asyncio.timeout(None) as self._timeout:
                yield
        except TimeoutError:
            if self.started:
                self.expire()
            raise
        finally:
            _current.reset(token)

    def start(self) -> None:
        if self._timeout is not None and not self.started and self.seconds > 0:
            self.started = True
            self._timeout.reschedule(asyncio.get_running_loop().time() + self.seconds)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for dbapi_connection in self._in_flight.values():
                try:
                    dbapi_connection.cancel()
                except Exception as exc:
                    log.debug("could not cancel a statement: %s", exc)

    def _sending(self, dbapi_connection: Any) -> None:
        with self._lock:
            if self.expired:
                raise BudgetExceeded("the request's time budget ran out")
            self._in_flight[id(dbapi_connection)] = dbapi_connection

    def _done(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._in_flight.pop(id(dbapi_connection), None)


def start() -> None:
    """Start the current request's budget (a no-op outside a budgeted request)."""
    budget = _current.get()
    if budget is not None:
        budget.start()


def timeout_error(seconds: float) -> GraphQLError:
    return GraphQLError(f"the request took longer than its time budget of {seconds:g} s and was"
                        " stopped; ask for less (fewer items, a smaller area)",
                        extensions={"code": TIMEOUT})


def _before(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any,
            executemany: Any) -> None:
    budget = _current.get()
    if budget is not None and budget.started:
        budget._sending(cursor.connection)


def _after(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any,
           executemany: Any) -> None:
    budget = _current.get()
    if budget is not None and budget.started:
        budget._done(cursor.connection)


def _error(context: Any) -> None:
    budget = _current.get()
    cursor = getattr(context, "cursor", None)
    if budget is not None and budget.started and cursor is not None:
        budget._done(cursor.connection)


_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Note every statement of every engine (class-level events: the read pools are made lazily,
    per engine). Costs a context-variable lookup per statement."""
    global _installed
    with _install_lock:
        if _installed:
            return
        event.listen(Engine, "before_cursor_execute", _before)
        event.listen(Engine, "after_cursor_execute", _after)
        event.listen(Engine, "handle_error", _error)
        _installed = True
