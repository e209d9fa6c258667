"""``/tiles``: Mapbox vector tiles from PostGIS, TileJSON 3.0.0 and the layer listing.

Tiles carry a per-tile ETag (see jurisgrid/tiles/store.py) with ``Cache-Control: no-cache``:
clients and proxies keep tiles and revalidate them; ``If-None-Match`` with the current ETag
gets ``304 Not Modified`` without the tile being built. ``?crs=gcj02`` / ``bd09`` serves tiles
whose geometry lines up with AMap/Tencent / Baidu base maps. ``?asOf=<ISO instant>`` serves
the historised layers as they were then (jurisgrid/tiles/asof.py: past instants only, no
figures; a final instant's tile is cached for a day).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from jurisgrid.db import read_connection
from jurisgrid.routes.jsonresponse import JSONResponse
from jurisgrid.tiles.asof import FINAL_CACHE_CONTROL, parse_as_of
from jurisgrid.tiles.engine import tile_connection
from jurisgrid.tiles.layers import get_layer, parse_crs, parse_tile
from jurisgrid.tiles.store import AsOfTile, fetch_tile, fetch_tile_as_of
from jurisgrid.tiles.tilejson import listing, tilejson

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


def _query(crs: str, t: datetime | None) -> str:
    parts = [p for p in (_crs_query(crs).lstrip("?"), _as_of_query(t)) if p]
    return ("?" + "&".join(parts)) if parts else ""


@router.get("", response_class=JSONResponse)
async def layers(request: Request, crs: str | None = Query(None),
                 as_of: str | None = Query(None, alias="asOf")) -> JSONResponse:
    t = parse_as_of("grids", as_of)
    return JSONResponse(listing(_base(request), _crs_query(parse_crs(crs)), _as_of_query(t)))


@router.get("/{layer}.json", response_class=JSONResponse)
async def layer_tilejson(request: Request, layer: str, crs: str | None = Query(None),
                         as_of: str | None = Query(None, alias="asOf")) -> JSONResponse:
    lay = get_layer(layer)
    c = parse_crs(crs)
    t = parse_as_of(lay.name, as_of)
    engine = request.app.state.engine

    def bounds() -> tuple[float, float, float, float] | None:
        with read_connection(engine) as conn:
            row = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                                    "FROM (SELECT ST_Extent(geom) AS e FROM county) q")).one()
        return None if row[0] is None else (row[0], row[1], row[2], row[3])

    url = f"{_base(request)}/tiles/{lay.name}/{{z}}/{{x}}/{{y}}.mvt{_query(c, t)}"
    return JSONResponse(tilejson(lay, tile_url=url, bounds=await run_in_threadpool(bounds), crs=c,
                                 as_of=None if t is None else t.isoformat().replace("+00:00", "Z")))


@router.get("/{layer}/{z}/{x}/{y}.mvt")
async def tile(request: Request, layer: str, z: str, x: str, y: str,
               crs: str | None = Query(None), as_of: str | None = Query(None, alias="asOf")) -> Response:
    req = parse_tile(layer, z, x, y, crs)
    t_as_of = parse_as_of(req.layer.name, as_of)
    known = parse_if_none_match(request.headers.get("if-none-match"))
    engine = request.app.state.engine
    if t_as_of is not None:
        return await _tile_as_of(engine, req, t_as_of, known)

    def run() -> Any:
        with tile_connection(engine) as conn:
            return fetch_tile(conn, req, known=known)

    t = await run_in_threadpool(run)
    headers = {"ETag": f'"{t.etag}"', "Cache-Control": CACHE_CONTROL,
               "Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag"}
    if t.data is None:
        return Response(status_code=304, headers=headers)
    return Response(t.data, media_type=MVT_TYPE, headers=headers)


async def _tile_as_of(engine: Any, req: Any, t: datetime, known: list[str]) -> Response:
    def run() -> AsOfTile:
        with tile_connection(engine) as conn:
            return fetch_tile_as_of(conn, req, t, known=known)

    a = await run_in_threadpool(run)
    headers = {"ETag": f'"{a.etag}"', "Cache-Control": FINAL_CACHE_CONTROL if a.final else CACHE_CONTROL,
               "Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag"}
    if a.data is None:
        return Response(status_code=304, headers=headers)
    return Response(a.data, media_type=MVT_TYPE, headers=headers)
