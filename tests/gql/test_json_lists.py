"""Lists built as JSON by PostgreSQL (gql/json_lists.py): the same answer as the regular path,
field for field, in one statement however deep the to-one nesting; what it does not cover
falls back, and errors stay typed and at their path."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from jurisgrid.config import ApiSettings, Settings
from jurisgrid.gql.context import Context
from jurisgrid.gql.schema import build_schema

NESTED = """query($b: [Float!], $n: Int, $after: String) {
  grids(bbox: $b, first: $n, after: $after) {
    __typename totalCount
    pageInfo { hasNextPage endCursor hasPreviousPage startCursor }
    edges { cursor node { __typename code name
      zone { code kind hasOffice station { code name phone sector { name county { code } } } }
      station { code }
      community { code township { name kind } }
      geometry(precision: 6) outline: geometry(simplify: 20) } }
    nodes { code name zone { code } station { code } community { code township { name kind } }
            geometry(precision: 6) outline: geometry(simplify: 20) }
  } }"""


@pytest.fixture(scope="module")
def regular(engine):
    """The regular path: the schema executed without an HTTP request (no passthrough)."""
    schema = build_schema()

    def run(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        ctx = Context(engine=engine, settings=Settings())
        result = asyncio.run(schema.execute(query, variable_values=variables or {},
                                            context_value=ctx))
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        return orjson.loads(orjson.dumps(out))

    return run


@pytest.fixture(scope="module")
def bbox(engine) -> list[float]:
    from sqlalchemy import text

    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM grid) s")).one()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return [cx - 0.03, cy - 0.03, cx + 0.03, cy + 0.03]


def test_nested_list_in_one_statement_same_answer(gql, regular, count_sql, bbox) -> None:
    variables = {"b": bbox, "n": 10}
    before = count_sql.count
    fast = gql(NESTED, variables)
    statements = count_sql.statements[before:]
    assert "errors" not in fast, fast
    if ApiSettings().fast_execution:   # the JSON lists ride on the compiled execution
        assert len(statements) == 1, statements    # the page, its nesting and its count
    slow = regular(NESTED, variables)
    assert fast == slow
    page = fast["data"]["grids"]
    assert len(page["edges"]) == 10 and page["pageInfo"]["hasNextPage"]
    # the next page from the passthrough's cursor, on both paths
    variables["after"] = page["pageInfo"]["endCursor"]
    assert gql(NESTED, variables) == regular(NESTED, variables)


@pytest.mark.parametrize("query", [
    # fragments, aliases, backward paging, a filter, asOf, empty answers
    """fragment G on Grid { code zone { code } }
       { a: grids(first: 5) { edges { node { ...G } } } b: grids(last: 3) { nodes { ...G }
         pageInfo { hasPreviousPage hasNextPage startCursor endCursor } } }""",
    """{ zones(filter: {hasOffice: {eq: true}}, first: 7) { totalCount nodes { code
         station { code } geometry(simplifyZoom: 12, precision: 5) } } }""",
    """{ addressPoints(first: 20) { nodes { code address population location
         grid { code zone { code } } } } }""",
    """{ stations { edges { node { code address phone seat geometry(simplify: 50) } } } }""",
    """{ grids(asOf: "2020-01-01T00:00:00Z", first: 3) { totalCount nodes { code zone { code } } } }""",
    """{ grids(code: "no such grid") { totalCount pageInfo { hasNextPage endCursor }
         edges { cursor } nodes { code } } }""",
    # the regular path's own cases (falls back): a datetime, WKT, GCJ-02, stats
    """{ incidents(first: 3) { nodes { code occurredAt grid { code } } } }""",
    """{ grids(first: 2) { nodes { code geometry(format: WKT) g: geometry(crs: GCJ02) } } }""",
])
def test_same_answer_as_the_regular_path(gql, regular, query) -> None:
    fast = gql(query)
    assert fast == regular(query)


def test_bad_geometry_option_is_reported_at_its_field(gql, regular) -> None:
    q = "{ grids(first: 2) { nodes { code geometry(precision: 99) } } }"
    fast = gql(q)
    assert fast == regular(q)
    assert fast["errors"][0]["path"][:3] == ["grids", "nodes", 0]
    assert fast["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_geojson_numbers_equal_the_regular_paths(gql, regular) -> None:
    """Full precision: PostGIS' digits are the shortest round trip of each coordinate."""
    q = "{ grids(first: 50) { nodes { code geometry } } }"
    fast, slow = gql(q), regular(q)
    assert fast == slow


