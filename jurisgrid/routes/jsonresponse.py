"""A JSON response rendered with orjson (fast for large bodies such as 100k-point batches), and
the one mapping of domain errors to REST responses."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from jurisgrid.errors import JurisgridError, ServiceUnavailable, Unauthenticated


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


def error_headers(exc: JurisgridError) -> dict[str, str]:
    """The headers an error's status calls for: ``Retry-After`` with a 503,
    ``WWW-Authenticate`` with a 401."""
    if isinstance(exc, ServiceUnavailable):
        return {"Retry-After": str(exc.retry_after_s)}
    if isinstance(exc, Unauthenticated):
        return {"WWW-Authenticate": "Bearer"}
    return {}


def error_response(exc: JurisgridError) -> JSONResponse:
    """A domain error as the REST routes answer it: its HTTP status and a JSON body."""
    return JSONResponse({"error": {"code": exc.code, "message": exc.message, "details": exc.details}},
                        status_code=exc.http_status, headers=error_headers(exc))
