"""Queryables (OGC API - Features - Part 3) and property filters (Part 1, ``?name=value``).

The queryables of a collection are its fields (tiles/features.py) and ``geometry``, as the JSON
Schema clients read to offer filters (QGIS' query builder, GDAL's OAPIF driver deciding what it
can send to the server). The same fields are the property filters: ``?zone_code=Z01`` is
``zone_code = 'Z01'``, the value read as the field's type (a bad number is a 400).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jurisgrid.errors import InvalidInput
from jurisgrid.ogc.cql import GEOMETRY
from jurisgrid.tiles.features import Collection, Field

JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema"
_SCHEMA_TYPES: dict[str, dict[str, str]] = {
    "string": {"type": "string"}, "integer": {"type": "integer"}, "number": {"type": "number"},
    "boolean": {"type": "boolean"}, "timestamp": {"type": "string", "format": "date-time"},
}


def queryables(collection: Collection, url: str, *, sortables: bool = False) -> dict[str, Any]:
    """The JSON Schema of a collection's queryables (or sortables: the fields without the
    geometry) served at ``url``."""
    props: dict[str, Any] = {}
    if not sortables:
        props[GEOMETRY] = {"title": "geometry", "format": f"geometry-{collection.geometry}",
                           "x-ogc-role": "primary-geometry"}
    for f in collection.fields:
        props[f.name] = {"title": f.title, **_SCHEMA_TYPES[f.type]}
        if f.name == "code":
            props[f.name]["x-ogc-role"] = "id"
        if f.name == collection.temporal:
            props[f.name]["x-ogc-role"] = "primary-instant"
    return {"$schema": JSON_SCHEMA, "$id": url, "type": "object",
            "title": f"{collection.title}: {'sortables' if sortables else 'queryables'}",
            "properties": props, "additionalProperties": False}


def coerce(f: Field, raw: str) -> Any:
    """A query-string value as the field's type."""
    try:
        if f.type == "integer":
            if len(raw) > 20:
                raise ValueError
            return int(raw)
        if f.type == "number":
            v = float(raw)
            if v != v or v in (float("inf"), float("-inf")):
                raise ValueError
            return v
        if f.type == "boolean":
            if raw.lower() not in ("true", "false"):
                raise ValueError
            return raw.lower() == "true"
        if f.type == "timestamp":
            t = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            return t if t.tzinfo else t.replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(f"property filter {f.name}={raw[:40]!r}: not a {f.type}") from None
    if not raw.isprintable():
        raise InvalidInput(f"property filter {f.name}: a control character in the value")
    return raw


def property_filters(collection: Collection, query: Mapping[str, str],
                     prefix: str = "p") -> tuple[list[str], dict[str, Any]]:
    """The equality conditions of the query parameters named after fields, with their values."""
    conds: list[str] = []
    params: dict[str, Any] = {}
    for f in collection.fields:
        if f.name in query:
            name = f"{prefix}{len(params)}"
            params[name] = coerce(f, query[f.name])
            conds.append(f"x.{f.name} = :{name}")
    return conds, params