@pytest.mark.parametrize("query", [
    '{ persons(codes: ["x"]) { totalCount } }',
    "{ zones { totalCount __typename } }",
    "{ sectors(first: 1) { pageInfo { hasNextPage } } }",
])
def test_selections_without_items(gql, regular, query) -> None:
    fast = gql(query)
    assert "errors" not in fast and fast == regular(query)


def test_boxes_share_one_statement_text(gql, regular, bbox) -> None:
    """A map panning: the statement's text is kept, each box's numbers are its parameters."""
    from jurisgrid.models import json_lists

    q = "query($b: [Float!]) { grids(bbox: $b) { totalCount nodes { code zone { code } geometry } } }"
    before = len(json_lists._templates)
    for dx in (0.0, 0.01, -0.02, 0.05):
        b = [bbox[0] + dx, bbox[1] - dx, bbox[2] + dx, bbox[3] - dx]
        fast = gql(q, {"b": b})
        assert "errors" not in fast and fast == regular(q, {"b": b})
    assert len(json_lists._templates) <= before + 1


# orderBy on the JSON path: every kind of sort value (text, boolean, integer, datetime, the
# distance), both directions, with the cursors and flags that page on
ORDERED = [
    """{ zones(orderBy: [{field: NAME}], first: 4) { edges { cursor node { code } } } }""",
    """{ grids(orderBy: [{field: NAME, direction: DESC}], first: 6) { totalCount
         edges { cursor node { code name zone { code } } }
         pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }""",
    """{ zones(orderBy: [{field: HAS_OFFICE, direction: DESC}, {field: KIND}], first: 5) {
         edges { cursor node { code hasOffice kind } } pageInfo { endCursor } } }""",
    """{ addressPoints(orderBy: [{field: POPULATION, direction: DESC}], first: 7) {
         edges { cursor node { code population grid { code } } } } }""",
    """{ incidents(orderBy: [{field: OCCURRED_AT, direction: DESC}], first: 5) {
         edges { cursor node { code category } } pageInfo { endCursor } } }""",
    """{ communities(orderBy: [{field: KIND}, {field: CODE, direction: DESC}], last: 4) {
         edges { cursor node { code } } pageInfo { hasPreviousPage startCursor endCursor } } }""",
    """{ grids(asOf: "2020-01-01T00:00:00Z", orderBy: [{field: NAME, direction: DESC}],
         first: 3) { totalCount edges { cursor node { code zone { code } } } } }""",
]


def _distance_query(lon: float, lat: float, direction: str = "ASC", last: bool = False) -> str:
    size = "last: 5" if last else "first: 5"
    return (f"{{ grids(orderBy: [{{distanceTo: {{lon: {lon!r}, lat: {lat!r}}}, "
            f"direction: {direction}}}], {size}) {{ edges {{ cursor node {{ code "
            f"zone {{ code }} geometry(simplify: 50) }} }} pageInfo {{ hasNextPage "
            f"hasPreviousPage startCursor endCursor }} }} }}")


@pytest.mark.parametrize("query", ORDERED)
def test_ordered_list_same_answer_in_one_statement(gql, regular, count_sql, query) -> None:
    before = count_sql.count
    fast = gql(query)
    statements = count_sql.statements[before:]
    assert "errors" not in fast, fast
    if ApiSettings().fast_execution:
        assert len(statements) == 1, statements
    assert fast == regular(query)


