"""GraphQL query power on every list: a typed ``filter`` input per unit type (comparison,
``and``/``or``/``not``, spatial operators), ``orderBy`` (any scalar field, or the distance to a
point) — turned into the plain filters of models/filters.py, in WGS 84.

The input types are made from :data:`jurisgrid.models.filters.FIELDS` so that every list offers
exactly the fields it can filter and sort on, e.g. ``GridFilter { code name geometry and or not }``
and ``GridOrderBy { field: GridField  distanceTo: LonLat  direction: SortDirection }``.
"""

from __future__ import annotations

import sys
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import Crs
from jurisgrid.gql.inputs import geojson_to_wgs84, point_to_wgs84
from jurisgrid.gql.scalars import GeoJSON
from jurisgrid.models import filters as flt

MAX_TERMS = 200      # comparisons in one filter, all levels together
MAX_NESTING = 10     # levels of and/or/not


def _cmp_fields(py: type, *, text: bool, ordered: bool) -> dict[str, Any]:
    """The operators of a comparison input over values of type ``py``."""
    ann: dict[str, Any] = {"eq": py | None, "ne": py | None, "in_": list[py] | None,  # type: ignore[valid-type]
                           "is_null": bool | None}
    if ordered:
        ann.update({"lt": py | None, "lte": py | None, "gt": py | None, "gte": py | None})
    if text:
        ann.update({"like": str | None, "ilike": str | None})
    return ann


def _input(name: str, ann: dict[str, Any], description: str,
           names: dict[str, str] | None = None, docs: dict[str, str] | None = None) -> Any:
    ns: dict[str, Any] = {"__annotations__": ann, "__module__": __name__}
    for k in ann:
        ns[k] = strawberry.field(default=None, name=(names or {}).get(k),
                                 description=(docs or {}).get(k))
    cls = strawberry.input(type(name, (), ns), description=description)
    setattr(sys.modules[__name__], name, cls)
    return cls


_OP_DOCS = {"eq": "equal to", "ne": "not equal to (NULLs do not match)", "in_": "one of",
            "is_null": "true: is null; false: is not null", "lt": "less than",
            "lte": "less than or equal to", "gt": "greater than",
            "gte": "greater than or equal to",
            "like": "SQL LIKE pattern (% any text, _ one character), case-sensitive",
            "ilike": "as like, case-insensitive"}
_NAMES = {"in_": "in", "is_null": "isNull"}
StringFilter = _input("StringFilter", _cmp_fields(str, text=True, ordered=True),
                      "Comparisons of a text field (codes, names).", _NAMES, _OP_DOCS)
IntFilter = _input("IntFilter", _cmp_fields(int, text=False, ordered=True),
                   "Comparisons of a whole-number field.", _NAMES, _OP_DOCS)
BooleanFilter = _input("BooleanFilter", _cmp_fields(bool, text=False, ordered=False),
                       "Comparisons of a true/false field.", _NAMES, _OP_DOCS)
DateTimeFilter = _input("DateTimeFilter", _cmp_fields(datetime, text=False, ordered=True),
                        "Comparisons of an instant.", _NAMES, _OP_DOCS)
_BY_KIND = {"str": StringFilter, "int": IntFilter, "bool": BooleanFilter,
            "datetime": DateTimeFilter}


@strawberry.input(description="Within a distance on the ground of a GeoJSON geometry.")
class DWithin:
    geometry: GeoJSON
    metres: float


@strawberry.input(description="Spatial tests of a geometry field; GeoJSON in the list's `crs`.")
class GeometryFilter:
    intersects: GeoJSON | None = strawberry.field(
        default=None, description="shares at least a point with this geometry")
    within: GeoJSON | None = strawberry.field(
        default=None, description="lies inside this geometry (e.g. a polygon drawn on the map)")
    dwithin: DWithin | None = strawberry.field(
        default=None, description="within `metres` of this geometry, on the ground")


@strawberry.input(description="A point in the list's `crs`.")
class LonLat:
    lon: float
    lat: float


@strawberry.enum(description="Sort direction.")
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


def _camel_to_upper(name: str) -> str:
    return "".join("_" + c if c.isupper() else c.upper() for c in name).lstrip("_").upper()


TYPE_NAMES = {"sector": "Sector", "township": "Township", "community": "Community",
              "station": "Station", "zone": "Zone", "grid": "Grid",
              "address_point": "AddressPoint", "incident": "Incident", "person": "Person"}
FILTERS: dict[str, Any] = {}
ORDERS: dict[str, Any] = {}
_FIELD_ENUMS: dict[str, Any] = {}

