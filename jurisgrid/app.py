"""Assembles the FastAPI application: lifespan, routers, the GraphQL router, error mapping."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from sqlalchemy import Engine

from jurisgrid.auth.http import read_access
from jurisgrid.config import Settings, get_settings
from jurisgrid.db import dispose, get_engine
from jurisgrid.editing.background import start_apply_due
from jurisgrid.errors import JurisgridError
from jurisgrid.gql.router import GraphQLApp, GraphQLLane
from jurisgrid.gql.schema import build_schema
from jurisgrid.live import stop_all as stop_listeners
from jurisgrid.routes import health, lookup, ogc, tiles
from jurisgrid.routes.edge import Edge
from jurisgrid.routes.jsonresponse import JSONResponse, error_response
from jurisgrid.routes.replica_lane import ReplicaLane
from jurisgrid.web import routes as web_routes


def create_app(engine: Engine | None = None, settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if engine is None:
            app.state.engine = get_engine()
        # everything built at start-up (schema, SQLAlchemy metadata, caches) lives as long as
        # the process: move it out of the collector's sight, so full collections triggered by
        # request garbage do not walk it again and again (they showed as p99 latency spikes).
        # The thresholds stay at their defaults: raising the youngest generation's to 50,000
        # made each young collection 20-40 ms long (a p99 spike under load) and no cheaper in
        # total (bench/responsible.py).
        gc.collect()
        gc.freeze()
        stop_apply_due = start_apply_due(app)  # scheduled edits take effect on time (issue 3)
        yield
        stop_apply_due()
        stop_listeners()  # the LISTEN thread of live updates, if a subscription started it
        dispose(app.state.engine)

    app = FastAPI(title="jurisgrid", version="0.1.0", lifespan=lifespan,
                  default_response_class=JSONResponse)
    app.state.engine = engine
    app.state.settings = settings

    graphql = GraphQLApp(build_schema(settings.api), settings, graphiql_page=web_routes.GRAPHIQL_PAGE)
    app.state.graphql = graphql  # (tests reach its prepared-query path through it)
    # an ASGI app as a route endpoint: Starlette passes scope/receive/send straight through
    app.router.add_route("/graphql", graphql, methods=["GET", "POST"])  # type: ignore[arg-type]
    app.router.add_websocket_route("/graphql", graphql)  # type: ignore[arg-type]  # subscriptions
    app.include_router(health.router)
    app.include_router(lookup.router, dependencies=[Depends(read_access)])  # 401 when reads need a token
    app.include_router(tiles.router, dependencies=[Depends(read_access)])
    app.include_router(ogc.router, dependencies=[Depends(read_access)])
    app.include_router(web_routes.router)  # the web map at / and its /static files (no token: static)

    # the hot paths are answered in front of FastAPI's routing: single tiles (the map's,
    # routes/tiles.py) and GraphQL (gql/router.py)
    app.add_middleware(tiles.TileLane)
    app.add_middleware(GraphQLLane, graphql=graphql)
    if settings.db.replica_urls:  # REST reads on read replicas (issue 17; routes/replica_lane.py)
        app.add_middleware(ReplicaLane)
    # outermost, one layer: 413 before reading a too-large body, no raw 500 / database down
    # -> 503, the page gate and cache headers under a token (routes/edge.py)
    app.add_middleware(Edge, settings=settings)
    app.openapi = tiles.documented(app.openapi)  # type: ignore[method-assign]

    @app.exception_handler(JurisgridError)
    async def domain_error(_: Request, exc: JurisgridError) -> JSONResponse:
        return error_response(exc)

    return app
