"""Assembles the FastAPI application: lifespan, routers, the GraphQL router, error mapping."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from sqlalchemy import Engine

from jurisgrid.config import Settings, get_settings
from jurisgrid.errors import JurisgridError
from jurisgrid.gql.router import GraphQLApp
from jurisgrid.gql.schema import build_schema
from jurisgrid.routes import health, lookup
from jurisgrid.routes.jsonresponse import JSONResponse


def create_app(engine: Engine | None = None, settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if engine is None:
            from jurisgrid.db import get_engine

            app.state.engine = get_engine()
        # everything built at start-up (schema, SQLAlchemy metadata, caches) lives as long as
        # the process: move it out of the collector's sight, so full collections triggered by
        # request garbage do not walk it again and again (they showed as p99 latency spikes)
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)  # requests make short-lived garbage: collect less often
        yield
        app.state.engine.dispose()

    app = FastAPI(title="jurisgrid", version="0.1.0", lifespan=lifespan,
                  default_response_class=JSONResponse)
    app.state.engine = engine
    app.state.settings = settings

    graphql = GraphQLApp(build_schema(settings.api), settings)
    # an ASGI app as a route endpoint: Starlette passes scope/receive/send straight through
    app.router.add_route("/graphql", graphql, methods=["GET", "POST"])  # type: ignore[arg-type]
    app.include_router(health.router)
    app.include_router(lookup.router)

    @app.exception_handler(JurisgridError)
    async def domain_error(_: Request, exc: JurisgridError) -> JSONResponse:
        return JSONResponse({"error": {"code": exc.code, "message": exc.message,
                                         "details": exc.details}}, status_code=exc.http_status)

    return app
