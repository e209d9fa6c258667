"""The web map in a real browser: it loads offline, a click gives the right card, search finds a
station, layers toggle, and an editor reassigns a grid end to end."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import shapely
from sqlalchemy import Engine, text

from tests.browser.conftest import ARTIFACTS, click_lonlat, open_map, zoom_to

pytestmark = pytest.mark.e2e

# a grid point far from any edge: the centre of the grid's largest inscribed circle
INTERIOR_SQL = """
SELECT g.code, ST_X(c.center) AS lon, ST_Y(c.center) AS lat, c.radius
FROM grid g, ST_MaximumInscribedCircle(g.geom) c
ORDER BY c.radius DESC, g.code LIMIT :n
"""


def _grids(engine: Engine) -> list[tuple[str, shapely.Geometry, str, str]]:
    """Every grid with its geometry, zone code and station code (for an independent check)."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT g.code, ST_AsBinary(g.geom), z.code, s.code FROM grid g "
            "JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id")).all()
    return [(r[0], shapely.from_wkb(bytes(r[1])), r[2], r[3]) for r in rows]


def _expected_at(engine: Engine, lon: float, lat: float) -> tuple[str, str, str]:
    """Grid, zone and station at a point by Shapely (the boundary rule: smallest code wins)."""
    pt = shapely.Point(lon, lat)
    hits = sorted((g, z, s) for g, geom, z, s in _grids(engine) if geom.distance(pt) <= 1e-7)
    assert hits, f"no grid at {lon}, {lat}"
    return hits[0]


def _schema_has(base: str, type_name: str, field: str) -> bool:
    q = "query($t: String!) { __type(name: $t) { fields { name } } }"
    body = httpx.post(f"{base}/graphql", json={"query": q, "variables": {"t": type_name}}).json()
    t = body["data"]["__type"]
    return bool(t) and any(f["name"] == field for f in t["fields"])


def test_map_loads_offline_with_tiles_and_no_errors(page: Any) -> None:
    open_map(page)
    assert page.locator("#map canvas.maplibregl-canvas").count() == 1
    # MapLibre comes from the app (npm), not from a CDN; nothing leaves the machine
    version = page.evaluate("maplibregl.getVersion()")
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert page.log.external == []
    tiles = page.log.tiles
    assert tiles, "no vector tiles were requested"
    assert {s for _, s in tiles} <= {200, 204, 304}, tiles
    layers = {re.search(r"/tiles/(\w+)/", u).group(1) for u, _ in tiles}  # type: ignore[union-attr]
    assert {"zones", "grids", "stations"} <= layers
    # the legend lists the layers with a toggle each
    assert page.locator("#layers input[data-layer]").count() >= 5
    page.wait_for_timeout(300)
    assert page.log.errors == []


def test_missing_assets_page_is_clear(client: Any, web_server: str, monkeypatch: pytest.MonkeyPatch,
                                      tmp_path: Any) -> None:
    """Without the npm assets, / answers 503 with what is missing and how to fix it."""
    from jurisgrid.web import routes

    assert client.get("/").status_code == 200
    monkeypatch.setattr(routes, "VENDOR", tmp_path)
    r = client.get("/")
    assert r.status_code == 503
    assert "maplibre-gl.js" in r.text and "./dev web" in r.text
    # static files: only from the package's static folder
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")
    for bad in ("/static/../routes.py", "/static/%2e%2e/routes.py", "/static/js/nope.js"):
        assert httpx.get(f"{web_server}{bad}").status_code == 404, bad


def test_click_at_a_grid_interior_gives_its_card(page: Any, web_db: Engine, web_server: str) -> None:
    with web_db.connect() as conn:
        code, lon, lat, radius = conn.execute(text(INTERIOR_SQL), {"n": 1}).one()
    assert radius > 1e-4  # ≥ ~10 m: a click a pixel off stays inside
    open_map(page)
    zoom_to(page, lon, lat, 15)
    click_lonlat(page, lon, lat)
    card = page.locator("#card")
    page.wait_for_function("document.querySelector('#card').dataset.grid !== undefined "
                           "&& document.querySelector('#card table') !== null")
    clicked = page.locator("#card .coords").inner_text().split(",")
    clon, clat = float(clicked[0]), float(clicked[1].split("·")[0])
    assert abs(clon - lon) < 1e-4 and abs(clat - lat) < 1e-4
    grid, zone, station = _expected_at(web_db, clon, clat)
    assert grid == code
    assert card.get_attribute("data-grid") == grid
    assert card.get_attribute("data-zone") == zone
    assert card.get_attribute("data-station") == station
    assert page.locator("#card [data-field=onBoundary]").get_attribute("data-value") == "no"
    assert page.locator("#card [data-field=onBoundary]").inner_text() == "否"  # Chinese first
    q = "query($lon: Float!, $lat: Float!) { responsibleFor(lon: $lon, lat: $lat) { officers { role } } }"
    answer = httpx.post(f"{web_server}/graphql", json={"query": q, "variables": {
        "lon": clon, "lat": clat}}).json()["data"]["responsibleFor"]
    assert answer["officers"]
    assert page.locator("#card td ul li").count() == len(answer["officers"])
    assert page.log.errors == []


