"""The GraphQL endpoint: strawberry's plain ASGI app (lighter per request than the FastAPI
router's dependency injection), with orjson for request and response bodies.

A 100,000-point ``responsibleForMany`` request is ~4 MB of JSON: the standard library parses
it in ~130 ms, orjson in ~45 ms. orjson refuses NaN/Infinity, which JSON does not have either.

Authentication: the context carries the caller's principal, resolved from the ``Authorization:
Bearer`` header (no database round trip without a header; see jurisgrid/auth/resolve.py). A
request whose credentials are refused gets HTTP 401 and a GraphQL error with code
``UNAUTHENTICATED``, without being executed. WebSockets may send the token in the
``connection_init`` payload (``{"Authorization": "Bearer …"}``) instead of a header.

Time budget: a query that runs past ``JURISGRID_REQUEST_TIMEOUT_S`` is answered HTTP 200 with
a GraphQL error of code ``TIMEOUT`` (like every other GraphQL error, in the body) and its
database statements are cancelled (gql/budget.py). Mutations are not cut short (their
transaction could still commit after such an answer): the statement timeout bounds them.

Content type: strawberry parses every request's ``Content-Type`` with ``email.message`` (15–30 µs
here, 3–5 % of a single-point query's CPU); clients send a handful of distinct values, so
the parsed value is remembered (:func:`use_cached_content_type`, on with the other strawberry /
graphql-core fast path, ``JURISGRID_FAST_EXECUTION``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.http import async_base_view as _strawberry_view
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult

from jurisgrid.auth.resolve import resolve_principal
from jurisgrid.config import Settings
from jurisgrid.errors import Unauthenticated
from jurisgrid.gql.budget import RequestBudget, timeout_error
from jurisgrid.gql.budget import install as install_budget_events
from jurisgrid.gql.context import Context
from jurisgrid.gql.prepared import PreparedQueries
from jurisgrid.gql.routing import routed
from jurisgrid.replicas import router_of

log = logging.getLogger("jurisgrid.gql")


@lru_cache(maxsize=64)  # bounded: a client inventing values only churns the cache
def _parsed_content_type(content_type: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    mime, params = parse_content_type(content_type)
    return mime, tuple(params.items())


def cached_parse_content_type(content_type: str) -> tuple[str, dict[str, str]]:
    """strawberry's ``parse_content_type``, remembered per header value (a fresh dict each time:
    a caller may change it). A malformed value raises as before, and is not remembered."""
    mime, params = _parsed_content_type(content_type)
    return mime, dict(params)


def use_cached_content_type(on: bool) -> None:
    """Put :func:`cached_parse_content_type` (or strawberry's own) where strawberry's async HTTP
    view looks the function up: a name in its module (strawberry 0.341). Nothing is replaced
    when that name is gone — the view then parses as it does by itself."""
    if hasattr(_strawberry_view, "parse_content_type"):
        _strawberry_view.parse_content_type = parse_content_type
        if on:
            _strawberry_view.parse_content_type = cached_parse_content_type


class TextWebSocketAdapter(ASGIWebSocketAdapter):
    """WebSocket messages as text frames: graphql-ws clients parse text; orjson gives bytes,
    which strawberry would send as binary frames."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class GraphQLApp(GraphQL):
    websocket_adapter_class = TextWebSocketAdapter

    def __init__(self, schema: BaseSchema, settings: Settings, graphiql_page: Path | None = None) -> None:
        """``graphiql_page``: the HTML of GraphiQL served at ``GET /graphql`` to browsers (the
        web map's offline copy); strawberry's own page, which loads from a CDN, without it."""
        super().__init__(schema, graphql_ide="graphiql" if settings.api.graphiql else None)
        self.settings = settings
        self.graphiql_page = graphiql_page
        use_cached_content_type(settings.api.fast_execution)
        # checked queries straight on graphql-core (gql/prepared.py), with the fast path
        self.prepared = PreparedQueries(schema) if settings.api.fast_execution else None
        install_budget_events()  # statements of a timed-out query are cancelled (gql/budget.py)

    async def get_context(self, request: Request | WebSocket,  # type: ignore[override]
                          response: Response | WebSocket) -> Context:
        ctx = Context(engine=request.app.state.engine, settings=self.settings)
        ctx.request = request
        ctx.response = response  # type: ignore[assignment]
        auth = request.headers.get("authorization")
        if auth or not self.settings.api.anonymous_reads:  # else ANONYMOUS, the field's default
            try:
                ctx.principal = await resolve_principal(ctx.engine, self.settings.api, auth)
            except Unauthenticated as exc:
                ctx.auth_error = exc
        return ctx

    async def execute_operation(self, request: Any, request_adapter: Any,
                                request_data: GraphQLRequestData | list[GraphQLRequestData],
                                context: Any, root_value: Any, sub_response: Any) -> Any:
        if context.auth_error is not None:
            sub_response.status_code = 401
            sub_response.headers["WWW-Authenticate"] = "Bearer"
            error = GraphQLError(str(context.auth_error), extensions={"code": Unauthenticated.code})
            return ExecutionResult(data=None, errors=[error])
        budget = RequestBudget(self.settings.api.request_timeout_s)
        # read replicas (issue 17): gql/routing.py; none configured: not looked up per request
        router = router_of(request.app) if self.settings.db.replica_urls else None
        try:
            async with budget.scope():
                if router is not None:
                    run = partial(self._execute, request, request_adapter,
                                  request_data, context, root_value, sub_response)
                    return await routed(router, context, request_data, sub_response, run)
                return await self._execute(request, request_adapter, request_data,
                                           context, root_value, sub_response)
        except TimeoutError:
            if not budget.expired:
                raise
            log.warning("TIMEOUT: a query ran past its %g s budget; its statements were cancelled",
                        budget.seconds)
            return ExecutionResult(data=None, errors=[timeout_error(budget.seconds)])

    async def _execute(self, request: Any, request_adapter: Any,
                       request_data: GraphQLRequestData | list[GraphQLRequestData],
                       context: Any, root_value: Any, sub_response: Any) -> Any:
        """A checked query over HTTP: prepared (gql/prepared.py); anything else, or anything
        that path leaves, through strawberry's own execution."""
        if self.prepared is not None and isinstance(request_data, GraphQLRequestData) \
                and request_adapter.method in ("POST", "GET"):
            result = await self.prepared.execute(request_data, context, root_value)
            if result is not None:
                return result
        return await super().execute_operation(request, request_adapter, request_data,
                                               context, root_value, sub_response)

    async def on_ws_connect(self, context: Context) -> None:  # type: ignore[override]
        """``connection_init``: a token in the payload wins over the handshake's header."""
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        auth = params.get("Authorization") or params.get("authorization")
        if auth:
            try:
                context.principal = await resolve_principal(context.engine, self.settings.api, str(auth))
                context.auth_error = None
            except Unauthenticated as exc:
                context.auth_error = exc
        if context.auth_error is not None:
            raise ConnectionRejectionError({"code": Unauthenticated.code,
                                            "message": str(context.auth_error)})

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """GraphiQL from the app's own static files (npm, vendored): it loads with no request
        leaving the machine, with a tab per common job."""
        if self.graphiql_page is None:
            return await super().render_graphql_ide(request)  # type: ignore[return-value]
        page = self.graphiql_page.read_text(encoding="utf-8")
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    def decode_json(self, data: str | bytes) -> Any:
        return orjson.loads(data)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


class GraphQLLane:
    """ASGI middleware: ``/graphql`` (GET, POST and the subscriptions' websocket) straight to
    the GraphQL app, in front of FastAPI's routing and its exception middleware — which the
    GraphQL app never needs (it answers every error itself) and which cost a single-point
    query about a twentieth of its server CPU. The app keeps its /graphql routes (other
    methods get 405 there, ``/graphql/`` its redirect)."""

    def __init__(self, app: Any, graphql: GraphQLApp) -> None:
        self.app, self.graphql = app, graphql

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if (kind == "websocket" or (kind == "http" and scope["method"] in ("GET", "POST"))) \
                and scope["path"] == "/graphql":
            await self.graphql(scope, receive, send)
            return
        await self.app(scope, receive, send)
