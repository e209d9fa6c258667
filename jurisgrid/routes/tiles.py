"""``/tiles``: Mapbox vector tiles from PostGIS, TileJSON 3.0.0 and the layer listing.

Tiles carry a per-tile ETag (see jurisgrid/tiles/store.py) with ``Cache-Control: no-cache``:
clients and proxies keep tiles and revalidate them; ``If-None-Match`` with the current ETag
gets ``304 Not Modified`` without the tile being built. ``?crs=gcj02`` / ``bd09`` serves tiles
whose geometry lines up with AMap/Tencent / Baidu base maps. ``?asOf=<ISO instant>`` serves
the historised layers as they were then (jurisgrid/tiles/asof.py: past instants only, no
figures; a final instant's tile is cached for a day); ``?plan=<id>`` the same layers as a stored
plan has them (jurisgrid/tiles/plan.py).

Many counties (issue 11): ``?county=511725`` keeps one county's features (jurisgrid/tiles/county.py;
an unknown code is a 400 naming it). A county-scoped token gets only its county's features on
every tile, asked or not (another county: 403); its TileJSON names the county in the tile URL,
and a county's tile has an ETag of its own — with ``Vary: Authorization`` and a private
``Cache-Control`` under a token (routes/edge.py), no shared cache hands one county's tiles to
another reader.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from sqlalchemy import Connection, text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from jurisgrid.auth.checks import county_in_scope
from jurisgrid.auth.county_read import is_known, request_county
from jurisgrid.auth.http import read_access
from jurisgrid.auth.principal import Principal
from jurisgrid.db import read
from jurisgrid.errors import InvalidInput, JurisgridError
from jurisgrid.replicas import reader
from jurisgrid.routes.jsonresponse import JSONResponse, error_response
from jurisgrid.tiles.asof import FINAL_CACHE_CONTROL, parse_as_of
from jurisgrid.tiles.layers import get_layer, parse_crs, parse_properties, parse_tile
from jurisgrid.tiles.plan import fetch_tile_plan, parse_plan
from jurisgrid.tiles.store import fetch_tile, fetch_tile_as_of
from jurisgrid.tiles.tilejson import listing, tilejson, with_properties

router = APIRouter(prefix="/tiles")

MVT_TYPE = "application/vnd.mapbox-vector-tile"
CACHE_CONTROL = "public, no-cache"  # keep, but revalidate with the ETag before every use


def parse_if_none_match(header: str | None) -> list[str]:
    """Entity tags of an If-None-Match header, without W/ and quotes ('*' kept)."""
    if not header:
        return []
    tags = []
    for part in header.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tags.append(tag.strip('"'))
    return [t for t in tags if t]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _crs_query(crs: str) -> str:
    return "" if crs == "wgs84" else f"?crs={crs}"


def _as_of_query(t: datetime | None) -> str:
    return "" if t is None else "asOf=" + quote(t.isoformat().replace("+00:00", "Z"), safe=":")


def _query(crs: str, t: datetime | None, county: str | None = None) -> str:
    parts = [p for p in (_crs_query(crs).lstrip("?"), _as_of_query(t), _county_query(county)) if p]
    return ("?" + "&".join(parts)) if parts else ""


def _county_query(county: str | None) -> str:
    return "" if county is None else "county=" + quote(county, safe="")


async def tile_county(request: Request, principal: Principal) -> str | None:
    """The county a tile request keeps (``?county=``, narrowed by a county-scoped token): on
    the event loop when the code is known, else checked in a worker thread."""
    asked = request.query_params.get("county")
    engine = reader(request)
    if is_known(engine, asked):
        return county_in_scope(principal, asked)
    return await run_in_threadpool(request_county, engine, principal, asked)


@router.get("", response_class=JSONResponse)
async def layers(request: Request, crs: str | None = Query(None),
                 as_of: str | None = Query(None, alias="asOf"),
                 county: str | None = Query(None, description="one county's features")
                 ) -> JSONResponse:
    t = parse_as_of("grids", as_of)
    one = await tile_county(request, request.state.principal)
    query = "&".join(p for p in (_crs_query(parse_crs(crs)).lstrip("?"), _county_query(one)) if p)
    return JSONResponse(listing(_base(request), ("?" + query) if query else "", _as_of_query(t)))


@router.get("/{layer}.json", response_class=JSONResponse)
async def layer_tilejson(request: Request, layer: str, crs: str | None = Query(None),
                         as_of: str | None = Query(None, alias="asOf"),
                         properties: str | None = Query(None),
                         county: str | None = Query(None, description="one county's features")
                         ) -> JSONResponse:
    lay = get_layer(layer)
    c = parse_crs(crs)
    props = parse_properties(lay, properties, as_of=bool(as_of))
    t = parse_as_of(lay.name, as_of)
    engine = reader(request)  # a read replica when configured (issue 17)
    # a county-scoped token's tile URL names its county even when it did not ask: its tiles are
    # then a URL of their own in every cache, not the deployment's URL with other content
    one = await tile_county(request, request.state.principal)

    def bounds(conn: Connection) -> tuple[float, float, float, float] | None:
        row = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                                "FROM (SELECT ST_Extent(geom) AS e FROM county "
                                "WHERE CAST(:c AS text) IS NULL OR code = :c) q"), {"c": one}).one()
        return None if row[0] is None else (row[0], row[1], row[2], row[3])

    url = with_properties(f"{_base(request)}/tiles/{lay.name}/{{z}}/{{x}}/{{y}}.mvt"
                          f"{_query(c, t, one)}", props)
    box = await run_in_threadpool(read, engine, bounds)
    return JSONResponse(tilejson(lay, tile_url=url, bounds=box, crs=c,
                                 as_of=None if t is None else t.isoformat().replace("+00:00", "Z"),
                                 properties=props))


def _query_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string"}}


TILE_ROUTE = "/tiles/{layer}/{z}/{x}/{y}.mvt"
_TILE_PATH = re.compile(r"/tiles/([^/]+)/([^/]+)/([^/]+)/([^/]+)\.mvt")
_TILE_OPENAPI: dict[str, Any] = {"get": {
    "summary": "A Mapbox vector tile of a layer",
    "description": "ETag per tile, keyed on the changes that reach it; If-None-Match revalidates.",
    "operationId": "tile",
    "parameters": [{"name": "layer", "in": "path", "required": True, "schema": {"type": "string"}}] + [
        {"name": n, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
        for n in ("z", "x", "y")
    ] + [
        _query_param("crs", "wgs84 (default), gcj02 (AMap/Tencent) or bd09 (Baidu)"),
        _query_param("asOf", "an ISO 8601 instant in the past: the layer as it was then "
                             "(grids, zones, stations, communities)"),
        _query_param("plan", "a plan's id: the layer as that stored plan has it (grids, zones, "
                             "stations, communities; no figures)"),
        _query_param("properties", "comma-separated attributes the tile keeps (the layer's "
                                   "TileJSON fields); empty: geometry only; absent: all"),
        _query_param("county", "a county's code: only its features (a county-scoped token: "
                               "always its own county; another is 403)"),
    ],
    "responses": {"200": {"description": "the tile (empty when nothing is there)",
                          "content": {MVT_TYPE: {}}},
                  "304": {"description": "the client's copy (If-None-Match) is current"},
                  "400": {"description": "a malformed tile address, crs, asOf or plan; an "
                                         "unknown county"},
                  "401": {"description": "credentials refused"},
                  "403": {"description": "a county other than the token's"},
                  "404": {"description": "no such layer"}},
}}


class TileLane:
    """ASGI middleware answering ``GET``/``HEAD`` :data:`TILE_ROUTE` in front of FastAPI.

    Tiles are the map's hot path: every pan asks for dozens. FastAPI's routing, parameter and
    dependency solving cost a third of a tile's server CPU (bench/tiles.py), CPU that a small
    machine takes from PostgreSQL; here a tile costs one regular-expression match. Everything
    else — and every other path — goes on to the app. It applies the same read access rule as
    the routers and maps domain errors with the app's one mapping; :func:`documented` adds the
    route to the OpenAPI document.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        m = _TILE_PATH.fullmatch(scope["path"]) if scope["type"] == "http" else None
        if m is None:
            await self.app(scope, receive, send)
            return
        response: Response
        if scope["method"] not in ("GET", "HEAD"):
            response = JSONResponse({"error": {"code": "METHOD_NOT_ALLOWED", "details": [],
                                               "message": f"{scope['method']} is not allowed on tiles; "
                                                          "use GET or HEAD"}},
                                    status_code=405, headers={"Allow": "GET, HEAD"})
        else:
            scope["path_params"] = dict(zip(("layer", "z", "x", "y"), m.groups(), strict=True))
            try:
                response = await tile(Request(scope, receive))
            except JurisgridError as exc:
                response = error_response(exc)
        await response(scope, receive, send)


