"""The OpenAPI 3.0 definition of /ogc (``service-desc`` of the landing page, at ``/ogc/api``).

The app-wide /openapi.json names these routes ``/ogc/collections/{cid}/items``; OGC clients read
the API definition relative to the landing page instead: GDAL's OAPIF driver looks up
``/collections/<id>/items`` (then ``/collections/{collectionId}/items``) and takes each query
parameter named after a property as a property filter (Part 1) and the ``filter-lang`` enum as
the filter languages it may send (Part 3). Built from the same collection fields as everything
else, so the definition cannot drift from what the server accepts.
"""

from __future__ import annotations

from typing import Any

from jurisgrid.ogc.cql import CRS84, FILTER_CRS, LANGS
from jurisgrid.tiles.features import Collection

OPENAPI_TYPE = "application/vnd.oai.openapi+json;version=3.0"
_TYPES = {"string": {"type": "string"}, "integer": {"type": "integer"}, "number": {"type": "number"},
          "boolean": {"type": "boolean"}, "timestamp": {"type": "string", "format": "date-time"}}


def _q(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    p: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        p["description"] = description
    return p


def item_parameters(limit_default: int, limit_max: int) -> list[dict[str, Any]]:
    """The query parameters every items request takes."""
    return [
        _q("limit", {"type": "integer", "minimum": 1, "maximum": limit_max, "default": limit_default},
           f"features per page (larger values are clamped to {limit_max})"),
        _q("offset", {"type": "integer", "minimum": 0, "default": 0}),
        {**_q("bbox", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}),
         "style": "form", "explode": False},
        _q("datetime", {"type": "string"}, "an instant or an interval (a/b, open ends ..)"),
        _q("filter", {"type": "string"}, "a CQL2 filter over the collection's queryables"),
        _q("filter-lang", {"type": "string", "enum": list(LANGS), "default": "cql2-text"}),
        _q("filter-crs", {"type": "string", "enum": list(FILTER_CRS), "default": CRS84}),
        _q("sortby", {"type": "string"}, "+name or -name, comma-separated (the sortables)"),
        _q("crs", {"type": "string", "enum": [CRS84], "default": CRS84}),
        _q("county", {"type": "string"}, "a county's code: only its features (a county-scoped "
                                          "token reads its own county only; another is 403)"),
        _q("f", {"type": "string", "enum": ["json", "html"]}),
    ]


def definition(base: str, collections: list[Collection], *, limit_default: int,
               limit_max: int) -> dict[str, Any]:
    """The OpenAPI document of the OGC API served at ``base`` (…/ogc)."""
    common = item_parameters(limit_default, limit_max)
    ok = {"200": {"description": "OK"}, "400": {"description": "bad query parameters"},
          "404": {"description": "no such collection or feature"}}
    cid = {"name": "collectionId", "in": "path", "required": True, "schema": {"type": "string"}}
    paths: dict[str, Any] = {
        "/": {"get": {"summary": "Landing page", "operationId": "landing", "responses": ok}},
        "/conformance": {"get": {"summary": "Conformance classes", "operationId": "conformance",
                                 "responses": ok}},
        "/collections": {"get": {"summary": "Feature collections", "operationId": "collections",
                                 "responses": ok}},
        "/collections/{collectionId}": {"get": {"summary": "A feature collection",
                                                "operationId": "collection", "parameters": [cid],
                                                "responses": ok}},
        "/collections/{collectionId}/queryables": {"get": {
            "summary": "What a filter may name (JSON Schema)", "operationId": "queryables",
            "parameters": [cid], "responses": ok}},
        "/collections/{collectionId}/items": {"get": {
            "summary": "Features of a collection", "operationId": "items",
            "parameters": [cid, *common], "responses": ok}},
        "/collections/{collectionId}/items/{featureId}": {"get": {
            "summary": "One feature", "operationId": "item",
            "parameters": [cid, {"name": "featureId", "in": "path", "required": True,
                                 "schema": {"type": "string"}}], "responses": ok}},
    }
    for c in collections:  # each collection's own items path, with its property filters
        props = [_q(f.name, _TYPES[f.type], f"property filter: {f.title}") for f in c.fields]
        paths[f"/collections/{c.id}/items"] = {"get": {
            "summary": f"{c.title}: features", "operationId": f"items_{c.id}",
            "parameters": [*common, *props], "responses": ok}}
    return {"openapi": "3.0.3",
            "info": {"title": "jurisgrid OGC API - Features", "version": "1.0.0",
                     "description": "Police-station jurisdictions as OGC API - Features (Parts 1 "
                                    "and 3): CQL2 filters, sorting, queryables."},
            "servers": [{"url": base}], "paths": paths}
