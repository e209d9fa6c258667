"""``/ogc``: OGC API - Features - Part 1: Core, GeoJSON encoding (read only), for QGIS & co.

Landing page, conformance, collections, items (``bbox``, ``datetime``, ``limit``, ``offset``
with next/prev links, ``numberMatched``, ``numberReturned``, ``timeStamp``) and single items.
Unknown query parameters are refused with 400, as the standard requires.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from jurisgrid.db import read
from jurisgrid.errors import InvalidInput
from jurisgrid.routes.jsonresponse import JSONResponse
from jurisgrid.tiles import features as fx

router = APIRouter(prefix="/ogc")

GEOJSON = "application/geo+json"
JSON = "application/json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
LIMIT_DEFAULT = 10
LIMIT_MAX = 10_000
# beyond any collection's size, and inside PostgreSQL's bigint: a larger offset is refused with
# 400 instead of overflowing the statement (issue 16: offset=99999999999999999999 was a 500)
OFFSET_MAX = 1_000_000_000


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _check_params(request: Request, allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise InvalidInput(f"unknown query parameter(s): {', '.join(unknown)}; "
                           f"allowed: {', '.join(sorted(allowed)) or 'none'}")
    f = request.query_params.get("f")
    if f is not None and f not in ("json", "geojson"):
        raise InvalidInput(f"unsupported format f={f!r}; this server speaks json only")


def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


async def _db(request: Request, fn: Any) -> Any:
    """``fn(conn)`` in a worker thread, retried once on a dropped connection (db.read)."""
    return await run_in_threadpool(read, request.app.state.engine, fn)


@router.get("", response_class=JSONResponse)
@router.get("/", response_class=JSONResponse, include_in_schema=False)
async def landing(request: Request) -> JSONResponse:
    _check_params(request, {"f"})
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    return JSONResponse({
        "title": "jurisgrid",
        "description": "Police-station jurisdictions (派出所辖区): sectors, stations, zones, grids, "
                       "communities, townships, address points and incidents.",
        "links": [
            _link(base, "self", JSON, "this document"),
            _link(f"{root}/openapi.json", "service-desc", "application/vnd.oai.openapi+json;version=3.0",
                  "the API definition"),
            _link(f"{root}/docs", "service-doc", "text/html", "the API documentation"),
            _link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
            _link(f"{base}/collections", "data", JSON, "the feature collections"),
        ],
    })


@router.get("/conformance", response_class=JSONResponse)
async def conformance(request: Request) -> JSONResponse:
    _check_params(request, {"f"})
    return JSONResponse({"conformsTo": CONFORMANCE})


def _collection_json(base: str, c: fx.Collection, bbox: list[float] | None,
                     span: list[str | None]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
        "crs": [CRS84], "storageCrs": CRS84,
        "links": [
            _link(f"{base}/collections/{c.id}", "self", JSON, c.title),
            _link(f"{base}/collections/{c.id}/items", "items", GEOJSON, f"{c.title}: items"),
        ],
    }
    extent: dict[str, Any] = {}
    if bbox is not None:
        extent["spatial"] = {"bbox": [bbox], "crs": CRS84}
    if c.temporal:
        extent["temporal"] = {"interval": [span],
                              "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    if extent:
        doc["extent"] = extent
    return doc


@router.get("/collections", response_class=JSONResponse)
async def collections(request: Request) -> JSONResponse:
    _check_params(request, {"f"})
    base = _base(request)
    bbox, span = await _db(request, fx.data_extent)
    return JSONResponse({
        "links": [_link(f"{base}/collections", "self", JSON, "the feature collections")],
        "collections": [_collection_json(base, c, bbox, span) for c in fx.COLLECTIONS.values()],
    })


@router.get("/collections/{cid}", response_class=JSONResponse)
async def collection(request: Request, cid: str) -> JSONResponse:
    _check_params(request, {"f"})
    c = fx.get_collection(cid)
    bbox, span = await _db(request, fx.data_extent)
    return JSONResponse(_collection_json(_base(request), c, bbox, span))


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    try:
        vals = [float(v) for v in raw.split(",")]
    except ValueError:
        raise InvalidInput(f"bbox {raw!r} is not a list of numbers") from None
    if len(vals) == 6:  # minx, miny, minz, maxx, maxy, maxz: heights are ignored
        vals = [vals[0], vals[1], vals[3], vals[4]]
    if len(vals) != 4:
        raise InvalidInput(f"bbox needs 4 (or 6) numbers, got {len(vals)}")
    x0, y0, x1, y1 = vals
    if not all(abs(v) <= lim for v, lim in zip(vals, (180, 90, 180, 90), strict=True)):
        raise InvalidInput(f"bbox {raw!r} is outside lon -180..180 / lat -90..90")
    if y0 > y1 or x0 > x1:
        raise InvalidInput(f"bbox {raw!r}: the minimum exceeds the maximum "
                           "(boxes across the antimeridian are not supported)")
    return x0, y0, x1, y1


def _instant(raw: str) -> datetime | None:
    if raw in ("..", ""):
        return None
    try:
        t = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"datetime {raw!r} is not an RFC 3339 date-time") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def parse_datetime(raw: str) -> tuple[datetime | None, datetime | None]:
    if "/" in raw:
        a, b = raw.split("/", 1)
        start, end = _instant(a), _instant(b)
        if start and end and start > end:
            raise InvalidInput(f"datetime {raw!r}: the start is after the end")
        return start, end
    t = _instant(raw)
    if t is None:
        raise InvalidInput("datetime '..' is only allowed as one end of an interval")
    return t, t


def _nonneg_int(name: str, raw: str, minimum: int, maximum: int | None = None) -> int:
    if len(raw) > 20:
        raise InvalidInput(f"{name} {raw[:20]!r}… is not a reasonable integer")
    try:
        v = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} {raw!r} is not an integer") from None
    if v < minimum:
        raise InvalidInput(f"{name} must be at least {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise InvalidInput(f"{name} must be at most {maximum}, got {v}")
    return v


def check_feature_id(fid: str) -> str:
    """A feature id is a unit's code: printable text of reasonable length. A NUL byte
    (``abc%00def``) used to reach the database driver and end as a 500."""
    if len(fid) > 64 or not fid.isprintable():
        raise InvalidInput(f"feature id {fid[:64]!r} is not a code (printable text, at most 64 "
                           "characters)")
    return fid


@router.get("/collections/{cid}/items", response_class=GeoJSONResponse)
async def collection_items(request: Request, cid: str) -> GeoJSONResponse:
    c = fx.get_collection(cid)
    _check_params(request, {"f", "bbox", "limit", "offset", "datetime"})
    qp = request.query_params
    limit = min(_nonneg_int("limit", qp["limit"], 1), LIMIT_MAX) if "limit" in qp else LIMIT_DEFAULT
    offset = _nonneg_int("offset", qp["offset"], 0, OFFSET_MAX) if "offset" in qp else 0
    bbox = parse_bbox(qp["bbox"]) if "bbox" in qp else None
    start, end = parse_datetime(qp["datetime"]) if "datetime" in qp else (None, None)
    q = fx.ItemQuery(bbox=bbox, start=start, end=end, limit=limit, offset=offset)
    feats, matched = await _db(request, lambda conn: fx.items(conn, c, q))

    url = f"{_base(request)}/collections/{c.id}/items"
    keep = {k: v for k, v in qp.items() if k not in ("offset", "limit")}

    def page(off: int) -> str:
        return f"{url}?{urlencode({**keep, 'limit': limit, 'offset': off})}"

    links = [_link(page(offset), "self", GEOJSON, "this page"),
             _link(f"{_base(request)}/collections/{c.id}", "collection", JSON, c.title)]
    if offset + len(feats) < matched:
        links.append(_link(page(offset + len(feats)), "next", GEOJSON, "the next page"))
    if offset > 0:
        links.append(_link(page(max(0, offset - limit)), "prev", GEOJSON, "the previous page"))
    return GeoJSONResponse({
        "type": "FeatureCollection",
        "features": feats,
        "numberMatched": matched,
        "numberReturned": len(feats),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
    })


@router.get("/collections/{cid}/items/{fid}", response_class=GeoJSONResponse)
async def collection_item(request: Request, cid: str, fid: str) -> GeoJSONResponse:
    c = fx.get_collection(cid)
    _check_params(request, {"f"})
    check_feature_id(fid)
    feat = await _db(request, lambda conn: fx.item(conn, c, fid))
    base = _base(request)
    feat["links"] = [
        _link(f"{base}/collections/{c.id}/items/{fid}", "self", GEOJSON, "this feature"),
        _link(f"{base}/collections/{c.id}", "collection", JSON, c.title),
    ]
    return GeoJSONResponse(feat)
