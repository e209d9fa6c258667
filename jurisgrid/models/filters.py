"""Typed filters, orderings and keyset cursors for the lists (models/listing.py), as plain data.

The GraphQL layer (gql/filters.py) turns its inputs into these; here they become SQL over a
unit's rows under a :class:`~jurisgrid.models.source.Source`. A field is named by its GraphQL
name (``hasOffice``, ``occurredAt``) and must be one of :data:`FIELDS` of the table — anything
else is an :class:`~jurisgrid.errors.InvalidInput`, never a column name passed through.

Orderings always end with the code, which is unique, so that the order is total and a cursor
(the sort values of a row and its code) names one position: pages neither skip nor repeat rows
when rows with equal sort values straddle a page boundary, forwards (``first``/``after``) or
backwards (``last``/``before``). Distances are metres on the ground (``geography``).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from geoalchemy2 import Geography
from geoalchemy2 import functions as gf
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    Float,
    FromClause,
    Integer,
    Text,
    and_,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    true,
)

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.earth import METRES_PER_DEGREE

# GraphQL field name -> (column, kind) of each table's scalar fields that lists filter and sort on
Kind = Literal["str", "int", "bool", "datetime"]
_COMMON: dict[str, tuple[str, Kind]] = {"code": ("code", "str"), "name": ("name", "str")}
FIELDS: dict[str, dict[str, tuple[str, Kind]]] = {
    "sector": dict(_COMMON),
    "township": {**_COMMON, "kind": ("kind", "str")},
    "community": {**_COMMON, "kind": ("kind", "str")},
    "station": {**_COMMON, "kind": ("kind", "str"), "address": ("address", "str"),
                "phone": ("phone", "str")},
    "zone": {**_COMMON, "kind": ("kind", "str"), "hasOffice": ("has_office", "bool")},
    "grid": dict(_COMMON),
    "address_point": {"code": ("code", "str"), "address": ("address", "str"),
                      "households": ("households", "int"), "population": ("population", "int"),
                      "houses": ("houses", "int"), "units": ("units", "int")},
    "incident": {"code": ("code", "str"), "category": ("category", "str"),
                 "occurredAt": ("occurred_at", "datetime")},
    "person": {**_COMMON, "phone": ("phone", "str")},
}
# GraphQL geometry field name -> column, per table with geometry
GEOMETRY_FIELDS: dict[str, dict[str, str]] = {
    "township": {"geometry": "geom", "seat": "seat"},
    "community": {"geometry": "geom"},
    "station": {"geometry": "geom", "seat": "seat"},
    "zone": {"geometry": "geom"},
    "grid": {"geometry": "geom"},
    "address_point": {"location": "geom"},
    "incident": {"location": "geom"},
}
_SQL_TYPE: dict[str, Any] = {"str": Text, "int": Integer, "bool": Boolean,
                             "datetime": DateTime(timezone=True)}
OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "like", "ilike", "isNull")


@dataclass(frozen=True)
class Cmp:
    """``field op value``; ``in`` takes a list, ``isNull`` a bool, like/ilike a pattern with
    ``%`` and ``_`` (strings only)."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Spatial:
    """``intersects`` / ``within`` a geometry (WGS 84), or ``dwithin``: within ``metres`` of it."""

    field: str
    op: Literal["intersects", "within", "dwithin"]
    geom: BaseGeometry
    metres: float | None = None


@dataclass(frozen=True)
class All:
    parts: tuple[Filter, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Filter, ...]


@dataclass(frozen=True)
class Not:
    part: Filter


Filter = Cmp | Spatial | All | AnyOf | Not


@dataclass(frozen=True)
class SortKey:
    """One term of an ordering: a scalar field, or the distance (metres) to a WGS 84 point."""

    field: str | None = None
    distance_to: tuple[float, float] | None = None
    descending: bool = False


# -- filters -------------------------------------------------------------------------------
def field_column(table: str, tb: FromClause, name: str) -> tuple[Any, Kind]:
    found = FIELDS.get(table, {}).get(name)
    if found is None:
        raise InvalidInput(f"{table} has no field {name!r} to filter or sort on; fields: "
                           + ", ".join(FIELDS.get(table, {})))
    return tb.c[found[0]], found[1]


