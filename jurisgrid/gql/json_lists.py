"""Lists that cost what the database costs: a connection's whole selection answered by one
statement that returns JSON (models/json_lists.py), passed through to the response unparsed.

When a list field's selection holds only what PostgreSQL can build — the connection's
``edges { cursor node }``, ``nodes``, ``pageInfo``, ``totalCount``; on the nodes, plain scalar
fields, geometry as GeoJSON in WGS 84/CGCS2000 with ``simplify``/``simplifyZoom``/``precision``,
to-one relations (``zone``, ``station``, ``community``, …) to any depth, ``__typename``, in any
``orderBy`` (fields or distance, with the regular path's keyset cursors) — the resolver returns
the JSON text as an ``orjson.Fragment``; gql/execution.py hands such a value
to the response as it is and orjson writes it verbatim. Anything else (a field with a resolver
of its own such as ``stats`` or a to-many relation, a directive, another format or crs, invalid
geometry options — whose errors the regular path
reports at their own path) is answered by the regular path, as are requests not made over HTTP.

Unchanged for clients: the same schema, the same items in the same order, the same values
(GeoJSON numbers in their shortest round-trip form, as the regular path writes them);
validation, limits (cost, depth, page size), the caller's access and ``asOf`` are applied before
and around the statement as for every list.
"""

from __future__ import annotations

from typing import Any

import orjson
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    InlineFragmentNode,
    SelectionSetNode,
    get_argument_values,
)
from starlette.requests import Request
from strawberry.types import Info

from jurisgrid.geo.geojson import simplify_tolerance_deg
from jurisgrid.gql.geometry import MAX_PRECISION
from jurisgrid.models import filters as flt
from jurisgrid.models.json_lists import Geo, NodeShape, Rel, Shape, key_count_ok
from jurisgrid.models.listing import ListFilter, Window

TABLE_OF = {"Sector": "sector", "Township": "township", "Community": "community",
            "Station": "station", "Zone": "zone", "Grid": "grid", "AddressPoint": "address_point",
            "Incident": "incident", "Person": "person", "County": "county"}
# GraphQL to-one relation -> (table, fk column) or (table, fk on the via table, via column, via)
RELATIONS: dict[str, dict[str, tuple[str, str] | tuple[str, str, str, str]]] = {
    "grid": {"zone": ("zone", "zone_id"), "community": ("community", "community_id"),
             "station": ("station", "station_id", "zone_id", "zone")},
    "zone": {"station": ("station", "station_id")},
    "station": {"sector": ("sector", "sector_id")},
    "community": {"township": ("township", "township_id")},
    "township": {"county": ("county", "county_id")},
    "sector": {"county": ("county", "county_id")},
    "address_point": {"grid": ("grid", "grid_id")},
    "incident": {"grid": ("grid", "grid_id")},
}
# plain columns by GraphQL name (datetimes are left to the regular path: their text differs)
SCALARS: dict[str, dict[str, str]] = {
    t: {name: col for name, (col, kind) in fields.items() if kind != "datetime"}
    for t, fields in flt.FIELDS.items()}
SCALARS["county"] = {"code": "code", "name": "name"}


class _NotHere(Exception):
    """The selection needs the regular path."""


def applies(info: Info) -> bool:
    """Only for HTTP requests: their response is written by orjson (gql/router.py)."""
    ctx = info.context
    return (isinstance(getattr(ctx, "request", None), Request)
            and getattr(ctx.settings.api, "fast_execution", False))


def shape_of(info: Info, table: str, w: Window) -> Shape | None:
    """The connection's selection as a :class:`Shape`, or None when the regular path must
    answer it."""
    raw = info._raw_info
    try:
        conn_type = _object(raw.return_type)
        sel = _collect(conn_type, [n.selection_set for n in raw.field_nodes], raw)
        items: list[tuple[str, str, Any]] = []
        for key, (name, nodes) in sel.items():
            if name == "__typename":
                items.append((key, "const", conn_type.name))
            elif name == "totalCount":
                items.append((key, "totalCount", None))
            elif name == "nodes":
                items.append((key, "nodes", _node(table, conn_type.fields[name].type, nodes, raw)))
            elif name == "edges":
                items.append((key, "edges", _edge(table, conn_type.fields[name].type, nodes, raw)))
            elif name == "pageInfo":
                items.append((key, "pageInfo", _page_info(conn_type.fields[name].type, nodes, raw)))
            else:
                return None
    except _NotHere:
        return None
    shape = Shape(table=table, items=tuple(items))
    if not key_count_ok(shape):
        return None
    return shape


def fragment(text: str) -> orjson.Fragment:
    return orjson.Fragment(text)


# -- walking the selection -----------------------------------------------------------------
def _object(t: Any) -> GraphQLObjectType:
    while not isinstance(t, GraphQLObjectType):
        t = getattr(t, "of_type", None)
        if t is None:
            raise _NotHere
    return t


