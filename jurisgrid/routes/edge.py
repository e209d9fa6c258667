"""The one middleware every HTTP request passes first: body limit, page gate, cache policy,
error boundary — in one ASGI layer.

The three rules live in their own modules (routes/limits.py: 413 before a too-large body is
read; routes/access.py: pages closed like the data when anonymous reads are off, and private
caching of answers under a token; routes/failures.py: no raw 500, database down → 503). They
used to be three middlewares, each with its own pass over the request headers and its own
wrapper around ``send``: on the hottest path (a cached tile, a 304) that layering cost about a
quarter of the throughput (bench/tiles.py). Here the headers are read once, ``send`` is
wrapped once, and the order of the rules is unchanged:

1. a declared length over the limit → 413; a chunked body is read up to the limit;
2. everything after this is inside the error boundary (a database down while a page's token is
   checked is a 503 too);
3. the page gate (401 without a valid token when anonymous reads are off);
4. the app, with ``Vary: Authorization`` / private ``Cache-Control`` added to its answer.

Websockets pass through untouched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jurisgrid.auth.resolve import resolve_principal
from jurisgrid.config import Settings
from jurisgrid.errors import Unauthenticated
from jurisgrid.routes import limits
from jurisgrid.routes.access import UNVARIED_PREFIXES, gated, with_policy
from jurisgrid.routes.failures import answer_failure
from jurisgrid.routes.jsonresponse import error_response


class Edge:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.max_bytes = settings.api.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        auth: str | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit:
                    await limits.refuse(send, limit)
                    return
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"authorization":
                auth = value.decode("latin-1")
        if chunked:
            replay = await limits.buffered(receive, send, limit)
            if replay is None:
                return
            receive = replay

        started = False
        under_token = auth is not None
        unvaried = scope["path"].startswith(UNVARIED_PREFIXES)

        async def out(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not unvaried:
                    message["headers"] = with_policy(list(message.get("headers", ())),
                                                     under_token=under_token)
            await send(message)

        try:
            if not self.settings.api.anonymous_reads and gated(scope):
                try:  # a missing, malformed, unknown or revoked token: 401
                    await resolve_principal(scope["app"].state.engine, self.settings.api, auth)
                except Unauthenticated as exc:
                    await error_response(exc)(scope, receive, send)
                    return
            await self.app(scope, receive, out)
        except Exception as exc:
            if started:  # part of the answer is out: nothing better to do than to end it
                raise
            await answer_failure(scope, receive, send, exc)
