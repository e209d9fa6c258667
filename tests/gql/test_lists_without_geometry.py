"""The lists of units that have no geometry (sectors, persons) take their filters: every
argument answers, and the answer is the rows PostGIS selects for the same filter."""

from __future__ import annotations

from sqlalchemy import text


def _data(out: dict) -> dict:
    assert "errors" not in out, out["errors"]
    return out["data"]


def test_sectors_with_arguments(gql, engine) -> None:
    with engine.connect() as conn:
        codes = [r[0] for r in conn.execute(text("SELECT code FROM sector ORDER BY code"))]
    assert codes
    d = _data(gql("query($c: String!) { sectors(code: $c) { totalCount edges { node { code } } } }",
                  {"c": codes[0]}))
    assert [e["node"]["code"] for e in d["sectors"]["edges"]] == [codes[0]]
    assert d["sectors"]["totalCount"] == 1
    d = _data(gql("query($c: [String!]) { sectors(codes: $c, first: 1) { totalCount "
                  "pageInfo { hasNextPage } edges { node { code } } } }", {"c": codes}))
    assert d["sectors"]["totalCount"] == len(codes)
    assert d["sectors"]["pageInfo"]["hasNextPage"] is (len(codes) > 1)
    d = _data(gql("query($s: String!) { sectors(search: $s) { edges { node { code } } } }",
                  {"s": codes[0][:4]}))
    assert codes[0] in [e["node"]["code"] for e in d["sectors"]["edges"]]


def test_persons_with_arguments(gql, engine) -> None:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, name FROM person ORDER BY code LIMIT 3")).all()
        n = conn.execute(text("SELECT count(*) FROM person")).scalar_one()
    assert rows
    d = _data(gql("query($c: String!) { persons(code: $c) { edges { node { code name } } } }",
                  {"c": rows[0].code}))
    assert d["persons"]["edges"] == [{"node": {"code": rows[0].code, "name": rows[0].name}}]
    d = _data(gql("query($c: [String!]) { persons(codes: $c) { totalCount } }",
                  {"c": [r.code for r in rows]}))
    assert d["persons"]["totalCount"] == len(rows)
    d = _data(gql("query($s: String!) { persons(search: $s, first: 1000) { edges { node { code } } } }",
                  {"s": rows[0].name}))
    assert rows[0].code in [e["node"]["code"] for e in d["persons"]["edges"]]
    d = _data(gql("{ persons(first: 2) { totalCount edges { node { code } } } }"))
    assert d["persons"]["totalCount"] == n


def test_bad_input_is_a_typed_error(gql) -> None:
    out = gql("{ persons(first: 0, code: \"x\") { totalCount } }")
    assert out["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
