"""The GraphQL endpoint: strawberry's plain ASGI app (lighter per request than the FastAPI
router's dependency injection), with orjson for request and response bodies.

A 100,000-point ``responsibleForMany`` request is ~4 MB of JSON: the standard library parses
it in ~130 ms, orjson in ~45 ms. orjson refuses NaN/Infinity, which JSON does not have either.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema import BaseSchema

from jurisgrid.config import Settings
from jurisgrid.gql.context import Context


class GraphQLApp(GraphQL):
    def __init__(self, schema: BaseSchema, settings: Settings) -> None:
        super().__init__(schema, graphql_ide="graphiql" if settings.api.graphiql else None)
        self.settings = settings

    async def get_context(self, request: Request | WebSocket,  # type: ignore[override]
                          response: Response | WebSocket) -> Context:
        ctx = Context(engine=request.app.state.engine, settings=self.settings)
        ctx.request = request
        ctx.response = response  # type: ignore[assignment]
        return ctx

    def decode_json(self, data: str | bytes) -> Any:
        return orjson.loads(data)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)
