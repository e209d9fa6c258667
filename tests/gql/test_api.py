"""The GraphQL read API: relations both ways, no N+1, lists and filters, geometry options."""

from __future__ import annotations

import json

import pytest
import shapely
from sqlalchemy import text

from jurisgrid.geo.crs import wgs84_to_gcj02

# 渠县 county seat; the acceptance point of the foundation issue
SEAT = (106.973, 30.8366)


def _data(out: dict) -> dict:
    assert "errors" not in out, out["errors"]
    return out["data"]


def test_county_and_hierarchy(gql) -> None:  # type: ignore[no-untyped-def]
    d = _data(gql("""{ county { code name repairs sectors { code stations { code } }
                       townships { code communities { code } } } }"""))["county"]
    assert d["code"] == "511725" and d["name"] == "渠县"
    assert any("self-intersection" in r.lower() for r in d["repairs"])
    assert len(d["sectors"]) == 7
    assert sum(len(s["stations"]) for s in d["sectors"]) == 21
    assert len(d["townships"]) == 37
    assert sum(len(t["communities"]) for t in d["townships"]) == 415


def test_seat_point_answer_and_gcj02(gql) -> None:  # type: ignore[no-untyped-def]
    q = """query($lon: Float!, $lat: Float!, $crs: Crs!) {
      responsibleFor(lon: $lon, lat: $lat, crs: $crs) {
        onBoundary distanceToBoundaryM
        grid { code zone { code station { code } } }
        zone { code } station { code name kind } community { code } township { code }
        sector { code } officers { role person { code name } } nearest { distanceM } } }"""
    wgs = _data(gql(q, {"lon": SEAT[0], "lat": SEAT[1], "crs": "WGS84"}))["responsibleFor"]
    assert wgs["grid"]["code"].startswith("511725")
    assert wgs["grid"]["zone"]["code"] == wgs["zone"]["code"]
    assert wgs["grid"]["zone"]["station"]["code"] == wgs["station"]["code"]
    assert wgs["station"]["kind"] == "urban"
    roles = {o["role"] for o in wgs["officers"]}
    assert {"community_officer", "auxiliary", "grid_worker"} <= roles
    assert wgs["nearest"] is None
    glon, glat = wgs84_to_gcj02(*SEAT)
    gcj = _data(gql(q, {"lon": glon, "lat": glat, "crs": "GCJ02"}))["responsibleFor"]
    assert gcj == wgs
    # sent as if it were WGS 84, the GCJ-02 point is ~500 m off: a different answer or at least
    # a different distance to the boundary
    wrong = _data(gql(q, {"lon": glon, "lat": glat, "crs": "WGS84"}))["responsibleFor"]
    assert wrong != wgs


def test_bd09_input(gql) -> None:  # type: ignore[no-untyped-def]
    from jurisgrid.geo.crs import Crs, from_wgs84

    q = """query($lon: Float!, $lat: Float!) { responsibleFor(lon: $lon, lat: $lat, crs: BD09) {
           grid { code } } }"""
    blon, blat = from_wgs84(Crs.BD09, *SEAT)
    plain = _data(gql("{ responsibleFor(lon: 106.973, lat: 30.8366) { grid { code } } }"))
    assert _data(gql(q, {"lon": blon, "lat": blat}))["responsibleFor"] == plain["responsibleFor"]


def test_point_outside_county_names_nearest(gql) -> None:  # type: ignore[no-untyped-def]
    d = _data(gql("""{ responsibleFor(lon: 107.6, lat: 30.9) { grid { code } zone { code }
                     station { code } onBoundary nearest { grid { code } distanceM } } }"""))
    r = d["responsibleFor"]
    assert r["grid"] is None and r["zone"] is None and r["station"] is None
    assert r["onBoundary"] is False
    assert r["nearest"]["grid"]["code"] and r["nearest"]["distanceM"] > 1000


def test_no_n_plus_one(gql, count_sql) -> None:  # type: ignore[no-untyped-def]
    q = """{ stations(first: 21) { edges { node { code sector { code }
               zones { code officers { person { name } } grids { code community { code }
               gridWorkers { person { name } } } } } } } }"""
    _data(gql(q))
    # stations page, sectors, zones, zone assignments, grids, communities, grid assignments,
    # persons — one statement per level however many rows (plus a little bookkeeping)
    assert 3 <= count_sql.count <= 10, count_sql.statements  # counted, and not per row