def test_search_finds_a_station_by_name_and_opens_its_panel(page: Any, web_db: Engine) -> None:
    with web_db.connect() as conn:
        code, name, zones = conn.execute(text(
            "SELECT s.code, s.name, (SELECT count(*) FROM zone z WHERE z.station_id = s.id) "
            "FROM station s ORDER BY s.code LIMIT 1")).one()
    open_map(page)
    term = name[:-3] if len(name) > 4 else name  # part of the name: '…派出所' cut off
    page.fill("#search", term)
    hit = page.locator("#results li", has_text=name).first
    hit.wait_for(timeout=10_000)
    assert code in hit.inner_text()
    hit.click()
    page.locator("#panel h2", has_text=name).wait_for(timeout=10_000)
    assert page.locator("#panel svg.chart g").count() == zones  # one bar per zone
    page.wait_for_timeout(800)  # the map flew to the station
    page.screenshot(path=str(ARTIFACTS / "search-station.png"))
    assert page.log.errors == []


def test_layer_toggle_hides_and_shows(page: Any) -> None:
    open_map(page)
    vis = "window.jurisgrid.map.getLayoutProperty('zones-fill', 'visibility')"
    assert page.evaluate(vis) == "visible"
    page.uncheck("#layers input[data-layer=zones]")
    assert page.evaluate(vis) == "none"
    page.check("#layers input[data-layer=zones]")
    assert page.evaluate(vis) == "visible"
    page.select_option("#zone-colour", "kind")
    assert "城区" in page.locator("[data-legend=zones]").inner_text()
    page.select_option("#zone-colour", "class")  # zone class under the sizing policy (tile `class`)
    assert "一类" in page.locator("[data-legend=zones]").inner_text()
    classes = page.evaluate("""() => [...new Set(window.jurisgrid.map
        .queryRenderedFeatures({ layers: ['zones-fill'] }).map((f) => f.properties.class))]""")
    assert classes and set(classes) <= {"一类", "二类", "三类"}, classes


# grids with an edge-neighbour in another zone: moving one there keeps both zones whole
NEIGHBOURS_SQL = """
SELECT g.code, z2.code AS to_zone, z.code AS from_zone,
       ST_X(c.center) AS lon, ST_Y(c.center) AS lat
FROM grid g JOIN zone z ON z.id = g.zone_id
JOIN grid h ON h.zone_id <> g.zone_id AND g.geom && h.geom
     AND ST_Dimension(ST_Intersection(g.geom, h.geom)) = 1
JOIN zone z2 ON z2.id = h.zone_id,
     ST_MaximumInscribedCircle(g.geom) c
WHERE (SELECT count(*) FROM grid x WHERE x.zone_id = g.zone_id) > 1
ORDER BY c.radius DESC, g.code, z2.code LIMIT 30
"""

REASSIGN = """mutation($grids: [String!]!, $toZone: String!, $dryRun: Boolean!) {
  reassignGrids(grids: $grids, toZone: $toZone, dryRun: $dryRun) { __typename } }"""


def _movable_grid(base: str, token: str, engine: Engine) -> tuple[str, str, str, float, float]:
    """A grid the editing part accepts moving (its own dry run says EditSuccess)."""
    with engine.connect() as conn:
        rows = conn.execute(text(NEIGHBOURS_SQL)).all()
    for code, to_zone, from_zone, lon, lat in rows:
        r = httpx.post(f"{base}/graphql", headers={"Authorization": f"Bearer {token}"}, json={
            "query": REASSIGN, "variables": {"grids": [code], "toZone": to_zone, "dryRun": True}},
            timeout=30).json()
        if r.get("data", {}).get("reassignGrids", {}).get("__typename") == "EditSuccess":
            return code, from_zone, to_zone, lon, lat
    raise AssertionError(f"no grid of {len(rows)} candidates may be moved by a dry run")


