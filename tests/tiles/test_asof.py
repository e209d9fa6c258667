"""``?asOf=`` tiles: a real edit (GraphQL ``reassignGrids``) in a throwaway database, then the
tiles as of an instant before it against the rows and Shapely shapes captured before the edit,
and the tiles of now against the state after it. Bad input gets a 400 with a clear message."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import shapely
from sqlalchemy import Engine, text

from jurisgrid.db import dispose, make_engine
from jurisgrid.tiles.layers import tile_of
from tests.conftest import _server_url
from tests.dbs import scratch_database
from tests.tiles.conftest import decode, feature_lonlat, tile_box

Z = 14


@pytest.fixture(scope="module")
def asof_engine(demo) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    from jurisgrid.models.migrate import upgrade
    from jurisgrid.seed.load import load

    server, _ = _server_url()
    with scratch_database(server, "jurisgrid_test_tiles_asof") as url:
        eng = make_engine(url, pool_size=2)
        upgrade(eng)
        load(eng, demo)
        yield eng
        dispose(eng)


@pytest.fixture(scope="module")
def aclient(asof_engine: Engine):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from jurisgrid.app import create_app
    from jurisgrid.auth.tokens import create_token
    from jurisgrid.config import Settings

    with asof_engine.begin() as conn:
        secret = create_token(conn, role="editor", label="tile asOf tests")
    with TestClient(create_app(engine=asof_engine, settings=Settings())) as c:
        c.editor_secret = secret  # type: ignore[attr-defined]
        yield c


def _state(engine: Engine) -> dict[str, Any]:
    """The current grids and zones as plain rows and Shapely shapes (the independent record)."""
    with engine.connect() as conn:
        grids = {r.code: {"zone": r.zone, "station": r.station, "geom": shapely.from_geojson(r.gj)}
                 for r in conn.execute(text(
                     "SELECT g.code, z.code AS zone, s.code AS station, ST_AsGeoJSON(g.geom, 15) AS gj "
                     "FROM grid g JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id"))}
        zones = {r.code: shapely.from_geojson(r.gj) for r in conn.execute(text(
            "SELECT code, ST_AsGeoJSON(geom, 15) AS gj FROM zone"))}
    return {"grids": grids, "zones": zones}


@pytest.fixture(scope="module")
def edited(asof_engine: Engine, aclient) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Move a grid to a zone of another station; return the state before and after and an
    instant between them."""
    with asof_engine.connect() as conn:
        grid, to_zone = conn.execute(text(
            "SELECT g.code, (SELECT z2.code FROM zone z2 WHERE z2.station_id <> z.station_id "
            "ORDER BY z2.code LIMIT 1) FROM grid g JOIN zone z ON z.id = g.zone_id "
            "WHERE (SELECT count(*) FROM grid g3 WHERE g3.zone_id = z.id) > 2 "
            "ORDER BY g.code LIMIT 1")).one()
    before = _state(asof_engine)
    time.sleep(0.05)
    instant = datetime.now(UTC)
    time.sleep(0.05)
    q = """mutation($g: [String!]!, $z: String!) {
      reassignGrids(grids: $g, toZone: $z, reason: "tile asOf test") { __typename
        ... on EditSuccess { revision { id } } } }"""
    res = aclient.post("/graphql", json={"query": q, "variables": {"g": [grid], "z": to_zone}},
                       headers={"Authorization": f"Bearer {aclient.editor_secret}"})
    body = res.json()
    assert body["data"]["reassignGrids"]["__typename"] == "EditSuccess", body
    after = _state(asof_engine)
    assert after["grids"][grid]["zone"] == to_zone != before["grids"][grid]["zone"]
    c = before["grids"][grid]["geom"].representative_point()
    return {"grid": grid, "before": before, "after": after, "instant": instant,
            "tile": tile_of(c.x, c.y, Z)}


def _tile(client, layer: str, x: int, y: int, **params: str):  # type: ignore[no-untyped-def]
    res = client.get(f"/tiles/{layer}/{Z}/{x}/{y}.mvt", params=params)
    assert res.status_code == 200, res.text
    return res, {f["properties"]["code"]: f for f in decode(res.content).get(layer, {}).get("features", [])}


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _check_shapes(feats: dict[str, Any], shapes: dict[str, Any], x: int, y: int) -> None:
    """Every shape covering a noticeable part of the tile is drawn, as clipped to the tile."""
    inner = tile_box(Z, x, y)
    cell = (inner.bounds[2] - inner.bounds[0]) / 4096
    must = {c for c, g in shapes.items() if g.intersection(inner).area > 4 * cell * cell}
    assert must
    assert must <= set(feats) <= set(shapes)
    for code in must:
        drawn = feature_lonlat(feats[code], Z, x, y).intersection(inner)
        want = shapes[code].intersection(inner)
        assert drawn.symmetric_difference(want).area <= 0.02 * want.area + 50 * cell * cell, code


