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
    # the regular path's own cases (falls back): a datetime, an order, WKT, GCJ-02, stats
    """{ incidents(first: 3) { nodes { code occurredAt grid { code } } } }""",
    """{ zones(orderBy: [{field: NAME}], first: 4) { edges { cursor node { code } } } }""",
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