def test_editor_reassigns_a_grid_end_to_end(page: Any, web_server: str, web_db: Engine) -> None:
    if not _schema_has(web_server, "Mutation", "reassignGrids"):
        pytest.skip("the server has no reassignGrids mutation (the editing part, issue 3)")
    try:
        from jurisgrid.auth.tokens import create_token
    except ImportError:
        pytest.skip("jurisgrid.auth.tokens is missing (the auth part, issue 3)")
    with web_db.begin() as conn:
        token = create_token(conn, role="editor", label="browser-test")
    code, from_zone, to_zone, lon, lat = _movable_grid(web_server, token, web_db)

    open_map(page)
    page.fill("#token", "not-a-token")
    page.click("#login button[type=submit]")
    page.locator("#login-msg[data-refused=true]").wait_for()
    page.fill("#token", token)
    page.click("#login button[type=submit]")
    page.locator("#login .who[data-role=editor]").wait_for()

    zoom_to(page, lon, lat, 15)
    page.click("#edit-select")
    click_lonlat(page, lon, lat)
    page.locator("#edit-selection code", has_text=code).wait_for()
    assert page.evaluate("window.jurisgrid.selectedGrids()") == [code]
    page.fill("#to-zone", to_zone)
    assert page.locator("#edit-commit").is_disabled()  # no commit before a dry run

    page.click("#edit-dry")
    impact = page.locator("#edit-result [data-impact]")
    impact.wait_for(timeout=20_000)
    assert code in impact.inner_text()
    assert {from_zone, to_zone} <= set(re.findall(r"\S+", impact.inner_text()))
    with web_db.connect() as conn:  # the dry run wrote nothing
        zone_now = conn.execute(text("SELECT z.code FROM grid g JOIN zone z ON z.id = g.zone_id "
                                     "WHERE g.code = :c"), {"c": code}).scalar_one()
        population = conn.execute(text(
            "SELECT coalesce(sum(a.population), 0) FROM address_point a JOIN grid g ON g.id = a.grid_id "
            "WHERE g.code = :c"), {"c": code}).scalar_one()
    assert zone_now == from_zone
    shown = int(page.locator("[data-field=impact-population]").get_attribute("data-value") or -1)
    assert shown == population
    page.screenshot(path=str(ARTIFACTS / "reassign-dry-run.png"))

    page.click("#edit-commit")
    page.locator("#edit-result h3[data-committed]").wait_for(timeout=20_000)
    with web_db.connect() as conn:
        zone_now = conn.execute(text("SELECT z.code FROM grid g JOIN zone z ON z.id = g.zone_id "
                                     "WHERE g.code = :c"), {"c": code}).scalar_one()
    assert zone_now == to_zone
    assert page.evaluate("window.jurisgrid.selectedGrids()") == []

    # the map refreshed: the grid's tile feature now names the new zone
    page.wait_for_function(
        """([code, zone]) => {
             const m = window.jurisgrid.map;
             const fs = m.querySourceFeatures('grids', {sourceLayer: 'grids',
                                                        filter: ['==', ['get', 'code'], code]});
             return fs.length > 0 && fs.every((f) => f.properties.zone_code === zone);
           }""", arg=[code, to_zone], timeout=20_000)
    # and a click there (selection off) gives the new zone on the card
    page.click("#edit-select")
    click_lonlat(page, lon, lat)
    page.wait_for_function("(z) => document.querySelector('#card').dataset.zone === z", arg=to_zone,
                           timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / "reassign-committed.png"))
    # the one error allowed: the browser's log line for the refused token's HTTP 401
    errors = [e for e in page.log.errors if "status of 401" not in e]
    assert errors == [], errors