def _collect(t: GraphQLObjectType, sets: list[SelectionSetNode | None], raw: Any
             ) -> dict[str, tuple[str, list[FieldNode]]]:
    """Response key -> (field name, its nodes), in first-appearance order, fragments inlined;
    a directive anywhere sends the selection to the regular path."""
    out: dict[str, tuple[str, list[FieldNode]]] = {}

    def walk(ss: SelectionSetNode | None) -> None:
        if ss is None:
            return
        for s in ss.selections:
            if s.directives:
                raise _NotHere
            if isinstance(s, FieldNode):
                key = s.alias.value if s.alias else s.name.value
                name, nodes = out.setdefault(key, (s.name.value, []))
                if name != s.name.value:
                    raise _NotHere
                nodes.append(s)
            elif isinstance(s, InlineFragmentNode):
                if s.type_condition is not None and s.type_condition.name.value != t.name:
                    raise _NotHere
                walk(s.selection_set)
            elif isinstance(s, FragmentSpreadNode):
                frag = raw.fragments.get(s.name.value)
                if frag is None or frag.directives or frag.type_condition.name.value != t.name:
                    raise _NotHere
                walk(frag.selection_set)
            else:
                raise _NotHere

    for ss in sets:
        walk(ss)
    return out


def _same_args(nodes: list[FieldNode]) -> None:
    if any(n.arguments for n in nodes[1:]) or any(n.arguments for n in nodes[:1]):
        raise _NotHere


def _edge(table: str, t: Any, nodes: list[FieldNode], raw: Any) -> tuple[Any, ...]:
    _same_args(nodes)
    et = _object(t)
    out: list[tuple[str, str, Any]] = []
    for key, (name, sub) in _collect(et, [n.selection_set for n in nodes], raw).items():
        if name == "__typename":
            out.append((key, "const", et.name))
        elif name == "cursor":
            out.append((key, "cursor", None))
        elif name == "node":
            out.append((key, "node", _node(table, et.fields[name].type, sub, raw)))
        else:
            raise _NotHere
    return tuple(out)


def _page_info(t: Any, nodes: list[FieldNode], raw: Any) -> tuple[Any, ...]:
    _same_args(nodes)
    pt = _object(t)
    out: list[tuple[str, str, Any]] = []
    for key, (name, _sub) in _collect(pt, [n.selection_set for n in nodes], raw).items():
        if name == "__typename":
            out.append((key, "const", pt.name))
        elif name in ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor"):
            out.append((key, name, None))
        else:
            raise _NotHere
    return tuple(out)


def _node(table: str, t: Any, nodes: list[FieldNode], raw: Any) -> NodeShape:
    _same_args(nodes)
    nt = _object(t)
    if TABLE_OF.get(nt.name) != table:
        raise _NotHere
    out: list[tuple[str, Any, Any]] = []
    for key, (name, sub) in _collect(nt, [n.selection_set for n in nodes], raw).items():
        if name == "__typename":
            out.append((key, "const", nt.name))
        elif name in SCALARS.get(table, {}):
            _same_args(sub)
            out.append((key, "col", SCALARS[table][name]))
        elif name in flt.GEOMETRY_FIELDS.get(table, {}):
            out.append((key, "geo", _geometry(nt, name, table, sub, raw)))
        elif name in RELATIONS.get(table, {}):
            rel = RELATIONS[table][name]
            target = rel[0]
            node = _node(target, nt.fields[name].type, sub, raw)
            if len(rel) == 2:
                out.append((key, "rel", Rel(target, rel[1], node)))
            else:
                out.append((key, "rel", Rel(target, rel[1], node, via=rel[2], via_table=rel[3])))
        else:
            raise _NotHere
    return tuple(out)


def _geometry(nt: GraphQLObjectType, name: str, table: str, nodes: list[FieldNode],
              raw: Any) -> Geo:
    """A geometry field's options, when PostGIS writes them as the regular path would."""
    field = nt.fields[name]
    args = [get_argument_values(field, n, raw.variable_values) for n in nodes]
    if any(a != args[0] for a in args[1:]):
        raise _NotHere
    a = args[0]
    fmt, crs = a.get("format"), a.get("crs")
    if getattr(fmt, "value", fmt) != "GEOJSON" or getattr(crs, "value", crs) not in (
            "WGS84", "CGCS2000"):
        raise _NotHere
    simplify, zoom, precision = a.get("simplify"), a.get("simplifyZoom"), a.get("precision")
    # invalid options: the regular path reports them at the field's own path
    if simplify is not None and simplify < 0:
        raise _NotHere
    if zoom is not None and not 0 <= zoom <= 24:
        raise _NotHere
    if precision is not None and not 0 <= precision <= MAX_PRECISION:
        raise _NotHere
    column = flt.GEOMETRY_FIELDS[table][name]
    return Geo(column, simplify_tolerance_deg(metres=simplify, zoom=zoom), precision)


__all__ = ["ListFilter", "applies", "fragment", "shape_of"]
