"""A list page built as JSON by PostgreSQL: one statement for a whole connection selection.

A map front-end asks for "the grids in this box, with their zone's code and their GeoJSON".
Completed field by field in Python that costs ~40 µs per nested field and ~65 µs per geometry
turned into GeoJSON; PostgreSQL builds the same JSON (``json_build_object``, ``json_agg``,
``ST_AsGeoJSON``) in a fraction of that, and the text goes to the client as it is
(gql/json_lists.py decides when a selection can be answered so and passes the text through).

The shape of the answer is plain data (:class:`Shape`): which keys, in which order, hold a
column, a constant, a geometry (column, simplification tolerance in degrees, decimals), a
to-one relation (another shape, read through the same :class:`Source`), the cursor, the page
flags or the total count. Rows are selected exactly as models/listing.py selects them (same
filters, order, keyset cursors), so both paths answer the same items.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Float,
    FromClause,
    Integer,
    Numeric,
    Text,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by

from jurisgrid.models import filters as flt
from jurisgrid.models import listing
from jurisgrid.models.listing import ListFilter, Window
from jurisgrid.models.source import Source

MAX_KEYS = 50           # json_build_object takes at most 100 arguments
GEOJSON_DIGITS = 15     # enough decimals for the shortest round-trip of lon/lat in degrees

NodeKind = Literal["col", "const", "geo", "rel"]


@dataclass(frozen=True)
class Geo:
    column: str
    simplify_deg: float
    precision: int | None


@dataclass(frozen=True)
class Rel:
    """A to-one relation: the ``table`` row whose id is the node's ``fk`` — or, with ``via``,
    the row of ``table`` whose id is ``via_table.fk`` of the ``via_table`` row the node's
    ``via`` column names (a grid's station: through its zone)."""

    table: str
    fk: str
    node: tuple[tuple[str, NodeKind, Any], ...]
    via: str | None = None
    via_table: str | None = None


NodeShape = tuple[tuple[str, NodeKind, Any], ...]
# connection items: ("edges", edge items), ("nodes", NodeShape), ("pageInfo", page items),
# ("totalCount", None), ("const", str); edge items: ("cursor"|"node"|"const", payload);
# page items: ("hasNextPage"|"hasPreviousPage"|"startCursor"|"endCursor"|"const", payload)


@dataclass(frozen=True)
class Shape:
    table: str
    items: tuple[tuple[str, str, Any], ...]


def _obj(pairs: list[tuple[str, Any]]) -> Any:
    args: list[Any] = []
    for key, value in pairs:
        args += [literal(key, Text), value]
    return func.json_build_object(*args)


def node_json(src: Source, table: str, tb: FromClause, shape: NodeShape) -> Any:
    """``json_build_object`` of one node of ``table`` (its row in ``tb``)."""
    pairs: list[tuple[str, Any]] = []
    for key, kind, p in shape:
        if kind == "col":
            pairs.append((key, tb.c[p]))
        elif kind == "const":
            pairs.append((key, literal(p, Text)))
        elif kind == "geo":
            col: Any = tb.c[p.column]
            if p.simplify_deg > 0:
                col = func.ST_SimplifyPreserveTopology(col, p.simplify_deg)
            digits = GEOJSON_DIGITS if p.precision is None else p.precision
            pairs.append((key, cast(func.ST_AsGeoJSON(col, digits), JSON)))
        else:
            pairs.append((key, _relation(src, tb, p)))
    return _obj(pairs)


def _relation(src: Source, tb: FromClause, rel: Rel) -> Any:
    ptb = src.rows(rel.table).alias()
    q = select(node_json(src, rel.table, ptb, rel.node))
    if rel.via is None:
        q = q.where(ptb.c.id == tb.c[rel.fk])
    else:
        assert rel.via_table is not None
        vtb = src.rows(rel.via_table).alias()
        q = q.select_from(vtb).where(vtb.c.id == tb.c[rel.via], ptb.c.id == vtb.c[rel.fk])
    return q.scalar_subquery()


def _b64url(raw: Any) -> Any:
    """URL-safe base64 of a text's UTF-8, as Python's ``base64.urlsafe_b64encode`` writes it
    (PostgreSQL's lines broken every 76 characters joined again)."""
    b64 = func.encode(func.convert_to(raw, literal("UTF8", Text)), literal("base64", Text))
    return func.translate(b64, literal("+/\n", Text), literal("-_", Text))


def _cursor(code: Any) -> Any:
    """The default order's cursor, as models/filters.encode_cursor writes it (URL-safe base64
    of ``code:<code>``)."""
    return _b64url(literal("code:", Text) + code)


# the JSON text of one sort value, as ``json.dumps`` writes the value psycopg2 reads
_NULL: Any = literal_column("'null'")


def _json_value(e: Any, kind: str) -> Any:
    if kind == "str":
        return func.coalesce(cast(func.to_json(cast(e, Text)), Text), _NULL)
    if kind == "int":
        return func.coalesce(cast(e, Text), _NULL)
    if kind == "bool":
        return case((e.is_(None), _NULL), (e, literal_column("'true'")),
                    else_=literal_column("'false'"))
    if kind == "float":
        # float8's text is its shortest round trip, as Python's repr, but without the ".0" of
        # a whole number, and with an exponent from 1e15 on where Python waits for 1e16 (the
        # same digits, written out through numeric); below 1e-4 both write an exponent
        t0 = cast(e, Text)
        t = case((t0.regexp_match("e\\+15$"), cast(cast(t0, Numeric), Text)), else_=t0)
        return case((e.is_(None), _NULL), (t.regexp_match("^-?[0-9]+$"), t + ".0"), else_=t)
    if kind == "datetime":
        # datetime.isoformat() of the value in the session's time zone: microseconds only
        # when not zero, the offset as +HH:MM
        us = func.to_char(e, literal(".US", Text))
        iso = (func.to_char(e, literal('YYYY-MM-DD"T"HH24:MI:SS', Text))
               + case((us == ".000000", literal("", Text)), else_=us)
               + func.to_char(e, literal("TZH:TZM", Text)))
        return func.coalesce(cast(func.to_json(iso), Text), _NULL)
    raise ValueError(kind)


def sort_kinds(table: str, keys: tuple[flt.SortKey, ...]) -> list[str]:
    """The JSON kind of each sort value :func:`jurisgrid.models.filters.sort_exprs` gives, in
    its order (the code appended last unless the ordering already ends with it)."""
    kinds = ["float" if k.distance_to is not None else flt.FIELDS[table][k.field or ""][1]
             for k in keys]
    if not keys or keys[-1].field != "code":
        kinds.append("str")
    return kinds


def keyed_cursor(values: list[tuple[Any, str]]) -> Any:
    """A keyed ordering's cursor (``key:`` and the JSON array of the row's sort values, as
    models/filters.encode_cursor writes it), built by PostgreSQL from (value, kind) pairs."""
    items = [_json_value(e, kind) for e, kind in values]
    return _b64url(literal("key:[", Text) + func.concat_ws(literal(",", Text), *items)
                   + literal("]", Text))


_BBOX_PARAMS = tuple(bindparam(f"jg_bbox_{i}", type_=Float) for i in range(4))
_MAX_TEMPLATES = 512
# structure of a page (everything but the bbox's numbers) -> (SQL text, its parameters)
_templates: dict[Hashable, tuple[str, dict[str, Any]]] = {}
_templates_lock = threading.Lock()


def page_json(conn: Connection, src: Source, table: str, f: ListFilter, w: Window,
              shape: Shape) -> str:
    """The connection ``shape`` of one page as JSON text, in one statement, in any order the
    lists take (models/filters.py: fields, distance); the cursors are the regular path's,
    character for character, so either path continues the other's pages.

    Building and compiling the statement costs more CPU than PostgreSQL spends answering a
    map's page, so the SQL text is kept per structure — the shape, the source, the window and
    every filter value but the box's four numbers, which are parameters: a map panning around
    reuses one text. A filter that cannot be a key (unhashable) is compiled each time. The
    partitions a box can touch are part of the structure (listing.pruned_read): a box in another
    county makes another text."""
    return listing.pruned_read(conn, src, table, f, lambda g: _page_json(conn, src, table, g, w, shape))


def _page_json(conn: Connection, src: Source, table: str, f: ListFilter, w: Window,
               shape: Shape) -> str:
    key = _template_key(src, table, f, w, shape)
    found = _templates.get(key) if key is not None else None
    if found is None:
        templ = replace(f, bbox=_BBOX_PARAMS) if f.bbox is not None else f  # type: ignore[arg-type]
        compiled = _statement(src, table, templ, w, shape).compile(
            dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        found = (str(compiled), dict(compiled.params))
        if key is not None:
            with _templates_lock:
                if len(_templates) >= _MAX_TEMPLATES:
                    _templates.clear()
                _templates[key] = found
    sql, params = found
    if f.bbox is not None:
        params = {**params, **{f"jg_bbox_{i}": float(v) for i, v in enumerate(f.bbox)}}
    return str(conn.exec_driver_sql(sql, params).scalar_one())


def _template_key(src: Source, table: str, f: ListFilter, w: Window, shape: Shape
                  ) -> Hashable | None:
    fields = tuple((k, _frozen(v)) for k, v in vars(f).items() if k != "bbox")
    key = (src.key, table, shape, w, f.bbox is not None, fields)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _frozen(v: Any) -> Any:
    if isinstance(v, dict):
        return tuple(sorted((k, _frozen(x)) for k, x in v.items()))
    if isinstance(v, list):
        return tuple(_frozen(x) for x in v)
    return v


def _statement(src: Source, table: str, f: ListFilter, w: Window, shape: Shape) -> Any:
    tb, conds, keyset, exprs = listing.page_parts(src, table, f, w)
    order = flt.order_by(exprs, w.backwards)
    nodes: dict[NodeShape, str] = {}
    for _k, p in _walk(shape):
        nodes.setdefault(p, f"node{len(nodes)}")
    cols: list[Any] = [func.row_number().over(order_by=order).label("rn")]
    cols += [node_json(src, table, tb, p).label(label) for p, label in nodes.items()]
    if flt.is_default(w.order):
        cols.append(_cursor(tb.c.code).label("cursor"))
        page = (select(*cols).where(*conds, *keyset).order_by(*order).limit(w.size + 1)
                .subquery("page"))
    else:
        # the sort values as columns of the page (the ORDER BY reuses them: a distance is
        # computed once), the cursor from them one level up
        keys = [e.label(f"_k{i}") for i, (e, _) in enumerate(exprs)]
        rows = (select(*cols, *keys).where(*conds, *keyset).order_by(*order)
                .limit(w.size + 1).subquery("rows"))
        kinds = sort_kinds(table, w.order)
        cursor = keyed_cursor([(rows.c[f"_k{i}"], kind) for i, kind in enumerate(kinds)])
        page = select(rows.c.rn, *(rows.c[label] for label in nodes.values()),
                      cursor.label("cursor")).subquery("page")
    within = page.c.rn <= w.size
    ordered = page.c.rn.desc() if w.backwards else page.c.rn
    total = select(func.count()).select_from(tb).where(*conds).scalar_subquery()
    n_rows = func.count()
    more = n_rows > w.size

    def agg(value: Any) -> Any:
        return func.coalesce(func.json_agg(aggregate_order_by(value, ordered)).filter(within),
                             literal_column("'[]'::json"))

    def cursor_at(first: bool) -> Any:
        arr = func.array_agg(aggregate_order_by(page.c.cursor, ordered if first else
                                                (page.c.rn if w.backwards else page.c.rn.desc())))
        return type_coerce(arr.filter(within), ARRAY(Text))[1]

    def item(kind: str, p: Any) -> Any:
        if kind == "const":
            return literal(p, Text)
        if kind == "totalCount":
            return type_coerce(total, Integer)
        if kind == "nodes":
            return agg(page.c[nodes[p]])
        if kind == "edges":
            return agg(_obj([(k, page.c.cursor if ek == "cursor" else page.c[nodes[ep]]
                              if ek == "node" else literal(ep, Text)) for k, ek, ep in p]))
        if kind == "pageInfo":
            flags = {"hasNextPage": false() if w.backwards else more,
                     "hasPreviousPage": more if w.backwards else false()}
            return _obj([(k, literal(pp, Text) if pk == "const"
                          else type_coerce(flags[pk], Boolean) if pk in flags
                          else cursor_at(pk == "startCursor")) for k, pk, pp in p])
        raise ValueError(kind)

    # HAVING makes it one aggregate row even when no item aggregates (``{ totalCount }``)
    return select(cast(_obj([(key, item(kind, p)) for key, kind, p in shape.items]), Text)
                  ).select_from(page).having(true())


def _walk(shape: Shape) -> list[tuple[str, Any]]:
    """("node", NodeShape) for each place the node's JSON is used."""
    out: list[tuple[str, Any]] = []
    for _key, kind, p in shape.items:
        if kind == "nodes":
            out.append(("node", p))
        elif kind == "edges":
            out += [("node", ep) for _k, ek, ep in p if ek == "node"]
    return out


def key_count_ok(shape: Shape) -> bool:
    def ok(node: NodeShape) -> bool:
        return len(node) <= MAX_KEYS and all(ok(p.node) for _k, kind, p in node if kind == "rel")

    return len(shape.items) <= MAX_KEYS and all(ok(p) for _k, p in _walk(shape))


__all__ = ["Geo", "NodeShape", "Rel", "Shape", "key_count_ok", "keyed_cursor", "page_json",
           "sort_kinds"]
