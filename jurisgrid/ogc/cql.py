"""CQL2 ``filter`` (OGC API - Features - Part 3) → one SQL condition over a collection's rows ``x``.

Parsing is pygeofilter's: cql2-text and cql2-json both become its AST. The translation to SQL is
this module's, on purpose, instead of pygeofilter's SQLAlchemy backend, because a public
endpoint needs what that backend leaves out:

* every property is checked against the collection's fields (tiles/features.py): an unknown
  name is a 400 naming it and the queryables, not SQL over a column that does not exist;
* every comparison is type-checked (a number against a text field, a geometry in ``=``, …) so
  bad input is a 400 with the reason, never a PostgreSQL error (500);
* values are always bound parameters; column names come only from the field list;
* geometry literals are checked with Shapely (finite, inside lon/lat range, valid polygons)
  and converted from ``filter-crs`` (CRS84, or EPSG:4326 / EPSG:4490 with latitude first);
* temporal predicates on instants (``occurred_at``) have the meaning CQL2 gives them against
  an instant or an interval (open ends ``..`` included).

Supported: =, <>, <, <=, >, >=, LIKE (``%``, ``_``, ``\\`` escape), BETWEEN, IN, IS NULL,
AND/OR/NOT, INCLUDE/EXCLUDE, + - * / (a division by zero is NULL, so false), CASEI()/LOWER(),
S_INTERSECTS, S_DISJOINT, S_CONTAINS, S_WITHIN, S_TOUCHES, S_CROSSES, S_OVERLAPS, S_EQUALS,
RELATE, BBOX(property, …) and, on timestamps, T_BEFORE, T_AFTER, T_EQUALS, T_INTERSECTS,
T_DURING, T_CONTAINS (interval first). Property-property comparisons work for same-typed fields.
pygeofilter reads ``T_INTERSECTS`` as ``T_OVERLAPS``; for an instant property both mean
"inside the interval, ends included" here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any

import shapely
from pygeofilter import ast, values

from jurisgrid.errors import InvalidGeometry, InvalidInput
from jurisgrid.tiles.features import Collection

# cql-text / cql-json: the draft names (OGC API - Features Part 3 before 1.0). GDAL's OAPIF
# driver up to at least 3.12 sends only filter-lang=cql-text, and only to servers whose API
# definition lists it; its filters are CQL2 text (comparisons, LIKE, AND/OR/NOT, IS NULL)
LANGS = ("cql2-text", "cql2-json", "cql-text", "cql-json")
_LANG_ALIASES = {"cql-text": "cql2-text", "cql-json": "cql2-json"}
MAX_FILTER_CHARS = 20_000
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
# filter-crs values: (latitude first?) — EPSG:4326 and CGCS2000 (EPSG:4490, the same axes and,
# at map accuracy, the same coordinates as WGS 84; geo/crs.py) list latitude first
FILTER_CRS = {
    CRS84: False,
    "http://www.opengis.net/def/crs/EPSG/0/4326": True,
    "http://www.opengis.net/def/crs/EPSG/0/4490": True,
}
GEOMETRY = "geometry"  # the queryable name of the features' geometry
_NUMERIC = ("integer", "number")
_COMPARE = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
            ast.GreaterThan: ">", ast.GreaterEqual: ">="}
_SPATIAL = {
    ast.GeometryIntersects: "ST_Intersects({a}, {b})",
    ast.GeometryDisjoint: "NOT ST_Intersects({a}, {b})",
    ast.GeometryContains: "ST_Contains({a}, {b})",
    ast.GeometryWithin: "ST_Within({a}, {b})",
    ast.GeometryTouches: "ST_Touches({a}, {b})",
    ast.GeometryCrosses: "ST_Crosses({a}, {b})",
    ast.GeometryOverlaps: "ST_Overlaps({a}, {b})",
    ast.GeometryEquals: "ST_Equals({a}, {b})",
}
_RELATE_PATTERN = re.compile(r"[012TF*]{9}")


@dataclass(frozen=True)
class SqlFilter:
    """A condition over ``x`` and its bound parameters (names ``<prefix><n>``)."""

    sql: str
    params: dict[str, Any]


@dataclass(frozen=True)
class _Expr:
    sql: str
    type: str                 # string | integer | number | boolean | timestamp | geometry | interval
    literal: bool = False
    value: Any = None         # a literal's Python value (intervals: (start, end), None = open)


@dataclass
class _Translator:
    collection: Collection
    lat_first: bool
    prefix: str
    params: dict[str, Any] = field(default_factory=dict)

    # -- values ---------------------------------------------------------------------------
    def bind(self, value: Any) -> str:
        name = f"{self.prefix}{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def expr(self, node: Any) -> _Expr:
        if isinstance(node, ast.Attribute):
            return self.attribute(node.name)
        if isinstance(node, bool):
            return _Expr(self.bind(node), "boolean", True, node)
        if isinstance(node, int):
            return _Expr(self.bind(node), "integer", True, node)
        if isinstance(node, float):
            if not math.isfinite(node):
                raise InvalidInput(f"filter: {node} is not a finite number")
            return _Expr(self.bind(node), "number", True, node)
        if isinstance(node, str):
            return _Expr(self.bind(node), "string", True, node)
        if isinstance(node, datetime | date):
            t = _instant(node)
            return _Expr(self.bind(t), "timestamp", True, t)
        if isinstance(node, values.Interval):
            ends = (_end(node.start), _end(node.end))
            if ends[0] is not None and ends[1] is not None and ends[0] > ends[1]:
                raise InvalidInput(f"filter: the interval {ends[0].isoformat()}/{ends[1].isoformat()} "
                                   "starts after it ends")
            return _Expr("", "interval", True, ends)
        if isinstance(node, values.Geometry | values.Envelope):
            return _Expr(self.geometry_literal(node.__geo_interface__), "geometry", True)
        if isinstance(node, dict):  # a cql2-json casei() pattern pygeofilter leaves unparsed
            from pygeofilter.parsers.cql2_json.parser import walk_cql_json

            return self.expr(walk_cql_json(node))
        if isinstance(node, ast.Arithmetic):
            return self.arithmetic(node)
        if isinstance(node, ast.Function):
            return self.function(node)
        if node is None:
            raise InvalidInput("filter: null is not a value; use isNull (IS NULL)")
        raise InvalidInput(f"filter: unsupported expression {_show(node)}")

    def attribute(self, name: str) -> _Expr:
        if name == GEOMETRY:
            return _Expr("x.geom", "geometry")
        f = self.collection.field(name)
        if f is None:
            raise InvalidInput(
                f"filter: unknown property {name!r} in collection {self.collection.id!r}; "
                f"queryables: {', '.join([GEOMETRY] + [q.name for q in self.collection.fields])}",
                details=[{"property": name, "collection": self.collection.id}])
        return _Expr(f"x.{f.name}", f.type)

    def arithmetic(self, node: ast.Arithmetic) -> _Expr:
        a, b = self.expr(node.lhs), self.expr(node.rhs)
        for side in (a, b):
            if side.type not in _NUMERIC:
                raise InvalidInput(f"filter: arithmetic {node.op.value!r} needs numbers, got "
                                   f"{_describe(side)}")
        if node.op.value == "/":  # a division by zero is NULL (so no match), not an error
            return _Expr(f"(CAST({a.sql} AS double precision) / NULLIF({b.sql}, 0))", "number")
        kind = "integer" if a.type == b.type == "integer" else "number"
        return _Expr(f"({a.sql} {node.op.value} {b.sql})", kind)

    def function(self, node: ast.Function) -> _Expr:
        name = node.name.lower()
        if name in ("lower", "casei") and len(node.arguments) == 1:
            arg = self.expr(node.arguments[0])
            if arg.type != "string":
                raise InvalidInput(f"filter: CASEI() needs text, got {_describe(arg)}")
            return _Expr(f"lower({arg.sql})", "string", arg.literal)
        raise InvalidInput(f"filter: unsupported function {node.name}() with "
                           f"{len(node.arguments)} argument(s); supported: CASEI(text)")

    def geometry_literal(self, geo: dict[str, Any]) -> str:
        crs = ((geo.get("crs") or {}).get("properties") or {}).get("name")
        if crs not in (None, "urn:ogc:def:crs:EPSG::4326"):
            raise InvalidInput(f"filter: geometry literals are in the filter-crs; SRID {crs} is not "
                               "supported")
        try:
            g = shapely.geometry.shape({k: v for k, v in geo.items() if k != "crs"})
        except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.ShapelyError) as exc:
            raise InvalidGeometry(f"filter: not a geometry: {exc}") from None
        if self.lat_first:
            g = shapely.transform(g, lambda c: c[:, ::-1])
        xy = shapely.get_coordinates(g)
        if len(xy) == 0:
            raise InvalidGeometry("filter: an empty geometry")
        if not bool(((abs(xy[:, 0]) <= 180) & (abs(xy[:, 1]) <= 90)).all()):
            raise InvalidGeometry("filter: a geometry outside longitude -180..180 / latitude -90..90 "
                                  "(with EPSG:4326 as filter-crs, latitude comes first)")
        if not shapely.is_valid(g):
            raise InvalidGeometry(f"filter: invalid geometry ({shapely.is_valid_reason(g)})")
        return f"ST_GeomFromText({self.bind(g.wkt)}, 4326)"

    # -- conditions -----------------------------------------------------------------------
    def cond(self, node: Any) -> str:
        if isinstance(node, ast.And | ast.Or):
            return f"({self.cond(node.lhs)} {node.op.value} {self.cond(node.rhs)})"
        if isinstance(node, ast.Not):
            return f"(NOT {self.cond(node.sub_node)})"
        if isinstance(node, ast.Include):
            return "FALSE" if node.not_ else "TRUE"
        if isinstance(node, ast.Comparison):
            return self.comparison(node)
        if isinstance(node, ast.Like):
            return self.like(node)
        if isinstance(node, ast.Between):
            return self.between(node)
        if isinstance(node, ast.In):
            return self.in_(node)
        if isinstance(node, ast.IsNull):
            return f"({self.expr(node.lhs).sql} IS {'NOT ' if node.not_ else ''}NULL)"
        if isinstance(node, ast.SpatialComparisonPredicate):
            a, b = self.geometries(node.lhs, node.rhs, node.op.value)
            return "(" + _SPATIAL[type(node)].format(a=a, b=b) + ")"
        if isinstance(node, ast.Relate):
            if not isinstance(node.pattern, str) or not _RELATE_PATTERN.fullmatch(node.pattern):
                raise InvalidInput(f"filter: RELATE pattern {node.pattern!r} is not 9 of 0 1 2 T F *")
            a, b = self.geometries(node.lhs, node.rhs, "RELATE")
            return f"ST_Relate({a}, {b}, {self.bind(node.pattern)})"
        if isinstance(node, ast.BBox):
            if node.crs not in (None, "EPSG:4326", CRS84):
                raise InvalidInput(f"filter: BBOX in {node.crs} is not supported")
            box = values.Envelope(node.minx, node.maxx, node.miny, node.maxy)
            a, b = self.geometries(node.lhs, box, "BBOX")
            return f"ST_Intersects({a}, {b})"
        if isinstance(node, ast.TemporalPredicate):
            return self.temporal(node)
        if isinstance(node, ast.Attribute | bool):
            e = self.expr(node)
            if e.type != "boolean":
                raise InvalidInput(f"filter: {_describe(e)} is not a condition")
            return e.sql
        raise InvalidInput(f"filter: unsupported predicate {_show(node)}")

    def comparable(self, a: _Expr, b: _Expr, what: str) -> tuple[_Expr, _Expr]:
        """The two sides, with an ISO 8601 text literal against a timestamp read as an instant."""
        if a.type == "timestamp" and b.type == "string" and b.literal:
            b = self.expr(_parse_instant(b.value))
        elif b.type == "timestamp" and a.type == "string" and a.literal:
            a = self.expr(_parse_instant(a.value))
        ok = (a.type == b.type or (a.type in _NUMERIC and b.type in _NUMERIC))
        if not ok or a.type in ("geometry", "interval"):
            raise InvalidInput(f"filter: cannot {what} {_describe(a)} with {_describe(b)}")
        return a, b

    def comparison(self, node: ast.Comparison) -> str:
        a, b = self.comparable(self.expr(node.lhs), self.expr(node.rhs), "compare")
        return f"({a.sql} {_COMPARE[type(node)]} {b.sql})"

    def like(self, node: ast.Like) -> str:
        a, p = self.expr(node.lhs), self.expr(node.pattern)
        if a.type != "string" or p.type != "string":
            raise InvalidInput(f"filter: LIKE needs text on both sides, got {_describe(a)} LIKE "
                               f"{_describe(p)}")
        op = ("NOT " if node.not_ else "") + ("ILIKE" if node.nocase else "LIKE")
        return f"({a.sql} {op} {p.sql})"

    def between(self, node: ast.Between) -> str:
        a = self.expr(node.lhs)
        a, lo = self.comparable(a, self.expr(node.low), "compare")
        a, hi = self.comparable(a, self.expr(node.high), "compare")
        if a.type not in (*_NUMERIC, "timestamp", "string"):
            raise InvalidInput(f"filter: BETWEEN needs numbers, text or instants, got {_describe(a)}")
        return f"({a.sql} {'NOT ' if node.not_ else ''}BETWEEN {lo.sql} AND {hi.sql})"

    def in_(self, node: ast.In) -> str:
        a = self.expr(node.lhs)
        if not node.sub_nodes:
            raise InvalidInput("filter: IN needs at least one value")
        items = [self.comparable(a, self.expr(v), "compare")[1].sql for v in node.sub_nodes]
        return f"({a.sql} {'NOT ' if node.not_ else ''}IN ({', '.join(items)}))"

    def geometries(self, lhs: Any, rhs: Any, op: str) -> tuple[str, str]:
        a, b = self.expr(lhs), self.expr(rhs)
        for side in (a, b):
            if side.type != "geometry":
                raise InvalidInput(f"filter: {op} needs geometries (the property {GEOMETRY!r} or a "
                                   f"literal), got {_describe(side)}")
        return a.sql, b.sql

    def temporal(self, node: ast.TemporalPredicate) -> str:
        op = node.op.name
        a, b = self.expr(node.lhs), self.expr(node.rhs)
        if a.literal and not b.literal:  # the property first: swap to the converse relation
            a, b = b, a
            op = {"BEFORE": "AFTER", "AFTER": "BEFORE", "TCONTAINS": "DURING",
                  "DURING": "TCONTAINS"}.get(op, op)
        shown = {"TEQUALS": "T_EQUALS", "TOVERLAPS": "T_INTERSECTS", "TCONTAINS": "T_CONTAINS"}.get(
            op, f"T_{op}")
        if a.type != "timestamp":
            raise InvalidInput(f"filter: {shown} needs an instant property, got {_describe(a)}")
        t = a.sql
        if b.type == "timestamp":
            rel = {"BEFORE": "<", "AFTER": ">", "TEQUALS": "=", "TOVERLAPS": "=", "DISJOINT": "<>"}
            if op in rel:
                return f"({t} {rel[op]} {b.sql})"
        elif b.type == "interval":
            lo, hi = (None if v is None else self.bind(v) for v in b.value)
            parts = {
                "BEFORE": [f"{t} < {lo}"] if lo else ["FALSE"],
                "AFTER": [f"{t} > {hi}"] if hi else ["FALSE"],
                "TOVERLAPS": [c for c in (lo and f"{t} >= {lo}", hi and f"{t} <= {hi}") if c],
                "DURING": [c for c in (lo and f"{t} > {lo}", hi and f"{t} < {hi}") if c],
            }
            if op == "DISJOINT":
                inside = " AND ".join(parts["TOVERLAPS"]) or "TRUE"
                return f"(NOT ({inside}))"
            if op in parts:
                return "(" + (" AND ".join(parts[op]) or "TRUE") + ")"
            if op == "TEQUALS":
                return "FALSE"  # an instant never equals an interval
        else:
            raise InvalidInput(f"filter: {shown} compares instants or intervals, got {_describe(b)}")
        raise InvalidInput(f"filter: {shown} is not supported between the instant property "
                           f"{a.sql.removeprefix('x.')!r} and {_describe(b)}; supported: T_BEFORE, "
                           "T_AFTER, T_EQUALS, T_INTERSECTS, T_DURING, T_DISJOINT")


def _instant(v: date | datetime) -> datetime:
    """A date is its first instant in UTC; a time without offset is UTC."""
    t = v if isinstance(v, datetime) else datetime.combine(v, time(), UTC)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _end(v: Any) -> datetime | None:
    if v is None:
        return None
    if isinstance(v, date | datetime):
        return _instant(v)
    raise InvalidInput(f"filter: interval ends must be dates or timestamps, got {v!r}")


def _parse_instant(raw: str) -> datetime:
    try:
        return _instant(datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except ValueError:
        raise InvalidInput(f"filter: {raw!r} is not an ISO 8601 instant (use TIMESTAMP('…'))") from None


def _describe(e: _Expr) -> str:
    if e.literal:
        return f"a {e.type} literal"
    return f"{e.sql.removeprefix('x.')} ({e.type})" if e.sql.startswith("x.") else f"an expression ({e.type})"


def _show(node: Any) -> str:
    return type(node).__name__ if isinstance(node, ast.Node) else repr(node)[:80]


def _normalise_json(node: Any) -> Any:
    """A cql2-json tree in the forms pygeofilter 0.4 reads: ``{"bbox": [minx, miny, maxx, maxy]}``
    as a GeoJSON polygon (pygeofilter reads the list in the order x1, x2, y1, y2), and CQL2 1.0's
    ``between`` with three arguments as the draft's ``[property, [low, high]]``, ``t_disjoint``
    as ``not t_intersects``."""
    if isinstance(node, list):
        return [_normalise_json(v) for v in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"bbox"} and isinstance(node["bbox"], list):
        b = node["bbox"]
        if len(b) == 6:
            b = [b[0], b[1], b[3], b[4]]
        if len(b) != 4 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in b):
            raise InvalidInput(f"filter: bbox {node['bbox']!r} needs 4 (or 6) numbers")
        x0, y0, x1, y1 = b
        return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}
    out = {k: _normalise_json(v) for k, v in node.items()}
    if out.get("op") == "t_disjoint":  # not in pygeofilter's table: the negation of t_intersects
        return {"op": "not", "args": [{"op": "t_intersects", "args": out.get("args")}]}
    if out.get("op") == "between" and isinstance(out.get("args"), list) and len(out["args"]) == 3:
        out["args"] = [out["args"][0], out["args"][1:]]
    return out


# Two fixes to pygeofilter 0.4's cql2-text grammar, made on its own grammar file (the rest is
# used as is, with its own transformer): NOT may negate a parenthesised condition, not only a
# single predicate (GDAL sends ``NOT ((a = 1) AND (b = 2))``), and a quote inside a text literal
# is doubled (``'O''Brien'``, CQL2's escape, which GDAL uses).
_GRAMMAR_FIXES = (
    ('''| "NOT"i "(" predicate ")"''', '''| "NOT"i "(" condition ")"'''),
    ('''SINGLE_QUOTED: "'" /.*?/ "'"''', """SINGLE_QUOTED: /'(?:[^']|'')*'/"""),
)