def test_count_sql_counts_the_test_not_background_work(gql, engine, count_sql) -> None:  # type: ignore[no-untyped-def]
    """What makes the statement counts deterministic: work the app does in the background (the
    scheduled-edit applier, watchers) runs outside the test's context and is not counted."""
    import threading

    def background() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    t = threading.Thread(target=background)
    t.start()
    t.join()
    assert count_sql.count == 0, count_sql.statements
    _data(gql("{ stations(first: 1) { nodes { code } } }"))
    assert count_sql.count >= 1


def test_relations_both_ways(gql) -> None:  # type: ignore[no-untyped-def]
    d = _data(gql("""{ zones(first: 5) { nodes { code station { code zones { code } }
                       grids { code zone { code } } communities { code zones { code } } } } }"""))
    for z in d["zones"]["nodes"]:
        assert z["code"] in {x["code"] for x in z["station"]["zones"]}
        assert all(g["zone"]["code"] == z["code"] for g in z["grids"])
        assert all(z["code"] in {x["code"] for x in c["zones"]} for c in z["communities"])


def test_pagination_walks_everything(gql, engine) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    after = None
    while True:
        d = _data(gql("""query($after: String) { zones(first: 40, after: $after) {
            totalCount pageInfo { hasNextPage endCursor } edges { cursor node { code } } } }""",
                      {"after": after}))["zones"]
        seen += [e["node"]["code"] for e in d["edges"]]
        if not d["pageInfo"]["hasNextPage"]:
            break
        after = d["pageInfo"]["endCursor"]
    with engine.connect() as conn:
        codes = conn.execute(text("SELECT code FROM zone ORDER BY code")).scalars().all()
    assert seen == codes and d["totalCount"] == len(codes)


def test_bbox_and_intersects_filters_match_postgis(gql, engine) -> None:  # type: ignore[no-untyped-def]
    bbox = [106.95, 30.82, 106.99, 30.86]
    got = _data(gql("""query($b: [Float!]) { grids(first: 1000, bbox: $b) { totalCount
                      nodes { code } } }""", {"b": bbox}))["grids"]
    poly = shapely.box(*bbox)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, ST_AsGeoJSON(geom, 15) FROM grid")).all()
    want = sorted(c for c, g in rows if shapely.geometry.shape(json.loads(g)).intersects(poly))
    assert sorted(n["code"] for n in got["nodes"]) == want and got["totalCount"] == len(want)
    tri = {"type": "Polygon", "coordinates": [[[106.95, 30.82], [106.99, 30.82],
                                               [106.97, 30.86], [106.95, 30.82]]]}
    got2 = _data(gql("""query($g: GeoJSON) { grids(first: 1000, intersects: $g) {
                        nodes { code } } }""", {"g": tri}))["grids"]["nodes"]
    shape = shapely.geometry.shape(tri)
    want2 = sorted(c for c, g in rows if shapely.geometry.shape(json.loads(g)).intersects(shape))
    assert sorted(n["code"] for n in got2) == want2


def test_within_distance(gql, engine) -> None:  # type: ignore[no-untyped-def]
    got = _data(gql("""{ addressPoints(first: 1000, withinDistance: {lon: 106.973, lat: 30.8366,
                       metres: 300}) { totalCount nodes { code } } }"""))["addressPoints"]
    with engine.connect() as conn:
        want = conn.execute(text("""SELECT code FROM address_point WHERE ST_DWithin(geom::geography,
              ST_SetSRID(ST_MakePoint(106.973, 30.8366), 4326)::geography, 300)""")).scalars().all()
    assert sorted(n["code"] for n in got["nodes"]) == sorted(want)
    assert got["totalCount"] == len(want)


def test_text_and_parent_filters(gql) -> None:  # type: ignore[no-untyped-def]
    st = _data(gql("{ stations(first: 1) { nodes { code zones { code } } } }"))["stations"]["nodes"][0]
    zones = _data(gql("query($s: String) { zones(first: 100, station: $s) { nodes { code } } }",
                      {"s": st["code"]}))["zones"]["nodes"]
    assert sorted(z["code"] for z in zones) == sorted(z["code"] for z in st["zones"])
    found = _data(gql('{ townships(first: 5, search: "渠江") { nodes { name } } }'))
    assert [t["name"] for t in found["townships"]["nodes"]] == ["渠江街道"]


