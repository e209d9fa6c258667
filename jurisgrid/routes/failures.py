"""The outermost error boundary: no request ends as a raw ``text/plain`` 500.

Applied by the edge middleware (routes/edge.py).

The hot paths answer in front of FastAPI's routing (``TileLane``, ``GraphQLLane``), and the
GraphQL app resolves the caller's token before it executes anything; an exception from any of
them used to reach Starlette's last-resort handler, a bare ``Internal Server Error``. Here,
before any byte of the response is sent:

- the database cannot be reached (:func:`jurisgrid.db.unavailable`; the tile pool's timeout
  too) → 503 with ``Retry-After``: for ``/graphql`` a GraphQL body whose error has
  ``extensions.code: SERVICE_UNAVAILABLE``, elsewhere the REST error body;
- a domain error → its status and JSON body (the app's one mapping, ``error_response``);
- anything else → logged with its traceback, then a JSON 500 ``INTERNAL_SERVER_ERROR`` with
  no detail.

Expected failures log one line, not a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from jurisgrid.db import log_unavailable, unavailable
from jurisgrid.errors import JurisgridError, ServiceUnavailable
from jurisgrid.routes.jsonresponse import error_headers, error_response
from jurisgrid.tiles.pool import PoolTimeout

log = logging.getLogger("jurisgrid.http")


class Unexpected(JurisgridError):
    """What an unexpected exception is answered as: no message from it leaks out."""

    code = "INTERNAL_SERVER_ERROR"
    http_status = 500


def as_domain_error(exc: BaseException) -> JurisgridError | None:
    """The domain error an exception stands for, or None for an unexpected one."""
    if isinstance(exc, JurisgridError):
        return exc
    if isinstance(exc, PoolTimeout):
        return ServiceUnavailable("every tile connection is busy; try again shortly")
    return unavailable(exc)


def graphql_error_body(err: JurisgridError) -> bytes:
    """A GraphQL response body carrying ``err`` (for requests to /graphql)."""
    ext: dict[str, Any] = {"code": err.code}
    if isinstance(err, ServiceUnavailable):
        ext["retryAfter"] = err.retry_after_s
    return orjson.dumps({"data": None, "errors": [{"message": err.message, "extensions": ext}]})


async def answer_failure(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
    """Answer an exception that reached the edge before any byte of the response was sent."""
    err = as_domain_error(exc)
    where = f"{scope.get('method')} {scope.get('path')}"
    if err is None:
        log.error("unexpected error answering %s", where, exc_info=exc)
        err = Unexpected("Unexpected error.")
    elif isinstance(err, ServiceUnavailable):
        log_unavailable(where, exc)
    response: Response
    if scope.get("path") == "/graphql":
        response = Response(graphql_error_body(err), status_code=err.http_status,
                            media_type="application/json", headers=error_headers(err))
    else:
        response = error_response(err)
    await response(scope, receive, send)