@cache
def _text_parser() -> Callable[[str], Any]:
    from lark import Lark
    from pygeofilter.parsers.cql2_text import parser as p

    grammar = Path(p.__file__).with_name("grammar.lark").read_text(encoding="utf-8")
    if not all(old in grammar for old, _ in _GRAMMAR_FIXES):  # a newer pygeofilter: use it as is
        return p.parse
    for old, new in _GRAMMAR_FIXES:
        grammar = grammar.replace(old, new)

    class Transformer(p.CQLTransformer):
        def SINGLE_QUOTED(self, token: Any) -> str:  # lark's callback for the terminal
            return str(token)[1:-1].replace("''", "'")

    lark = Lark(grammar, parser="lalr", maybe_placeholders=False, transformer=Transformer(),
                import_paths=[str(Path(p.__file__).parent.parent)])
    return lark.parse


def parse(raw: str, lang: str) -> Any:
    """The pygeofilter AST of a filter; InvalidInput for text that is not ``lang``."""
    if lang not in LANGS:
        raise InvalidInput(f"filter-lang {lang!r} is not supported; use one of {', '.join(LANGS)}")
    lang = _LANG_ALIASES.get(lang, lang)
    if len(raw) > MAX_FILTER_CHARS:
        raise InvalidInput(f"filter is {len(raw)} characters long; at most {MAX_FILTER_CHARS}")
    if not raw.strip():
        raise InvalidInput("filter is empty")
    from pygeofilter.parsers.cql2_json import parse as parse_json

    parser: Callable[[Any], Any] = parse_json if lang == "cql2-json" else _text_parser()
    if lang == "cql2-json":
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise InvalidInput(f"filter is not JSON: {exc}") from None
        source: Any = _normalise_json(doc)
    else:
        source = raw
    try:
        node = parser(source)
    except InvalidInput:
        raise
    except Exception as exc:  # lark's parse errors, and pygeofilter's on malformed JSON trees
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"filter is not valid {lang}: {first[:300]}") from None
    if not isinstance(node, ast.Node):
        raise InvalidInput(f"filter is not a condition: {_show(node)}")
    return node


def compile_filter(collection: Collection, raw: str, *, lang: str = "cql2-text",
                   crs: str | None = None, prefix: str = "c") -> SqlFilter:
    """The SQL condition of a CQL2 filter over ``collection``'s rows ``x``."""
    crs = crs or CRS84
    if crs not in FILTER_CRS:
        raise InvalidInput(f"filter-crs {crs!r} is not supported; use one of {', '.join(FILTER_CRS)}")
    t = _Translator(collection, FILTER_CRS[crs], prefix)
    return SqlFilter(t.cond(parse(raw, lang)), t.params)