def geometry_column(table: str, tb: FromClause, name: str) -> Any:
    col = GEOMETRY_FIELDS.get(table, {}).get(name)
    if col is None:
        raise InvalidInput(f"{table} has no geometry field {name!r}")
    return tb.c[col]


def condition(table: str, tb: FromClause, f: Filter) -> ColumnElement[bool]:
    """The SQL condition of a filter over the rows ``tb`` of ``table``."""
    if isinstance(f, All):
        return and_(true(), *[condition(table, tb, p) for p in f.parts])
    if isinstance(f, AnyOf):
        return or_(false(), *[condition(table, tb, p) for p in f.parts])
    if isinstance(f, Not):
        # NOT over SQL's three-valued logic: a row whose field is NULL fails `eq` and also its
        # negation; clients expect NOT to be the complement, so unknown counts as false
        return not_(func.coalesce(condition(table, tb, f.part), false()))
    if isinstance(f, Spatial):
        return _spatial(geometry_column(table, tb, f.field), f)
    return _compare(table, tb, f)


def _compare(table: str, tb: FromClause, f: Cmp) -> ColumnElement[bool]:
    col, kind = field_column(table, tb, f.field)
    if f.op not in OPS:
        raise InvalidInput(f"unknown operator {f.op!r}; operators: {', '.join(OPS)}")
    if f.op == "isNull":
        if not isinstance(f.value, bool):
            raise InvalidInput(f"{f.field}.isNull takes true or false")
        return col.is_(None) if f.value else col.is_not(None)
    if f.op in ("like", "ilike"):
        if kind != "str" or not isinstance(f.value, str):
            raise InvalidInput(f"{f.field}.{f.op} applies to text fields, with a text pattern")
        return col.like(f.value) if f.op == "like" else col.ilike(f.value)
    if f.op == "in":
        if not isinstance(f.value, list | tuple):
            raise InvalidInput(f"{f.field}.in takes a list")
        values = [_value(f.field, kind, v) for v in f.value]
        return col.in_(values) if values else false()
    v = _value(f.field, kind, f.value)
    if kind == "bool" and f.op not in ("eq", "ne"):
        raise InvalidInput(f"{f.field} is true or false: only eq, ne, in and isNull apply")
    return {"eq": col == v, "ne": col != v, "lt": col < v, "lte": col <= v, "gt": col > v,
            "gte": col >= v}[f.op]


def _value(field: str, kind: Kind, v: Any) -> Any:
    ok = {"str": isinstance(v, str), "bool": isinstance(v, bool),
          "int": isinstance(v, int) and not isinstance(v, bool),
          "datetime": isinstance(v, datetime)}[kind]
    if not ok:
        raise InvalidInput(f"{field} compares with a {kind} value, got {v!r}")
    return literal(v, _SQL_TYPE[kind])


def _spatial(geom: Any, f: Spatial) -> ColumnElement[bool]:
    g = func.ST_GeomFromWKB(literal(f.geom.wkb), 4326)
    if f.op == "intersects":
        return gf.ST_Intersects(geom, g)
    if f.op == "within":
        return gf.ST_Within(geom, g)
    metres = f.metres
    if metres is None or not (math.isfinite(metres) and 0 <= metres <= 100_000):
        raise InvalidInput("dwithin.metres must be from 0 to 100000")
    # index-friendly prefilter in degrees (generous: a degree of longitude is shorter), then
    # the exact test on the ground
    lat = max(abs(f.geom.bounds[1]), abs(f.geom.bounds[3]))
    deg = metres / METRES_PER_DEGREE * 1.5 / max(0.01, math.cos(math.radians(min(lat, 89.0))))
    return and_(gf.ST_DWithin(geom, g, deg + 1e-6),
                func.ST_DWithin(cast(geom, Geography), cast(g, Geography), metres))