def test_geometry_formats_crs_simplify_precision(gql) -> None:  # type: ignore[no-untyped-def]
    q = """query($c: String!) { grid(code: $c) {
        full: geometry
        wkt: geometry(format: WKT, precision: 5)
        gcj: geometry(crs: GCJ02)
        simple: geometry(simplify: 50)
        coarse: geometry(simplifyZoom: 8) } }"""
    code = _data(gql("{ grids(first: 1) { nodes { code } } }"))["grids"]["nodes"][0]["code"]
    g = _data(gql(q, {"c": code}))["grid"]
    full = shapely.geometry.shape(g["full"])
    assert full.is_valid and full.geom_type == "MultiPolygon"
    wkt = shapely.from_wkt(g["wkt"])
    assert all(len(str(x).split(".")[-1]) <= 5 for x in shapely.get_coordinates(wkt).ravel())
    gcj = shapely.geometry.shape(g["gcj"])
    dx = gcj.centroid.x - full.centroid.x
    assert 0.001 < dx < 0.01  # GCJ-02 shifts Qu County a few hundred metres east
    simple = shapely.geometry.shape(g["simple"])
    assert len(shapely.get_coordinates(simple)) <= len(shapely.get_coordinates(full))
    assert simple.symmetric_difference(full).area / full.area < 0.2
    coarse = shapely.geometry.shape(g["coarse"])
    assert len(shapely.get_coordinates(coarse)) <= len(shapely.get_coordinates(simple)) + 4


@pytest.mark.parametrize("table,field", [("station", "stations"), ("community", "communities")])
def test_lookup_by_code(gql, engine, table: str, field: str) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        code, name = conn.execute(text(f"SELECT code, name FROM {table} LIMIT 1")).one()
    got = _data(gql(f'{{ {table}(code: "{code}") {{ code name }} }}'))[table]
    assert got == {"code": code, "name": name}
    assert _data(gql(f'{{ {table}(code: "nope") {{ code }} }}'))[table] is None


def test_healthz(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == "up"
    assert body["migration"] == body["migration_head"]


def test_rest_lookup_matches_graphql(client, gql) -> None:  # type: ignore[no-untyped-def]
    want = _data(gql("""{ responsibleFor(lon: 106.973, lat: 30.8366) { onBoundary
        grid { code } zone { code } station { code name } officers { role person { code } } } }"""))
    want = want["responsibleFor"]
    answers = []
    for via in ("index", "sql"):
        r = client.get("/api/responsible", params={"lon": SEAT[0], "lat": SEAT[1], "via": via})
        assert r.status_code == 200
        a = r.json()
        assert a["via"] == via
        assert a["grid"]["code"] == want["grid"]["code"] and a["zone"]["code"] == want["zone"]["code"]
        assert a["station"] == want["station"] and a["on_boundary"] == want["onBoundary"]
        assert [(o["role"], o["code"]) for o in a["officers"]] == \
            [(o["role"], o["person"]["code"]) for o in want["officers"]]
        answers.append({k: v for k, v in a.items() if k not in ("via", "distance_to_boundary_m")})
    assert answers[0] == answers[1]
    outside = client.get("/api/responsible", params={"lon": 100.0, "lat": 30.0}).json()
    assert outside["grid"] is None and outside["nearest"]["distance_m"] > 100_000
    bad = client.get("/api/responsible", params={"lon": 200, "lat": 30})
    assert bad.status_code == 400 and "longitude" in bad.json()["error"]["message"]
    bad = client.get("/api/responsible", params={"lon": 106.9, "lat": 30.8, "via": "magic"})
    assert bad.status_code == 422


def test_nested_first_n_cut_in_sql(gql, engine, count_sql) -> None:  # type: ignore[no-untyped-def]
    q = """{ grids(first: 20) { nodes { code addressPoints(first: 3) { code }
             incidents(first: 2, since: "2026-06-01T00:00:00+08:00") { code occurredAt } } } }"""
    grids = _data(gql(q))["grids"]["nodes"]
    assert 3 <= count_sql.count <= 4, count_sql.statements   # page + one per nested list
    with engine.connect() as conn:
        for g in grids:
            want_a = conn.execute(text(
                "SELECT a.code FROM address_point a JOIN grid g ON g.id = a.grid_id"
                " WHERE g.code = :c ORDER BY a.code LIMIT 3"), {"c": g["code"]}).scalars().all()
            want_i = conn.execute(text(
                "SELECT i.code FROM incident i JOIN grid g ON g.id = i.grid_id WHERE g.code = :c"
                " AND i.occurred_at >= '2026-06-01T00:00:00+08:00' ORDER BY i.code LIMIT 2"),
                {"c": g["code"]}).scalars().all()
            assert [a["code"] for a in g["addressPoints"]] == want_a
            assert [i["code"] for i in g["incidents"]] == want_i