for _table, _tname in TYPE_NAMES.items():
    _fields = flt.FIELDS[_table]
    _geoms = flt.GEOMETRY_FIELDS.get(_table, {})
    _ann: dict[str, Any] = {}
    _names: dict[str, str] = {}
    for _f, (_col, _kind) in _fields.items():
        _ann[_f] = _BY_KIND[_kind] | None
    for _g in _geoms:
        _ann[_g] = GeometryFilter | None
    _ann.update({"and_": f"list[{_tname}Filter] | None", "or_": f"list[{_tname}Filter] | None",
                 "not_": f"{_tname}Filter | None"})
    _names.update({"and_": "and", "or_": "or", "not_": "not"})
    FILTERS[_table] = _input(
        f"{_tname}Filter", _ann,
        f"Which {_tname} items to list: every field given must hold (AND); `and`, `or` and "
        "`not` combine whole filters.", _names,
        {"and_": "all of these hold", "or_": "at least one of these holds",
         "not_": "this does not hold (a NULL comparison counts as not holding)"})
    _enum = Enum(f"{_tname}Field", {_camel_to_upper(f): f for f in _fields})  # type: ignore[misc]
    _FIELD_ENUMS[_table] = strawberry.enum(_enum, description=f"{_tname} fields to sort on.")
    setattr(sys.modules[__name__], f"{_tname}Field", _FIELD_ENUMS[_table])
    _oann: dict[str, Any] = {"field": _FIELD_ENUMS[_table] | None}
    _odocs = {"field": "sort on this field"}
    if _geoms:
        _oann["distance_to"] = LonLat | None
        _odocs["distance_to"] = "sort on the distance (metres on the ground) to this point"
    ns: dict[str, Any] = {"__annotations__": {**_oann, "direction": SortDirection},
                          "__module__": __name__,
                          "direction": strawberry.field(default=SortDirection.ASC)}
    for _k in _oann:
        ns[_k] = strawberry.field(default=None, description=_odocs[_k])
    ORDERS[_table] = strawberry.input(
        type(f"{_tname}OrderBy", (), ns),
        description=f"One sort term of {_tname} lists: a field or (geometry types) a distance; "
                    "ties are broken by the next term, then by code.")
    setattr(sys.modules[__name__], f"{_tname}OrderBy", ORDERS[_table])


# -- inputs -> models/filters ------------------------------------------------------------
def to_filter(table: str, value: Any, crs: Crs) -> flt.Filter | None:
    """The typed filter of ``table`` as plain data in WGS 84 (None when empty)."""
    if value is None:
        return None
    count = [0]
    return _convert(table, value, crs, 0, count)


def _convert(table: str, value: Any, crs: Crs, depth: int, count: list[int]) -> flt.Filter:
    if depth > MAX_NESTING:
        raise InvalidInput(f"filter: at most {MAX_NESTING} levels of and/or/not")
    parts: list[flt.Filter] = []
    for name in flt.FIELDS[table]:
        ops = getattr(value, name, None)
        if ops is None:
            continue
        for py, op in (("eq", "eq"), ("ne", "ne"), ("lt", "lt"), ("lte", "lte"), ("gt", "gt"),
                       ("gte", "gte"), ("in_", "in"), ("like", "like"), ("ilike", "ilike"),
                       ("is_null", "isNull")):
            v = getattr(ops, py, None)
            if v is not None:
                parts.append(flt.Cmp(name, op, v))
    for name in flt.GEOMETRY_FIELDS.get(table, {}):
        g = getattr(value, name, None)
        if g is None:
            continue
        if g.intersects is not None:
            parts.append(flt.Spatial(name, "intersects",
                                     geojson_to_wgs84(g.intersects, crs, f"{name}.intersects")))
        if g.within is not None:
            parts.append(flt.Spatial(name, "within",
                                     geojson_to_wgs84(g.within, crs, f"{name}.within")))
        if g.dwithin is not None:
            parts.append(flt.Spatial(name, "dwithin",
                                     geojson_to_wgs84(g.dwithin.geometry, crs, f"{name}.dwithin"),
                                     g.dwithin.metres))
    for sub in value.and_ or []:
        parts.append(_convert(table, sub, crs, depth + 1, count))
    if value.or_ is not None:
        parts.append(flt.AnyOf(tuple(_convert(table, sub, crs, depth + 1, count)
                                     for sub in value.or_)))
    if value.not_ is not None:
        parts.append(flt.Not(_convert(table, value.not_, crs, depth + 1, count)))
    count[0] += len(parts)
    if count[0] > MAX_TERMS:
        raise InvalidInput(f"filter: at most {MAX_TERMS} terms")
    return parts[0] if len(parts) == 1 else flt.All(tuple(parts))


def to_order(table: str, terms: list[Any] | None, crs: Crs) -> tuple[flt.SortKey, ...]:
    if not terms:
        return ()
    if len(terms) > 10:
        raise InvalidInput("orderBy: at most 10 terms")
    out = []
    for t in terms:
        if (t.field is None) == (getattr(t, "distance_to", None) is None):
            raise InvalidInput("orderBy: each term gives either field or distanceTo")
        desc = t.direction == SortDirection.DESC
        if t.field is not None:
            out.append(flt.SortKey(field=t.field.value, descending=desc))
        else:
            lon, lat = point_to_wgs84(t.distance_to.lon, t.distance_to.lat, crs)
            out.append(flt.SortKey(distance_to=(lon, lat), descending=desc))
    return tuple(out)


def __getattr__(name: str) -> Any:
    """The generated input types (``GridFilter``, ``GridOrderBy`` …) are module attributes set
    above; this tells type checkers that such names exist."""
    raise AttributeError(name)
