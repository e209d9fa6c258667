"""``counties``, ``county(code)``, the ``county`` filter of every list, per-county time zones and
tokens scoped to a county (issue 11) — both halves: what is allowed works, what is not is refused
and writes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import shapely
from sqlalchemy import Engine, text

from jurisgrid.auth.tokens import issue_token
from jurisgrid.errors import InvalidInput, NotFound
from jurisgrid.io.transfer import export_layer
from tests.counties.conftest import COUNTIES

LISTS = {  # GraphQL list → the demo's units of a county
    "sectors": lambda d: d.sectors, "townships": lambda d: d.townships,
    "communities": lambda d: d.communities, "stations": lambda d: d.stations,
    "zones": lambda d: d.zones, "grids": lambda d: d.grids, "persons": lambda d: d.persons,
}


def _total(pref_gql, field: str, county: str | None = None, token: str | None = None) -> dict:
    arg = f'(county: "{county}")' if county else ""
    return pref_gql(f"{{ {field}{arg} {{ totalCount }} }}", token=token)


def test_counties_and_county_by_code(pref_gql, pref_demos: list[Any]) -> None:
    out = pref_gql("{ counties { totalCount edges { node { code name timeZone } } } }")["data"]
    assert out["counties"]["totalCount"] == 2
    assert [e["node"]["code"] for e in out["counties"]["edges"]] == COUNTIES
    one = pref_gql('{ county(code: "511703") { code name timeZone townships { code } } }')
    d = pref_demos[1]
    assert one["data"]["county"]["name"] == "达川区"
    assert one["data"]["county"]["timeZone"] == "Asia/Shanghai"
    assert [t["code"] for t in one["data"]["county"]["townships"]] == [t.code for t in d.townships]
    assert pref_gql('{ county(code: "999999") { code } }')["data"]["county"] is None
    assert pref_gql("{ county { code } }")["data"]["county"]["code"] == COUNTIES[0]
    page = pref_gql("{ counties(first: 1) { edges { cursor node { code } } "
                    "pageInfo { hasNextPage endCursor } } }")["data"]["counties"]
    assert [e["node"]["code"] for e in page["edges"]] == COUNTIES[:1]
    assert page["pageInfo"]["hasNextPage"]
    rest = pref_gql("query($a: String) { counties(first: 5, after: $a) { edges { node { code } } "
                    "pageInfo { hasNextPage } } }", {"a": page["pageInfo"]["endCursor"]})
    assert [e["node"]["code"] for e in rest["data"]["counties"]["edges"]] == COUNTIES[1:]
    assert not rest["data"]["counties"]["pageInfo"]["hasNextPage"]
    searched = pref_gql('{ counties(search: "达川") { edges { node { code } } } }')
    assert [e["node"]["code"] for e in searched["data"]["counties"]["edges"]] == ["511703"]


@pytest.mark.parametrize("field", [*LISTS, "addressPoints", "incidents"])
def test_every_list_filters_by_county(pref_gql, pref_demos: list[Any], field: str) -> None:
    totals = []
    for d in pref_demos:
        n = _total(pref_gql, field, d.code)["data"][field]["totalCount"]
        if field in LISTS:
            assert n == len(LISTS[field](d))
        elif field == "addressPoints":
            assert n == len(d.addresses.code)
        else:
            assert n == len(d.incidents.code)
        totals.append(n)
    assert _total(pref_gql, field)["data"][field]["totalCount"] == sum(totals)
    assert _total(pref_gql, field, "999999")["data"][field]["totalCount"] == 0


def test_county_filter_applies_as_of_an_instant(pref_gql, pref_demos: list[Any]) -> None:
    q = """{ grids(county: "511702", asOf: "2099-01-01T00:00:00Z", first: 3) { totalCount
             edges { node { code } } } }"""
    out = pref_gql(q)["data"]["grids"]
    assert out["totalCount"] == len(pref_demos[0].grids)
    assert all(e["node"]["code"].startswith("511702") for e in out["edges"])


def test_county_scoped_token_reads_only_its_county(pref_gql, pref_demos: list[Any], token) -> None:
    t = token("viewer", county="511702")
    me = pref_gql("{ me { role countyCode stationCode } }", token=t.secret)["data"]["me"]
    assert me == {"role": "viewer", "countyCode": "511702", "stationCode": None}
    a, b = pref_demos
    assert _total(pref_gql, "grids", token=t.secret)["data"]["grids"]["totalCount"] == len(a.grids)
    assert _total(pref_gql, "counties", token=t.secret)["data"]["counties"]["totalCount"] == 1
    assert pref_gql("{ county { code } }", token=t.secret)["data"]["county"]["code"] == "511702"
    q = "query($c: String!) { grid(code: $c) { code } station(code: $c) { code } }"
    assert pref_gql(q, {"c": a.grids[0].code}, t.secret)["data"]["grid"] == {"code": a.grids[0].code}
    assert pref_gql(q, {"c": b.grids[0].code}, t.secret)["data"]["grid"] is None
    assert pref_gql(q, {"c": b.stations[0].code}, t.secret)["data"]["station"] is None
    refused = _total(pref_gql, "grids", "511703", token=t.secret)
    assert refused["data"] is None or refused["data"]["grids"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    where = """query($lon: Float!, $lat: Float!) { responsibleFor(lon: $lon, lat: $lat) {
      grid { code } } }"""
    seat = a.stations[0].seat
    mine = pref_gql(where, {"lon": seat.x, "lat": seat.y}, t.secret)["data"]["responsibleFor"]
    assert mine["grid"]["code"].startswith("511702")
    seat = b.stations[0].seat
    other = pref_gql(where, {"lon": seat.x, "lat": seat.y}, t.secret)
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # a deployment-wide token sees both
    w = token("viewer")
    assert _total(pref_gql, "grids", token=w.secret)["data"]["grids"]["totalCount"] == \
        len(a.grids) + len(b.grids)


EDIT = """mutation($g: [String!]!, $z: String!) { reassignGrids(grids: $g, toZone: $z,
  reason: "test", dryRun: true) { __typename ... on ForbiddenError { message } } }"""


def _neighbours(pref_demos: list[Any], same_county: bool) -> tuple[str, str]:
    """A grid and the zone of a grid next to it (in another zone), in the same county or across
    the county border."""
    grids = [g for d in pref_demos for g in d.grids]
    tree = shapely.STRtree([g.geom for g in grids])
    for g in grids:
        for i in tree.query(g.geom, predicate="touches"):
            o = grids[int(i)]
            across = o.code[:6] != g.code[:6]
            if o.zone_code != g.zone_code and across != same_county and \
                    shapely.intersection(g.geom, o.geom).length > 0:
                return g.code, o.zone_code
    raise AssertionError("no such pair")


def test_county_scoped_editor_edits_only_its_county(pref_gql, pref_demos: list[Any], token,
                                                    pref_engine: Engine) -> None:
    with pref_engine.connect() as conn:
        revisions = conn.execute(text("SELECT count(*) FROM revision")).scalar_one()
    grid, zone = _neighbours(pref_demos, same_county=True)
    mine = token("editor", county=grid[:6])
    other = token("editor", county=next(c for c in COUNTIES if c != grid[:6]))
    ok = pref_gql(EDIT, {"g": [grid], "z": zone}, mine.secret)["data"]["reassignGrids"]
    assert ok["__typename"] == "EditSuccess"
    no = pref_gql(EDIT, {"g": [grid], "z": zone}, other.secret)["data"]["reassignGrids"]
    assert no["__typename"] == "ForbiddenError" and "county" in no["message"]
    # across the border: refused for either county's editor, allowed deployment-wide
    g2, z2 = _neighbours(pref_demos, same_county=False)
    for t in (mine, other):
        out = pref_gql(EDIT, {"g": [g2], "z": z2}, t.secret)["data"]["reassignGrids"]
        assert out["__typename"] == "ForbiddenError"
    wide = token("editor")
    assert pref_gql(EDIT, {"g": [g2], "z": z2}, wide.secret)["data"]["reassignGrids"][
        "__typename"] != "ForbiddenError"
    with pref_engine.connect() as conn:  # dry runs and refusals wrote nothing
        assert conn.execute(text("SELECT count(*) FROM revision")).scalar_one() == revisions


def test_bad_scopes_are_refused_and_write_nothing(pref_engine: Engine) -> None:
    with pref_engine.begin() as conn:
        before = conn.execute(text("SELECT count(*) FROM api_token")).scalar_one()
        with pytest.raises(NotFound, match="no county"):
            issue_token(conn, role="viewer", county_code="999999")
        station = conn.execute(text("SELECT code FROM station LIMIT 1")).scalar_one()
        with pytest.raises(InvalidInput, match="not both"):
            issue_token(conn, role="editor", county_code="511702", station_code=station)
        assert conn.execute(text("SELECT count(*) FROM api_token")).scalar_one() == before


def test_time_zone_per_county_in_exports(pref_engine: Engine, tmp_path: Path) -> None:
    with pref_engine.begin() as conn:
        conn.execute(text("UPDATE county SET time_zone = 'America/Los_Angeles' WHERE code = '511703'"))
    try:
        n = export_layer(pref_engine, "incidents", tmp_path / "i.csv")
        rows = (tmp_path / "i.csv").read_text(encoding="utf-8").splitlines()
        assert len(rows) == n + 1
        header = rows[0].split(",")
        col = header.index("occurred")
        code_col = header.index("code")
        offsets = {r.split(",")[code_col][:8]: r.split(",")[col][-6:] for r in rows[1:]}
        assert offsets["JQ511702"] == "+08:00"
        assert offsets["JQ511703"] in ("-08:00", "-07:00")
    finally:
        with pref_engine.begin() as conn:
            conn.execute(text("UPDATE county SET time_zone = 'Asia/Shanghai' WHERE code = '511703'"))