# -- orderings and cursors -----------------------------------------------------------------
def sort_exprs(table: str, tb: FromClause, keys: tuple[SortKey, ...]) -> list[tuple[Any, bool]]:
    """(expression, descending) for each key, then the code (ascending) unless already last."""
    out: list[tuple[Any, bool]] = []
    for k in keys:
        if k.distance_to is not None:
            geom = geometry_column(table, tb, next(iter(GEOMETRY_FIELDS.get(table, {"": ""}))))
            lon, lat = k.distance_to
            p = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
            out.append((func.ST_Distance(cast(geom, Geography), cast(p, Geography)), k.descending))
        elif k.field is not None:
            out.append((field_column(table, tb, k.field)[0], k.descending))
        else:
            raise InvalidInput("orderBy: give a field or distanceTo")
    if not keys or keys[-1].field != "code":
        out.append((tb.c.code, False))
    return out


def order_by(exprs: list[tuple[Any, bool]], backwards: bool = False) -> list[Any]:
    """ORDER BY terms (NULLs last in the ascending order; reversed when paging backwards)."""
    terms = []
    for e, desc in exprs:
        d = desc != backwards
        terms.append(e.desc().nulls_first() if d else e.asc().nulls_last())
    return terms


def keyset(exprs: list[tuple[Any, bool]], values: list[Any], after: bool) -> ColumnElement[bool]:
    """Rows strictly after (or before) the position ``values`` in the order ``exprs``."""
    if len(values) != len(exprs):
        raise InvalidInput("cursor does not belong to this ordering")
    alts: list[ColumnElement[bool]] = []
    for i, ((e, desc), v) in enumerate(zip(exprs, values, strict=True)):
        prefix = [_same(x, val) for (x, _), val in zip(exprs[:i], values[:i], strict=True)]
        forward = after != desc
        alts.append(and_(*prefix, _beyond(e, v, forward)))
    return or_(*alts)


def _same(e: Any, v: Any) -> ColumnElement[bool]:
    return e.is_(None) if v is None else e == _bind(e, v)


def _beyond(e: Any, v: Any, forward: bool) -> ColumnElement[bool]:
    """``e`` later than ``v`` when going ``forward`` in ascending-NULLs-last terms."""
    if v is None:   # NULLs come last ascending: nothing is after them, every value before them
        return false() if forward else e.is_not(None)
    b = _bind(e, v)
    return or_(e > b, e.is_(None)) if forward else e < b


def _bind(e: Any, v: Any) -> Any:
    if isinstance(v, float):
        return literal(v, Float)
    t: Any = getattr(e, "type", None)
    if isinstance(t, DateTime) and isinstance(v, str):
        return cast(literal(v, Text), DateTime(timezone=True))
    return literal(v, t) if t is not None else literal(v)


def encode_cursor(values: list[Any], keyed: bool) -> str:
    """A row's position: ``code:<code>`` for the default order (the cursors clients already
    hold), else ``key:`` and the JSON array of its sort values."""
    if not keyed:
        raw = f"code:{values[-1]}"
    else:
        raw = "key:" + json.dumps([v.isoformat() if isinstance(v, datetime) else v
                                   for v in values], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, n_keys: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
    except Exception:
        raise InvalidInput(f"malformed cursor {cursor!r}") from None
    if raw.startswith("code:"):
        if n_keys != 1:
            raise InvalidInput("cursor does not belong to this ordering (it is of the default "
                               "order by code)")
        return [raw[5:]]
    if raw.startswith("key:"):
        try:
            values = json.loads(raw[4:])
        except ValueError:
            raise InvalidInput(f"malformed cursor {cursor!r}") from None
        if not isinstance(values, list) or len(values) != n_keys:
            raise InvalidInput("cursor does not belong to this ordering")
        return values
    raise InvalidInput(f"malformed cursor {cursor!r}")


def is_default(keys: tuple[SortKey, ...]) -> bool:
    return not keys or keys == (SortKey(field="code"),)


__all__ = ["FIELDS", "GEOMETRY_FIELDS", "All", "AnyOf", "Cmp", "Filter", "Not", "SortKey",
           "Spatial", "condition", "decode_cursor", "encode_cursor", "is_default", "keyset",
           "order_by", "sort_exprs"]
