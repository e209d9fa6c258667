"""``/ogc``: OGC API - Features (read only) for QGIS, GDAL & co.

Part 1 (Core, GeoJSON, HTML): landing page, conformance, collections, items (``bbox``,
``datetime``, ``limit`` up to 10,000, ``offset`` with next/prev links, ``numberMatched``,
``numberReturned``, ``timeStamp``) and single items; ``f=html`` (or a browser's ``Accept``)
gives small HTML views (ogc/html.py). Property filters: ``?zone_code=Z01`` (ogc/queryables.py).
Part 3 (Filtering): ``filter`` in cql2-text or cql2-json (``filter-lang``, ``filter-crs``;
ogc/cql.py) and ``/collections/{id}/queryables``. Sorting: ``sortby=+a,-b`` and
``/collections/{id}/sortables`` (ogc/sorting.py). Unknown query parameters — and unknown
properties in a filter or sortby — are refused with 400 naming them.

Many counties (issue 11): every feature has ``county_code``; ``?county=511725`` (on items, and
on the collections for their extent) keeps one county — an unknown code is a 400 naming it. A
county-scoped token sees its county only: items and extents are of it, asking for another
county is 403, and an item of another county is 404, as a code that does not exist (so the API
does not tell which codes exist elsewhere) — the same rule as GraphQL's lookups by code.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from jurisgrid.auth.county_read import request_county
from jurisgrid.db import read
from jurisgrid.errors import InvalidInput
from jurisgrid.ogc import html
from jurisgrid.ogc import partitions as ogc_parts
from jurisgrid.ogc.cql import CRS84, FILTER_CRS, LANGS, compile_filter
from jurisgrid.ogc.openapi import OPENAPI_TYPE, definition, item_parameters
from jurisgrid.ogc.queryables import property_filters, queryables
from jurisgrid.ogc.sorting import order_by
from jurisgrid.replicas import reader
from jurisgrid.routes.jsonresponse import JSONResponse
from jurisgrid.tiles import features as fx

router = APIRouter(prefix="/ogc")

GEOJSON = "application/geo+json"
JSON = "application/json"
SCHEMA_JSON = "application/schema+json"
HTML = "text/html"
_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
_PART3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    _PART3 + "filter", _PART3 + "features-filter", _PART3 + "queryables",
    _PART3 + "queryables-query-parameters",
    _CQL2 + "cql2-text", _CQL2 + "cql2-json", _CQL2 + "basic-cql2",
    _CQL2 + "advanced-comparison-operators", _CQL2 + "case-insensitive-comparison",
    _CQL2 + "property-property", _CQL2 + "arithmetic",
    # the spatial classes under their draft names (which GDAL and QGIS look for) and final ones
    _CQL2 + "basic-spatial-operators", _CQL2 + "spatial-operators",
    _CQL2 + "basic-spatial-functions", _CQL2 + "basic-spatial-functions-plus",
    _CQL2 + "spatial-functions",
    "http://www.opengis.net/spec/ogcapi-features-8/1.0/conf/sorting",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
]
REL_QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
REL_SORTABLES = "http://www.opengis.net/def/rel/ogc/1.0/sortables"
LIMIT_DEFAULT = 10
LIMIT_MAX = 10_000
# beyond any collection's size, and inside PostgreSQL's bigint: a larger offset is refused with
# 400 instead of overflowing the statement (issue 16: offset=99999999999999999999 was a 500)
OFFSET_MAX = 1_000_000_000
ITEM_PARAMS = {"f", "bbox", "limit", "offset", "datetime", "filter", "filter-lang", "filter-crs",
               "sortby", "crs", "bbox-crs", "county"}
# a connection URL's parameters are carried to every request by some clients (GDAL's
# ``OAPIF:https://…/ogc/collections/grids?sortby=-population`` sends its query string to the
# landing page, the API definition and the collection too): the metadata endpoints accept and
# ignore these item parameters; anything else unknown is still a 400
CARRIED = {"sortby", "filter", "filter-lang", "filter-crs", "datetime", "bbox", "crs", "county"}


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


class SchemaJSONResponse(JSONResponse):
    media_type = SCHEMA_JSON


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _check_params(request: Request, allowed: set[str], *, html_ok: bool = True) -> str:
    """Refuse unknown query parameters; the format asked for: 'json' or 'html' (``f``, else a
    browser's Accept header listing text/html first)."""
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise InvalidInput(f"unknown query parameter(s): {', '.join(unknown)}; "
                           f"allowed: {', '.join(sorted(allowed)) or 'none'}")
    f = request.query_params.get("f")
    formats = ("json", "geojson", "html") if html_ok else ("json",)
    if f is not None and f not in formats:
        raise InvalidInput(f"unsupported format f={f!r}; here: {', '.join(formats)}")
    if f is not None:
        return "html" if f == "html" else "json"
    accept = request.headers.get("accept", "")
    return "html" if html_ok and accept.split(",")[0].strip().startswith(HTML) else "json"


def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


def _with_f(url: str, fmt: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}f={fmt}"


async def _db(request: Request, fn: Any) -> Any:
    """``fn(conn)`` in a worker thread, retried once on a dropped connection (db.read)."""
    return await run_in_threadpool(read, reader(request), fn)  # a replica when configured


async def _county(request: Request) -> str | None:
    """The county the request reads (``?county=``, narrowed by a county-scoped token)."""
    return await run_in_threadpool(request_county, reader(request), request.state.principal,
                                   request.query_params.get("county"))


@router.get("", response_class=JSONResponse)
@router.get("/", response_class=JSONResponse, include_in_schema=False)
async def landing(request: Request) -> Response:
    fmt = _check_params(request, {"f"} | CARRIED)
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    doc = {
        "title": "jurisgrid",
        "description": "Police-station jurisdictions (派出所辖区): sectors, stations, zones, grids, "
                       "communities, townships, address points and incidents.",
        "links": [
            _link(base, "self", JSON, "this document"),
            _link(_with_f(base, "html"), "alternate", HTML, "this document as HTML"),
            _link(f"{base}/api", "service-desc", OPENAPI_TYPE, "the API definition"),
            _link(f"{root}/docs", "service-doc", HTML, "the API documentation"),
            _link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
            _link(f"{base}/conformance", "http://www.opengis.net/def/rel/ogc/1.0/conformance", JSON,
                  "conformance classes"),
            _link(f"{base}/collections", "data", JSON, "the feature collections"),
            _link(f"{base}/collections", "http://www.opengis.net/def/rel/ogc/1.0/data", JSON,
                  "the feature collections"),
        ],
    }
    if fmt == "html":
        return HTMLResponse(html.landing(doc, base, root))
    return JSONResponse(doc)


@router.get("/conformance", response_class=JSONResponse)
async def conformance(request: Request) -> JSONResponse:
    _check_params(request, {"f"} | CARRIED, html_ok=False)
    return JSONResponse({"conformsTo": CONFORMANCE})


def _collection_json(base: str, c: fx.Collection, bbox: list[float] | None,
                     span: list[str | None]) -> dict[str, Any]:
    url = f"{base}/collections/{c.id}"
    doc: dict[str, Any] = {
        "id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
        "crs": [CRS84], "storageCrs": CRS84,
        "links": [
            _link(url, "self", JSON, c.title),
            _link(_with_f(url, "html"), "alternate", HTML, f"{c.title} as HTML"),
            _link(f"{url}/items", "items", GEOJSON, f"{c.title}: items"),
            _link(f"{url}/queryables", REL_QUERYABLES, SCHEMA_JSON, f"{c.title}: queryables"),
            _link(f"{url}/sortables", REL_SORTABLES, SCHEMA_JSON, f"{c.title}: sortables"),
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
async def collections(request: Request) -> Response:
    fmt = _check_params(request, {"f"} | CARRIED)
    base = _base(request)
    county = await _county(request)
    bbox, span = await _db(request, lambda conn: fx.data_extent(conn, county))
    doc = {
        "links": [_link(f"{base}/collections", "self", JSON, "the feature collections"),
                  _link(_with_f(f"{base}/collections", "html"), "alternate", HTML, "as HTML")],
        "collections": [_collection_json(base, c, bbox, span) for c in fx.COLLECTIONS.values()],
    }
    if fmt == "html":
        return HTMLResponse(html.collections(doc, f"{base}/collections", base))
    return JSONResponse(doc)


@router.get("/collections/{cid}", response_class=JSONResponse)
async def collection(request: Request, cid: str) -> Response:
    fmt = _check_params(request, {"f"} | CARRIED)
    c = fx.get_collection(cid)
    base = _base(request)
    county = await _county(request)
    bbox, span = await _db(request, lambda conn: fx.data_extent(conn, county))
    doc = _collection_json(base, c, bbox, span)
    if fmt == "html":
        url = f"{base}/collections/{c.id}"
        return HTMLResponse(html.collection(doc, url, base, queryables(c, f"{url}/queryables")))
    return JSONResponse(doc)


@router.get("/collections/{cid}/queryables", response_class=SchemaJSONResponse)
async def collection_queryables(request: Request, cid: str) -> SchemaJSONResponse:
    """The JSON Schema of the properties a filter may name (OGC API - Features - Part 3)."""
    c = fx.get_collection(cid)
    _check_params(request, {"f"} | CARRIED, html_ok=False)
    return SchemaJSONResponse(queryables(c, f"{_base(request)}/collections/{c.id}/queryables"))


@router.get("/collections/{cid}/sortables", response_class=SchemaJSONResponse)
async def collection_sortables(request: Request, cid: str) -> SchemaJSONResponse:
    """The JSON Schema of the properties ``sortby`` may name."""
    c = fx.get_collection(cid)
    _check_params(request, {"f"} | CARRIED, html_ok=False)
    return SchemaJSONResponse(queryables(c, f"{_base(request)}/collections/{c.id}/sortables",
                                         sortables=True))


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


def item_query(c: fx.Collection, qp: Any) -> fx.ItemQuery:
    """The items query of a request's parameters (already checked to be known ones)."""
    limit = min(_nonneg_int("limit", qp["limit"], 1), LIMIT_MAX) if "limit" in qp else LIMIT_DEFAULT
    offset = _nonneg_int("offset", qp["offset"], 0, OFFSET_MAX) if "offset" in qp else 0
    bbox = parse_bbox(qp["bbox"]) if "bbox" in qp else None
    start, end = parse_datetime(qp["datetime"]) if "datetime" in qp else (None, None)
    conds, params = property_filters(c, qp)
    if "filter" in qp:
        sql = compile_filter(c, qp["filter"], lang=qp.get("filter-lang") or "cql2-text",
                             crs=qp.get("filter-crs"))
        conds.append(sql.sql)
        params.update(sql.params)
    else:
        for name, allowed in (("filter-lang", LANGS), ("filter-crs", tuple(FILTER_CRS))):
            if name in qp and qp[name] not in allowed:
                raise InvalidInput(f"{name} {qp[name]!r} is not supported; use one of "
                                   f"{', '.join(allowed)}")
    for name in ("crs", "bbox-crs"):  # Part 2: GDAL asks for the collection's one CRS by name
        if name in qp and qp[name] != CRS84:
            raise InvalidInput(f"{name} {qp[name]!r} is not supported; features are served in {CRS84}")
    order = order_by(c, qp["sortby"]) if qp.get("sortby", "").strip() else "x.code"
    return fx.ItemQuery(bbox=bbox, start=start, end=end, limit=limit, offset=offset,
                        conditions=tuple(conds), params=params, order_by=order)


_ITEMS_OPENAPI: dict[str, Any] = {"parameters": item_parameters(LIMIT_DEFAULT, LIMIT_MAX)}


class OpenAPIResponse(JSONResponse):
    media_type = OPENAPI_TYPE


@router.get("/api", response_class=OpenAPIResponse)
async def api_definition(request: Request) -> OpenAPIResponse:
    """The OpenAPI definition of /ogc itself, paths relative to /ogc (ogc/openapi.py)."""
    _check_params(request, {"f"} | CARRIED, html_ok=False)
    return OpenAPIResponse(definition(_base(request), list(fx.COLLECTIONS.values()),
                                      limit_default=LIMIT_DEFAULT, limit_max=LIMIT_MAX))


@router.get("/collections/{cid}/items", response_class=GeoJSONResponse, openapi_extra=_ITEMS_OPENAPI)
async def collection_items(request: Request, cid: str) -> Response:
    c = fx.get_collection(cid)
    fmt = _check_params(request, ITEM_PARAMS | {f.name for f in c.fields})
    qp = request.query_params
    q = item_query(c, qp)
    county = await _county(request)
    if county is not None:
        q = replace(q, conditions=(*q.conditions, "x.county_code = :county_scope"),
                    params={**q.params, "county_scope": county})
    feats, matched = await _db(request, lambda conn: ogc_parts.items(conn, c, q, county))

    base = _base(request)
    url = f"{base}/collections/{c.id}/items"
    keep = {k: v for k, v in qp.items() if k not in ("offset", "limit")}

    def page(off: int, **extra: str) -> str:
        return f"{url}?{urlencode({**keep, 'limit': q.limit, 'offset': off, **extra})}"

    links = [_link(page(q.offset), "self", GEOJSON, "this page"),
             _link(page(q.offset, f="html"), "alternate", HTML, "this page as HTML"),
             _link(f"{base}/collections/{c.id}", "collection", JSON, c.title)]
    if q.offset + len(feats) < matched:
        links.append(_link(page(q.offset + len(feats)), "next", GEOJSON, "the next page"))
    if q.offset > 0:
        links.append(_link(page(max(0, q.offset - q.limit)), "prev", GEOJSON, "the previous page"))
    doc = {
        "type": "FeatureCollection",
        "features": feats,
        "numberMatched": matched,
        "numberReturned": len(feats),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
    }
    if fmt == "html":
        cdoc = {"id": c.id, "title": c.title}
        return HTMLResponse(html.items(doc, page(q.offset), base, cdoc, [f.name for f in c.fields]))
    return GeoJSONResponse(doc, headers={"Content-Crs": f"<{CRS84}>"})


@router.get("/collections/{cid}/items/{fid}", response_class=GeoJSONResponse)
async def collection_item(request: Request, cid: str, fid: str) -> GeoJSONResponse:
    c = fx.get_collection(cid)
    _check_params(request, {"f"} | CARRIED, html_ok=False)
    check_feature_id(fid)
    county = await _county(request)
    feat = await _db(request, lambda conn: ogc_parts.item(conn, c, fid, county))
    base = _base(request)
    feat["links"] = [
        _link(f"{base}/collections/{c.id}/items/{fid}", "self", GEOJSON, "this feature"),
        _link(f"{base}/collections/{c.id}", "collection", JSON, c.title),
    ]
    return GeoJSONResponse(feat)