def test_grid_tiles_as_of_before_the_edit_show_the_old_zone(aclient, edited) -> None:  # type: ignore[no-untyped-def]
    x, y = edited["tile"]
    g = edited["grid"]
    res, now = _tile(aclient, "grids", x, y)
    assert now[g]["properties"]["zone_code"] == edited["after"]["grids"][g]["zone"]
    res, past = _tile(aclient, "grids", x, y, asOf=_iso(edited["instant"]))
    for code, f in past.items():
        want = edited["before"]["grids"][code]
        assert (f["properties"]["zone_code"], f["properties"]["station_code"]) == (
            want["zone"], want["station"]), code
        assert "population" not in f["properties"]  # figures are not historised
    assert past[g]["properties"]["zone_code"] != now[g]["properties"]["zone_code"]
    _check_shapes(past, {c: v["geom"] for c, v in edited["before"]["grids"].items()}, x, y)
    # a recent instant is not final (an edit may still take effect then): revalidate each time
    assert "no-cache" in res.headers["cache-control"]
    again = aclient.get(f"/tiles/grids/{Z}/{x}/{y}.mvt", params={"asOf": _iso(edited["instant"])},
                        headers={"If-None-Match": res.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == res.headers["etag"]


def test_zone_tiles_as_of_before_the_edit_have_the_old_outlines(aclient, edited) -> None:  # type: ignore[no-untyped-def]
    x, y = edited["tile"]
    _, past = _tile(aclient, "zones", x, y, asOf=_iso(edited["instant"]))
    _check_shapes(past, edited["before"]["zones"], x, y)
    _, now = _tile(aclient, "zones", x, y)
    _check_shapes(now, edited["after"]["zones"], x, y)
    assert "class" in next(iter(now.values()))["properties"]
    assert "class" not in next(iter(past.values()))["properties"]
    old_zone = edited["before"]["grids"][edited["grid"]]["zone"]
    assert not edited["before"]["zones"][old_zone].equals(edited["after"]["zones"][old_zone])


def test_other_historised_layers_and_gcj02_serve_as_of(aclient, edited) -> None:  # type: ignore[no-untyped-def]
    x, y = edited["tile"]
    t = _iso(edited["instant"])
    _, stations = _tile(aclient, "stations", x, y, asOf=t)
    assert {f["properties"]["feature"] for f in stations.values()} <= {"area", "seat"} and stations
    _, comms = _tile(aclient, "communities", x, y, asOf=t)
    assert comms and all("township_code" in f["properties"] for f in comms.values())
    _, shifted = _tile(aclient, "grids", x, y, asOf=t, crs="gcj02")
    assert shifted


def test_an_old_instant_is_final_and_cached_long(aclient, edited) -> None:  # type: ignore[no-untyped-def]
    x, y = edited["tile"]
    old = _iso(datetime.now(UTC) - timedelta(days=1))
    res, feats = _tile(aclient, "grids", x, y, asOf=old)
    assert "max-age=86400" in res.headers["cache-control"]
    g = edited["grid"]  # the seeded state holds then (the seed's versions are valid since -infinity)
    assert feats[g]["properties"]["zone_code"] == edited["before"]["grids"][g]["zone"]


def test_bad_as_of_is_a_clear_400(aclient, edited) -> None:  # type: ignore[no-untyped-def]
    x, y = edited["tile"]
    future = _iso(datetime.now(UTC) + timedelta(days=3))
    cases = [(f"/tiles/grids/{Z}/{x}/{y}.mvt?asOf=yesterday", "not an ISO 8601 instant"),
             (f"/tiles/grids/{Z}/{x}/{y}.mvt?asOf=2026-13-01", "not an ISO 8601 instant"),
             (f"/tiles/sectors/{Z}/{x}/{y}.mvt?asOf=2026-01-01T00:00:00Z", "has no history"),
             (f"/tiles/addresses/{Z}/{x}/{y}.mvt?asOf=2026-01-01T00:00:00Z", "has no history"),
             (f"/tiles/grids/{Z}/{x}/{y}.mvt?asOf={future}", "in the future"),
             ("/tiles/incidents.json?asOf=2026-01-01T00:00:00Z", "has no history"),
             ("/tiles?asOf=soon", "not an ISO 8601 instant")]
    for url, needle in cases:
        res = aclient.get(url)
        assert res.status_code == 400, url
        err = res.json()["error"]
        assert err["code"] == "BAD_USER_INPUT" and needle in err["message"], (url, err)


def test_tilejson_and_listing_with_as_of(aclient) -> None:  # type: ignore[no-untyped-def]
    t = "2026-01-01T00:00:00Z"
    doc = aclient.get("/tiles/zones.json", params={"asOf": t, "crs": "gcj02"}).json()
    assert doc["tiles"] == [f"http://testserver/tiles/zones/{{z}}/{{x}}/{{y}}.mvt?crs=gcj02&asOf={t}"]
    fields = doc["vector_layers"][0]["fields"]
    assert "code" in fields and not {"population", "class", "incidents"} & set(fields)
    assert "not historised" in doc["description"]
    listing = aclient.get("/tiles", params={"asOf": t}).json()
    by = {entry["id"]: entry for entry in listing["layers"]}
    assert by["grids"]["tiles"].endswith(f"?asOf={t}") and by["grids"]["asOf"]
    assert "asOf" not in by["sectors"]["tiles"] and not by["sectors"]["asOf"]
    assert sorted(listing["asOf"]) == sorted(["grids", "zones", "stations", "communities"])