def test_time_slider_shows_the_zone_before_an_edit(page: Any, web_server: str, web_db: Engine) -> None:
    if not _schema_has(web_server, "Query", "revisions"):
        pytest.skip("the server has no revisions query (the editing part, issue 3)")
    q = '{ __type(name: "Query") { fields { name args { name } } } }'
    fields = httpx.post(f"{web_server}/graphql", json={"query": q}).json()["data"]["__type"]["fields"]
    if not any(f["name"] == "responsibleFor" and any(a["name"] == "asOf" for a in f["args"])
               for f in fields):
        pytest.skip("responsibleFor takes no asOf on this server (the editing part, issue 3)")
    from jurisgrid.auth.tokens import create_token

    with web_db.begin() as conn:
        token = create_token(conn, role="editor", label="browser-test-asof")
    code, from_zone, to_zone, lon, lat = _movable_grid(web_server, token, web_db)
    r = httpx.post(f"{web_server}/graphql", headers={"Authorization": f"Bearer {token}"}, json={
        "query": REASSIGN, "variables": {"grids": [code], "toZone": to_zone, "dryRun": False}},
        timeout=30).json()
    assert r["data"]["reassignGrids"]["__typename"] == "EditSuccess", r

    open_map(page)
    zoom_to(page, lon, lat, 15)
    click_lonlat(page, lon, lat)
    page.wait_for_function("(z) => document.querySelector('#card').dataset.zone === z", arg=to_zone)
    slider = page.locator("#asof")
    assert slider.is_enabled()
    top = int(slider.get_attribute("max") or 0)
    assert top >= 2  # at least: before the edit, the edit, now
    slider.fill(str(top - 2))  # the stop before the newest revision (the edit above)
    page.wait_for_function("(z) => document.querySelector('#card').dataset.zone === z", arg=from_zone,
                           timeout=20_000)
    assert "截至" in page.locator("#card .coords").inner_text()
    # the tiles follow: the grid drawn there is in its old zone (tiles requested with ?asOf=)
    drawn_zone = """([lon, lat]) => { const m = window.jurisgrid.map;
        const f = m.queryRenderedFeatures(m.project([lon, lat]), { layers: ['grids-fill'] })[0];
        return f ? f.properties.zone_code : null; }"""
    page.wait_for_function(f"(z) => ({drawn_zone})([{lon}, {lat}]) === z", arg=from_zone, timeout=20_000)
    as_of_tiles = [u for u, st in page.log.tiles if "asOf=" in u]
    assert as_of_tiles and all(st in (200, 304) for _, st in page.log.tiles), page.log.tiles[-10:]
    assert all("/tiles/grids/" in u or "/tiles/zones/" in u or "/tiles/stations/" in u
               or "/tiles/communities/" in u for u in as_of_tiles)
    assert page.locator("#asof-note").is_visible()
    zoom_to(page, lon, lat, 13)  # some context for the artefact
    page.screenshot(path=str(ARTIFACTS / "asof-before-edit.png"))
    zoom_to(page, lon, lat, 15)
    slider.fill(str(top))  # back to now
    page.wait_for_function("(z) => document.querySelector('#card').dataset.zone === z", arg=to_zone,
                           timeout=20_000)
    page.wait_for_function(f"(z) => ({drawn_zone})([{lon}, {lat}]) === z", arg=to_zone, timeout=20_000)
    assert page.log.errors == []


def test_card_links_to_the_station_panel_and_readme_screenshot(page: Any, web_db: Engine) -> None:
    """The card's station opens the station panel; the view is the README's screenshot."""
    with web_db.connect() as conn:
        rows = conn.execute(text(INTERIOR_SQL), {"n": 40}).all()
    page.set_viewport_size({"width": 1280, "height": 940})
    open_map(page)
    # a grid in the middle third of the county: the whole county stays in view around it
    code, lon, lat, _ = rows[len(rows) // 2]
    click_lonlat(page, lon, lat)
    page.wait_for_function("document.querySelector('#card').dataset.station")
    assert page.locator("#card").get_attribute("data-grid") == code
    station = page.locator("#card").get_attribute("data-station")
    page.click("#card a[data-open=station]")
    page.locator("#panel h2", has_text=station or "").wait_for(timeout=10_000)
    page.locator("#panel svg.chart").wait_for()
    page.wait_for_function("window.jurisgrid.map.areTilesLoaded()")
    page.screenshot(path=str(ARTIFACTS / "readme-map.png"))  # docs/map.png is a copy of it
    assert page.log.errors == []


def test_search_by_address_opens_the_card_there(page: Any, web_db: Engine) -> None:
    with web_db.connect() as conn:
        address, lon, lat = conn.execute(text(
            "SELECT address, ST_X(geom), ST_Y(geom) FROM address_point ORDER BY code LIMIT 1")).one()
    open_map(page)
    page.fill("#search", address)
    hit = page.locator("#results li", has_text="地址").first
    hit.wait_for(timeout=10_000)
    assert address in hit.inner_text()
    hit.click()
    page.wait_for_function("document.querySelector('#card table') !== null", timeout=10_000)
    shown = page.locator("#card .coords").inner_text().split(",")
    clon, clat = float(shown[0]), float(shown[1].split("·")[0])
    assert abs(clon - lon) < 1e-5 and abs(clat - lat) < 1e-5  # the card is at the address
    grid, zone, _ = _expected_at(web_db, clon, clat)
    assert page.locator("#card").get_attribute("data-grid") == grid
    assert page.locator("#card").get_attribute("data-zone") == zone
    assert page.log.errors == []
