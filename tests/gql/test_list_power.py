"""Query power on the lists: every comparison operator, and/or/not, the spatial operators,
orderBy on fields and by distance, backward paging — each checked against an independent
computation in Python (pandas over the plain rows, Shapely for geometry, pyproj for metres);
bad input gets a typed error."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from sqlalchemy import text

LIST = "query($f: %sFilter, $o: [%sOrderBy!], $n: Int) { %s(filter: $f, orderBy: $o, first: $n) " \
       "{ totalCount edges { cursor node { code } } } }"


@pytest.fixture(scope="module")
def frames(engine) -> dict[str, pd.DataFrame]:
    """The plain rows (and geometry as Shapely) of the tables the tests filter."""
    out = {}
    with engine.connect() as conn:
        for table, cols in (("grid", "code, name"), ("zone", "code, name, kind, has_office"),
                            ("address_point", "code, address, population, households"),
                            ("incident", "code, category, occurred_at")):
            rows = conn.execute(text(f"SELECT {cols}, ST_AsBinary(geom) AS wkb FROM {table}"))
            df = pd.DataFrame([dict(r._mapping) for r in rows])
            df["geom"] = shapely.from_wkb(df.pop("wkb").map(bytes))
            out[table] = df
    return out


def _codes(gql, type_: str, field: str, f: Any = None, o: Any = None, n: int = 1000) -> list[str]:
    out = gql(LIST % (type_, type_, field), {"f": f, "o": o, "n": n})
    assert "errors" not in out, out["errors"]
    conn = out["data"][field]
    codes = [e["node"]["code"] for e in conn["edges"]]
    assert conn["totalCount"] >= len(codes)
    return codes


def _like(pattern: str, flags: int = 0) -> re.Pattern[str]:
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", flags | re.S)


def test_every_comparison_operator(gql, frames) -> None:
    ap = frames["address_point"]
    mid = int(ap.population.median())
    cases = {
        "eq": (mid, ap.population == mid), "ne": (mid, ap.population != mid),
        "lt": (mid, ap.population < mid), "lte": (mid, ap.population <= mid),
        "gt": (mid, ap.population > mid), "gte": (mid, ap.population >= mid),
        "in": ([mid, mid + 1], ap.population.isin([mid, mid + 1])),
    }
    for op, (value, mask) in cases.items():
        want = sorted(ap.code[mask])[:1000]
        got = _codes(gql, "AddressPoint", "addressPoints", {"population": {op: value}})
        assert got == want, op
    g = frames["grid"]
    prefix = g.code.min()[:9]
    for op, pat, flags in (("like", prefix + "%", 0), ("ilike", "%" + g.name.iloc[0][-2:] + "%",
                                                          re.I)):
        want = sorted(c for c, nm in zip(g.code, g.name, strict=True)
                      if _like(pat, flags).match(c if op == "like" else nm))
        field = "code" if op == "like" else "name"
        assert _codes(gql, "Grid", "grids", {field: {op: pat}}) == want, op
    z = frames["zone"]
    assert _codes(gql, "Zone", "zones", {"hasOffice": {"eq": True}}) == sorted(z.code[z.has_office])
    assert _codes(gql, "Zone", "zones", {"name": {"isNull": False}}) == sorted(z.code)
    assert _codes(gql, "Zone", "zones", {"name": {"isNull": True}}) == []


def test_and_or_not(gql, frames) -> None:
    z = frames["zone"]
    kinds = sorted(z.kind.unique())
    mid = sorted(z.code)[len(z) // 2]
    f = {"or": [{"kind": {"eq": kinds[0]}}, {"hasOffice": {"eq": True}}],
         "not": {"code": {"lt": mid}}}
    mask = ((z.kind == kinds[0]) | z.has_office) & ~(z.code < mid)
    assert _codes(gql, "Zone", "zones", f) == sorted(z.code[mask])
    f2 = {"and": [{"code": {"gte": z.code.min()}}, {"kind": {"ne": kinds[0]}}]}
    assert _codes(gql, "Zone", "zones", f2) == sorted(z.code[z.kind != kinds[0]])


def test_incidents_by_instant_and_category(gql, frames) -> None:
    i = frames["incident"]
    t = i.occurred_at.sort_values().iloc[len(i) // 2]
    cat = i.category.iloc[0]
    f = {"occurredAt": {"gte": t.isoformat()}, "category": {"in": [cat]}}
    want = sorted(i.code[(i.occurred_at >= t) & (i.category == cat)])[:1000]
    assert _codes(gql, "Incident", "incidents", f) == want


def test_spatial_operators(gql, frames) -> None:
    g = frames["grid"]
    union = shapely.union_all(g.geom)
    c = union.centroid
    poly = shapely.Point(c.x, c.y).buffer(0.03)
    gj = shapely.geometry.mapping(poly)
    gj = {"type": gj["type"], "coordinates": [[list(p) for p in ring] for ring in gj["coordinates"]]}
    want_i = sorted(g.code[shapely.intersects(g.geom.values, poly)])
    want_w = sorted(g.code[shapely.within(g.geom.values, poly)])
    assert _codes(gql, "Grid", "grids", {"geometry": {"intersects": gj}}) == want_i
    assert _codes(gql, "Grid", "grids", {"geometry": {"within": gj}}) == want_w
    assert want_w and set(want_w) < set(want_i)
    # dwithin 800 m of a point, on the ground (azimuthal equidistant at the point)
    aeqd = pyproj.Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={c.y} +lon_0={c.x} +datum=WGS84 +units=m", always_xy=True)
    local = [shapely.transform(x, lambda xy: np.column_stack(aeqd.transform(xy[:, 0], xy[:, 1])))
             for x in g.geom]
    d = shapely.distance(np.asarray(local, dtype=object), shapely.Point(0, 0))
    got = _codes(gql, "Grid", "grids", {"geometry": {"dwithin": {
        "geometry": {"type": "Point", "coordinates": [c.x, c.y]}, "metres": 800}}})
    sure_in = set(g.code[d < 799]); sure_out = set(g.code[d > 801])  # noqa: E702
    assert sure_in <= set(got) and not (set(got) & sure_out)
    ap = frames["address_point"]
    want_pop = int(ap.population[shapely.within(ap.geom.values, poly)].sum())
    out = gql("query($p: GeoJSON!) { addressPoints(filter: {location: {within: $p}}) "
              "{ aggregates { count sum { population } } } }", {"p": gj})
    if "errors" not in out:  # aggregates are tested in test_list_aggregates.py
        assert out["data"]["addressPoints"]["aggregates"]["sum"]["population"] == want_pop


def test_order_by_fields_and_distance(gql, frames) -> None:
    ap = frames["address_point"]
    got = _codes(gql, "AddressPoint", "addressPoints", None,
                 [{"field": "POPULATION", "direction": "DESC"}, {"field": "HOUSEHOLDS"}], 50)
    want = ap.sort_values(["population", "households", "code"],
                          ascending=[False, True, True]).code[:50].tolist()
    assert got == want
    z = frames["zone"]
    got = _codes(gql, "Zone", "zones", None, [{"field": "NAME"}])
    assert got == z.sort_values(["name", "code"]).code.tolist()
    g = frames["grid"]
    c = shapely.union_all(g.geom).centroid
    aeqd = pyproj.Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={c.y} +lon_0={c.x} +datum=WGS84 +units=m", always_xy=True)
    d = np.array([shapely.distance(shapely.transform(
        x, lambda xy: np.column_stack(aeqd.transform(xy[:, 0], xy[:, 1]))), shapely.Point(0, 0))
        for x in g.geom])
    got = _codes(gql, "Grid", "grids", None, [{"distanceTo": {"lon": c.x, "lat": c.y}}], 20)
    # ties at 0 m (grids containing the point) are broken by code; beyond, the geodesic and
    # the projected metres agree to far better than the gaps between neighbouring grids
    order = sorted(range(len(g)), key=lambda k: (round(d[k], 1), g.code.iloc[k]))
    want = [g.code.iloc[k] for k in order[:20]]
    assert got[:5] == want[:5]
    assert sorted(got) == sorted(want) or len(set(got) ^ set(want)) <= 2


def _page(gql, args: str, order: Any = None) -> dict:
    out = gql("query($o: [ZoneOrderBy!]) { zones(" + args + ", orderBy: $o) { pageInfo { "
              "hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { code } "
              "} } }", {"o": order})
    assert "errors" not in out, out["errors"]
    return out["data"]["zones"]


@pytest.mark.parametrize("order", [None, [{"field": "KIND"}, {"field": "NAME", "direction": "DESC"}]])
def test_paging_both_ways_is_stable(gql, frames, order) -> None:
    z = frames["zone"]
    if order is None:
        want = sorted(z.code)
    else:
        want = z.sort_values(["kind", "name", "code"], ascending=[True, False, True]).code.tolist()
    seen, after = [], None
    while True:
        p = _page(gql, "first: 3" + (f', after: "{after}"' if after else ""), order)
        seen += [e["node"]["code"] for e in p["edges"]]
        assert p["pageInfo"]["hasPreviousPage"] is False
        if not p["pageInfo"]["hasNextPage"]:
            break
        after = p["pageInfo"]["endCursor"]
    assert seen == want
    back, before = [], None
    while True:
        p = _page(gql, "last: 4" + (f', before: "{before}"' if before else ""), order)
        back = [e["node"]["code"] for e in p["edges"]] + back
        assert p["pageInfo"]["hasNextPage"] is False
        if not p["pageInfo"]["hasPreviousPage"]:
            break
        before = p["pageInfo"]["startCursor"]
    assert back == want


@pytest.mark.parametrize("args, variables, needle", [
    ("filter: {code: {like: 1}}", {}, "String"),
    ('filter: {nope: {eq: "x"}}', {}, "nope"),
    ('orderBy: [{field: CODE, distanceTo: {lon: 106.9, lat: 30.8}}]', {}, "either field"),
    ('first: 2, last: 2', {}, "not both"),
    ('before: "Y29kZTox"', {}, "before needs last"),
    ('last: 2, before: "bm9wZQ=="', {}, "malformed cursor"),
    ('filter: {geometry: {dwithin: {geometry: {type: "Point", coordinates: [106.9, 30.8]}, '
     'metres: -1}}}', {}, "metres"),
    ('filter: {geometry: {within: {type: "Polygon", coordinates: [[[0, 0], [1, 1]]]}}}', {},
     "within"),
])
def test_bad_input_is_a_typed_error(gql, args, variables, needle) -> None:
    out = gql("{ zones(" + args + ") { edges { node { code } } } }", variables)
    assert out.get("data") is None or out["data"].get("zones") is None
    err = out["errors"][0]
    assert needle in err["message"], err
    assert err["extensions"]["code"] in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED")


def test_a_keyed_cursor_does_not_fit_another_order(gql) -> None:
    p = _page(gql, "first: 1", [{"field": "NAME"}])
    cursor = p["pageInfo"]["endCursor"]
    out = gql(f'{{ zones(first: 1, after: "{cursor}") {{ edges {{ node {{ code }} }} }} }}')
    assert out["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


DEEP = ("query($n: Int) { zones(%s) { nodes { grids { zone { grids { zone { grids { code } } } } } }"
        " } }")


@pytest.mark.parametrize("size", ["last: 1000", "last: $n"])
def test_last_is_costed_like_first(gql, size) -> None:
    """A page asked for backwards is as large as one asked forwards: the cost limit counts it."""
    out = gql(DEEP.replace("%s", size), {"n": 1000})
    assert out["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY", out
    assert gql(DEEP.replace("%s", "first: 1000"), {"n": 1000})["errors"][0]["extensions"][
        "code"] == "QUERY_TOO_COSTLY"