@pytest.mark.parametrize("direction,last", [("ASC", False), ("DESC", False), ("ASC", True)])
def test_distance_order_same_answer_in_one_statement(gql, regular, count_sql, bbox,
                                                      direction, last) -> None:
    q = _distance_query((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, direction, last)
    before = count_sql.count
    fast = gql(q)
    statements = count_sql.statements[before:]
    assert "errors" not in fast, fast
    if ApiSettings().fast_execution:
        assert len(statements) == 1, statements
    assert fast == regular(q)


def _pages(run, query: str, key: str) -> list[str]:
    """Every code of the list, page by page on ``run``'s path through its own cursors."""
    codes: list[str] = []
    after = None
    for _ in range(100):
        out = run(query, {"after": after})
        assert "errors" not in out, out
        conn = out["data"][key]
        codes += [e["node"]["code"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return codes
        after = conn["pageInfo"]["endCursor"]
    raise AssertionError("no last page")


def test_ordered_pages_walk_alike_and_cursors_cross_paths(gql, regular, engine) -> None:
    """All zones ordered by kind (many ties) then name descending, 7 at a time: the same
    sequence on both paths, equal to the order computed in SQL; a cursor of one path continues
    on the other."""
    from sqlalchemy import text

    q = """query($after: String) { zones(orderBy: [{field: KIND}, {field: NAME, direction: DESC}],
             first: 7, after: $after) { edges { cursor node { code } }
             pageInfo { hasNextPage endCursor } } }"""
    fast, slow = _pages(gql, q, "zones"), _pages(regular, q, "zones")
    with engine.connect() as conn:
        oracle = [r[0] for r in conn.execute(text(
            "SELECT code FROM zone ORDER BY kind ASC NULLS LAST, name DESC NULLS FIRST, code"))]
    assert fast == slow == oracle
    first = gql(q, {"after": None})["data"]["zones"]["pageInfo"]["endCursor"]
    assert gql(q, {"after": first}) == regular(q, {"after": first})
    # a distance cursor too (a float in the cursor: whole metres keep their ".0")
    pq = """query($after: String) { grids(orderBy: [{distanceTo: {lon: 106.9, lat: 30.8}}],
              first: 4, after: $after) { edges { cursor node { code } }
              pageInfo { hasNextPage endCursor } } }"""
    a = gql(pq, {"after": None})
    b = regular(pq, {"after": None})
    assert a == b
    end = a["data"]["grids"]["pageInfo"]["endCursor"]
    assert gql(pq, {"after": end}) == regular(pq, {"after": end})


def test_cursor_text_is_pythons(engine) -> None:
    """A sort value's JSON text in a cursor is json.dumps' for whole, tiny, huge, fractional
    and random metres (and null, and -0), and for text with quotes, newlines and CJK."""
    import base64
    import json

    import numpy as np
    from sqlalchemy import Float, Text, cast, literal, select

    from jurisgrid.models.json_lists import keyed_cursor

    rng = np.random.default_rng(0)
    values: list[float | None] = [0.0, 3.0, -0.0, 1e-05, 1.5e-07, 0.0001, 123456.789, 1e15,
                                  1234567890123456.8, 1e16, 2.5e16, 0.1 + 0.2, None]
    values += [float(x) for x in rng.uniform(0, 50_000, 40)]
    values += [float(x) for x in 10 ** rng.uniform(-8, 20, 40)]
    with engine.connect() as conn:
        for v in values:
            # the value as text, so that -0.0 stays negative on its way in
            value = cast(literal(None if v is None else repr(v), Text), Float)
            got = conn.execute(select(keyed_cursor([
                (value, "float"), (literal('a"b\\c\n\t中', Text), "str")]))).scalar_one()
            want = base64.urlsafe_b64encode(
                ("key:" + json.dumps([v, 'a"b\\c\n\t中'], ensure_ascii=False,
                                     separators=(",", ":"))).encode()).decode()
            assert got == want, (v, base64.urlsafe_b64decode(got))