def documented(openapi: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` with :data:`TILE_ROUTE` (served by :class:`TileLane`) in its paths."""
    def with_tiles() -> dict[str, Any]:
        schema = openapi()
        schema["paths"].setdefault(TILE_ROUTE, _TILE_OPENAPI)
        return schema

    return with_tiles


async def tile(request: Request) -> Response:
    principal = await read_access(request)
    # a plain dict: a missing name is then a C lookup, not a KeyError raised and caught inside
    # Starlette's Mapping.get — a map's tile URL usually has no query at all, and each of the
    # six lookups below cost about 1 µs that way (bench/tiles.py, 304s)
    path, query = request.path_params, dict(request.query_params)
    req = parse_tile(path["layer"], path["z"], path["x"], path["y"], query.get("crs"),
                     query.get("properties"), as_of=bool(query.get("asOf") or query.get("plan")))
    county = await tile_county(request, principal)
    if county is not None:  # a frozen dataclass's replace costs ~5 µs: only when one is kept
        req = replace(req, county=county)
    t_as_of = parse_as_of(req.layer.name, query.get("asOf"))
    plan = parse_plan(req.layer.name, query.get("plan"))
    known = parse_if_none_match(request.headers.get("if-none-match"))
    engine = reader(request)  # a read replica when configured (issue 17)
    if plan is not None:  # a stored plan's layer (tiles/plan.py)
        if t_as_of is not None:
            raise InvalidInput("asOf and plan cannot be combined: a plan is drawn as if it were live")
        p = await fetch_tile_plan(engine, req, plan, principal=principal, known=known)
        return _tile_response(p.etag, p.data, CACHE_CONTROL)
    if t_as_of is None:
        t = await fetch_tile(engine, req, known=known)
        return _tile_response(t.etag, t.data, CACHE_CONTROL)
    a = await fetch_tile_as_of(engine, req, t_as_of, known=known)
    return _tile_response(a.etag, a.data, FINAL_CACHE_CONTROL if a.final else CACHE_CONTROL)


def _tile_response(etag: str, data: bytes | None, cache_control: str) -> Response:
    """The tile, or 304 when ``data`` is None (the client's copy is current)."""
    headers = {"ETag": f'"{etag}"', "Cache-Control": cache_control,
               "Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag"}
    if data is None:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=MVT_TYPE, headers=headers)
