"""REST routes: the same rule as GraphQL, as a FastAPI dependency.

``app.include_router(router, dependencies=[Depends(read_access)])`` refuses a request whose
credentials are refused (HTTP 401 through the app's domain-error handler) and leaves the
caller in ``request.state.principal``. Without a header and with anonymous reads on, it costs
a header lookup — no database round trip.
"""

from __future__ import annotations

from fastapi import Request

from jurisgrid.auth.principal import Principal
from jurisgrid.auth.resolve import resolve_principal


async def read_access(request: Request) -> Principal:
    principal = await resolve_principal(request.app.state.engine, request.app.state.settings.api,
                                        request.headers.get("authorization"))
    request.state.principal = principal
    return principal
