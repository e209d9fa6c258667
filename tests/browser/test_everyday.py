"""The web map for everyday use, in Chromium at phone, tablet and desktop sizes: Chinese first,
locate-me on a phone, search that lands on the unit found (codes, GCJ-02 coordinates), labels,
the planner's zone table against the API, and an editor who picks the target zone on the map,
is warned about the station change, commits and reverts from the history panel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from jurisgrid.geo.crs import wgs84_to_gcj02
from tests.browser.conftest import ARTIFACTS, PageLog, click_lonlat, open_map
from tests.browser.test_map import INTERIOR_SQL, _expected_at

pytestmark = pytest.mark.e2e

SIZES = {"phone": (390, 844), "tablet": (1024, 768), "desktop": (1440, 900)}


def _context_page(browser: Any, web_server: str, size: str, **kw: Any) -> Any:
    w, h = SIZES[size]
    ctx = browser.new_context(viewport={"width": w, "height": h}, base_url=web_server,
                              is_mobile=size == "phone", has_touch=size == "phone", **kw)
    pg = ctx.new_page()
    pg.log = PageLog(pg)
    return pg


def _interior(engine: Engine, n: int = 1) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(INTERIOR_SQL), {"n": n}).all())


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not laid out"
    return box  # type: ignore[no-any-return]


@pytest.mark.parametrize("size", ["phone", "tablet", "desktop"])
def test_layouts_keep_the_map_and_controls_usable(browser: Any, web_server: str, size: str) -> None:
    page = _context_page(browser, web_server, size)
    try:
        open_map(page)
        w, h = SIZES[size]
        mapbox = _box(page, "#map")
        # the map takes the width it can: all of it on phones and tablets (panels float over it)
        assert mapbox["width"] >= (w - 2 if size != "desktop" else w - 240), mapbox
        assert mapbox["height"] >= h * 0.6, mapbox
        search = _box(page, "#search")
        assert search["width"] >= (300 if size == "phone" else 200), search
        for sel in ("#login button[type=submit]", "#locate", "#lang"):
            b = _box(page, sel)
            assert b["x"] >= 0 and b["x"] + b["width"] <= w + 0.5, (sel, b)
        # Chinese first: the page speaks Chinese until the user switches
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.locator("#locate").inner_text().strip().endswith("定位")
        if size != "desktop":  # the layer list is a drawer, opened by its button
            assert page.locator("#sidebar").is_hidden()
            page.click("#toggle-layers")
            assert page.locator("#sidebar").is_visible()
            page.locator("#layers input[data-layer=zones]").wait_for()
            page.screenshot(path=str(ARTIFACTS / f"everyday-{size}-layers.png"))
            page.click("#sidebar [data-close=sidebar]")
            assert page.locator("#sidebar").is_hidden()
        page.screenshot(path=str(ARTIFACTS / f"everyday-{size}.png"))
        # each view at this size: the card of a click, then a station panel from search
        box = _box(page, "#map canvas")
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function("document.querySelector('#card')?.dataset.station !== undefined "
                               "&& document.querySelector('#card table')", timeout=20_000)
        assert page.locator("#right").is_visible()
        right = _box(page, "#right")
        assert right["x"] >= -0.5 and right["x"] + right["width"] <= w + 0.5
        page.screenshot(path=str(ARTIFACTS / f"everyday-{size}-card.png"))
        page.fill("#search", "派出所")
        page.locator("#results li[data-i]").first.wait_for(timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / f"everyday-{size}-search.png"))
        page.locator("#results li[data-i]").first.click()
        page.locator("#panel h2").wait_for(timeout=20_000)
        page.screenshot(path=str(ARTIFACTS / f"everyday-{size}-station.png"))
        assert page.log.errors == [] and page.log.external == []
    finally:
        page.context.close()


def test_phone_locate_me_gives_the_card_of_where_i_stand(browser: Any, web_server: str,
                                                         web_db: Engine) -> None:
    code, lon, lat, _ = _interior(web_db)[0]
    page = _context_page(browser, web_server, "phone", geolocation={"longitude": lon, "latitude": lat},
                         permissions=["geolocation"])
    try:
        open_map(page)
        page.click("#locate")
        page.wait_for_function("document.querySelector('#card')?.dataset.grid", timeout=20_000)
        grid, zone, station = _expected_at(web_db, lon, lat)
        assert grid == code
        card = page.locator("#card")
        assert (card.get_attribute("data-grid"), card.get_attribute("data-zone"),
                card.get_attribute("data-station")) == (grid, zone, station)
        # the same answer as the API gives for that point
        api = httpx.post(f"{web_server}/graphql", json={
            "query": "query($lon: Float!, $lat: Float!) { responsibleFor(lon: $lon, lat: $lat) "
                     "{ grid { code } station { phone } officers { role person { phone } } } }",
            "variables": {"lon": lon, "lat": lat}}).json()["data"]["responsibleFor"]
        assert api["grid"]["code"] == grid
        # the bottom sheet is on screen; phone numbers can be tapped to call
        sheet = _box(page, "#right")
        assert sheet["y"] + sheet["height"] <= SIZES["phone"][1] + 1
        if api["station"]["phone"]:
            assert page.locator("#card a.tel[href^='tel:']").count() >= 1
        # officers are listed in the station's order: 所长 before 辅警 before 网格员
        roles = page.locator("#card li[data-role]").evaluate_all("els => els.map(e => e.dataset.role)")
        order = ["chief", "instructor", "deputy_chief", "officer", "community_officer", "auxiliary",
                 "grid_worker"]
        assert roles == sorted(roles, key=order.index)
        assert sorted(roles) == sorted(o["role"] for o in api["officers"])
        page.screenshot(path=str(ARTIFACTS / "everyday-phone-card.png"))
        assert page.log.errors == []
    finally:
        page.context.close()


def test_search_by_grid_code_lands_on_that_grid_and_highlights_it(page: Any, web_db: Engine) -> None:
    with web_db.connect() as conn:  # a small grid away from the first ones: not the map centre
        code = conn.execute(text(
            "SELECT code FROM grid ORDER BY ST_Area(geom), code LIMIT 1")).scalar_one()
    open_map(page)
    page.fill("#search", code)
    page.locator("#results li[data-i]").first.wait_for(timeout=10_000)
    # exact match first, reachable by the keyboard
    page.keyboard.press("ArrowDown")
    assert page.locator("#results li[aria-selected=true]").inner_text().find(code) >= 0
    page.keyboard.press("Enter")
    page.wait_for_function("(c) => document.querySelector('#card')?.dataset.grid === c", arg=code,
                           timeout=20_000)
    found = page.evaluate("window.jurisgrid.map.getSource('found').serialize().data")
    assert found.get("type") == "Feature" and found["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert page.log.errors == []


def test_search_by_gcj02_coordinates_lands_on_the_right_grid(page: Any, web_server: str,
                                                              web_db: Engine) -> None:
    code, lon, lat, _ = _interior(web_db, 3)[2]
    glon, glat = wgs84_to_gcj02(lon, lat)
    open_map(page)
    page.fill("#search", f"{glon:.7f},{glat:.7f} gcj02")
    hit = page.locator("#results li[data-i]", has_text="GCJ02").first
    hit.wait_for(timeout=10_000)
    hit.click()
    page.wait_for_function("(c) => document.querySelector('#card')?.dataset.grid === c", arg=code,
                           timeout=20_000)
    # the marker is drawn at the WGS 84 point (the card shows where it is)
    shown = page.locator("#card .coords").inner_text().split(",")
    assert abs(float(shown[0]) - lon) < 2e-6 and abs(float(shown[1].split("·")[0]) - lat) < 2e-6
    assert page.log.errors == []


def test_labels_render_from_the_apps_own_tiles(page: Any) -> None:
    open_map(page)
    page.wait_for_function(
        "window.jurisgrid.map.queryRenderedFeatures({layers: ['stations-label']}).length > 0",
        timeout=20_000)
    names = page.evaluate("""() => window.jurisgrid.map
        .queryRenderedFeatures({layers: ['townships-label']}).map(f => f.properties.name)""")
    assert names and all(isinstance(n, str) and n for n in names)
    assert page.log.errors == [] and page.log.external == []


def test_planner_zone_table_matches_the_api(page: Any, web_server: str, web_db: Engine) -> None:
    with web_db.connect() as conn:
        station = conn.execute(text(
            "SELECT s.code FROM station s JOIN zone z ON z.station_id = s.id "
            "GROUP BY s.code ORDER BY count(*) DESC, s.code LIMIT 1")).scalar_one()
    api = httpx.post(f"{web_server}/graphql", json={"query": """query($c: String!) { station(code: $c) {
        zones { code officers { role } stats { population incidents { total } }
                sizing { zoneClass workload recommendedOfficers } } } }""",
        "variables": {"c": station}}).json()["data"]["station"]["zones"]
    open_map(page)
    page.fill("#search", station)
    page.locator("#results li[data-i]", has_text=station).first.click()
    table = page.locator(f".zone-table[data-station='{station}']")
    table.wait_for(timeout=20_000)
    rows = table.locator("tbody tr[data-zone]")
    assert rows.count() == len(api)
    got = {r.get_attribute("data-zone"): r for r in rows.all()}
    for z in api:
        row = got[z["code"]]
        pop = row.locator("td[data-col=population]").inner_text().replace(",", "")
        assert int(pop) == z["stats"]["population"]
        assert row.locator("td[data-col=class]").inner_text() == z["sizing"]["zoneClass"]
        assert int(row.locator("td[data-col=assigned]").inner_text()) == len(z["officers"])
        assert int(row.locator("td[data-col=recommended]").inner_text()) == z["sizing"]["recommendedOfficers"]
    # sortable: by population, descending then ascending
    table.locator("th button[data-sort=population]").click()
    first = table.locator("tbody tr").first.get_attribute("data-zone")
    assert first == max(api, key=lambda z: (z["stats"]["population"]))["code"]
    table.locator("th button[data-sort=population]").click()
    first = table.locator("tbody tr").first.get_attribute("data-zone")
    assert first == min(api, key=lambda z: (z["stats"]["population"]))["code"]
    with page.expect_download() as dl:
        page.click("#zone-csv")
    body = Path(dl.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert body[0].startswith("code,name,population") and len(body) == len(api) + 1
    page.screenshot(path=str(ARTIFACTS / "everyday-planner-table.png"))
    assert page.log.errors == []


# a grid with an edge-neighbour in a zone of another station
CROSS_SQL = """
SELECT g.code, z.code AS from_zone, z2.code AS to_zone,
       ST_X(c.center), ST_Y(c.center), ST_X(d.center), ST_Y(d.center)
FROM grid g JOIN zone z ON z.id = g.zone_id
JOIN grid h ON g.geom && h.geom AND ST_Dimension(ST_Intersection(g.geom, h.geom)) = 1
JOIN zone z2 ON z2.id = h.zone_id AND z2.station_id <> z.station_id,
     ST_MaximumInscribedCircle(g.geom) c, ST_MaximumInscribedCircle(h.geom) d
WHERE (SELECT count(*) FROM grid x WHERE x.zone_id = g.zone_id) > 1
ORDER BY least(c.radius, d.radius) DESC, g.code LIMIT 20
"""


def test_editor_picks_zone_on_map_is_warned_commits_and_reverts(browser: Any, web_server: str,
                                                                web_db: Engine) -> None:
    from jurisgrid.auth.tokens import create_token

    with web_db.begin() as conn:
        token = create_token(conn, role="admin", label="browser-everyday")
    with web_db.connect() as conn:
        rows = conn.execute(text(CROSS_SQL)).all()
    probe = """mutation($g: [String!]!, $z: String!) { reassignGrids(grids: $g, toZone: $z, dryRun: true)
      { __typename } }"""
    pickable = None
    for code, from_zone, to_zone, lon, lat, nlon, nlat in rows:
        r = httpx.post(f"{web_server}/graphql", headers={"Authorization": f"Bearer {token}"},
                       json={"query": probe, "variables": {"g": [code], "z": to_zone}}, timeout=30).json()
        if r["data"]["reassignGrids"]["__typename"] == "EditSuccess":
            pickable = (code, from_zone, to_zone, lon, lat, nlon, nlat)
            break
    assert pickable, "no cross-station move is accepted by a dry run"
    code, from_zone, to_zone, lon, lat, nlon, nlat = pickable
    page = _context_page(browser, web_server, "desktop")
    try:
        open_map(page)
        page.fill("#token", token)
        page.click("#login button[type=submit]")
        page.locator("#login .who[data-role=admin]").wait_for()
        # both grids in view (their inner points may lie kilometres apart)
        page.evaluate("""([a, b]) => window.jurisgrid.map.fitBounds(
            [[Math.min(a[0], b[0]), Math.min(a[1], b[1])], [Math.max(a[0], b[0]), Math.max(a[1], b[1])]],
            {padding: 120, duration: 0, maxZoom: 15})""",
                      [[lon, lat], [nlon, nlat]])
        page.wait_for_function("window.jurisgrid.map.loaded() && window.jurisgrid.map.areTilesLoaded()",
                               timeout=30_000)
        page.click("#edit-select")
        click_lonlat(page, lon, lat)
        page.locator("#edit-selection code", has_text=code).wait_for()
        page.click("#pick-zone")  # the target zone: a click on it on the map
        click_lonlat(page, nlon, nlat)
        page.wait_for_function("(z) => document.querySelector('#to-zone').value === z", arg=to_zone)
        page.click("#edit-dry")
        page.locator("#edit-result [data-warning=station-change]").wait_for(timeout=20_000)
        page.screenshot(path=str(ARTIFACTS / "everyday-edit-warning.png"))
        page.click("#edit-commit")
        committed = page.locator("#edit-result h3[data-committed]")
        committed.wait_for(timeout=20_000)
        revision = int(committed.get_attribute("data-committed") or 0)
        with web_db.connect() as conn:
            now = conn.execute(text("SELECT z.code FROM grid g JOIN zone z ON z.id = g.zone_id "
                                    "WHERE g.code = :c"), {"c": code}).scalar_one()
        assert now == to_zone
        # the same grid again to the zone it is now in: a no-op, said so, nothing sent
        page.wait_for_function(  # once the map's tiles show the edit
            """([code, zone]) => {
                 const fs = window.jurisgrid.map.querySourceFeatures('grids', {sourceLayer: 'grids',
                   filter: ['==', ['get', 'code'], code]});
                 return fs.length > 0 && fs.every((f) => f.properties.zone_code === zone)
                   && window.jurisgrid.map.areTilesLoaded();
               }""", arg=[code, to_zone], timeout=20_000)
        if page.locator("#edit-select").get_attribute("aria-pressed") != "true":
            page.click("#edit-select")
        click_lonlat(page, lon, lat)
        page.locator("#edit-selection code", has_text=code).wait_for()
        page.fill("#to-zone", to_zone)
        page.click("#edit-dry")
        page.locator("#edit-result [data-warning=no-op]").wait_for()
        page.click("#edit-clear")
        # history: the revision is listed; revert it
        page.click("#history summary")
        item = page.locator(f"#history-list li[data-revision='{revision}']")
        item.wait_for(timeout=20_000)
        page.on("dialog", lambda d: d.accept())
        item.locator("button[data-revert]").click()
        page.locator(f"#history-list [data-reverted='{revision}']").wait_for(timeout=20_000)
        with web_db.connect() as conn:
            now = conn.execute(text("SELECT z.code FROM grid g JOIN zone z ON z.id = g.zone_id "
                                    "WHERE g.code = :c"), {"c": code}).scalar_one()
        assert now == from_zone
        page.screenshot(path=str(ARTIFACTS / "everyday-history-revert.png"))
        assert page.log.errors == []
    finally:
        page.context.close()


def test_zones_coloured_by_deviation_from_their_station_mean(page: Any, web_server: str) -> None:
    api = httpx.post(f"{web_server}/graphql", json={"query": """{ zones(first: 1000) { edges { node {
        code station { code } sizing { workload } } } } }"""}).json()["data"]["zones"]["edges"]
    by_station: dict[str, list[tuple[str, float]]] = {}
    for e in api:
        n = e["node"]
        by_station.setdefault(n["station"]["code"], []).append((n["code"], n["sizing"]["workload"]))
    expected = {}
    for zones in by_station.values():
        mean = sum(w for _, w in zones) / len(zones)
        for code, w in zones:
            expected[code] = (w - mean) / mean if mean > 0 else 0.0
    open_map(page)
    page.select_option("#zone-colour", "deviation")
    page.locator("[data-legend=zones]", has_text="工作量").wait_for(timeout=20_000)
    paint = page.evaluate("window.jurisgrid.map.getPaintProperty('zones-fill', 'fill-color')")
    colours = dict(zip(paint[2:-1:2], paint[3:-1:2], strict=True))
    bands = [(-1e9, -0.3, "#2166ac"), (-0.3, -0.1, "#92c5de"), (-0.1, 0.1, "#f7f7f7"),
             (0.1, 0.3, "#f4a582"), (0.3, 1e9, "#b2182b")]
    assert set(colours) == set(expected)
    for code, d in expected.items():
        assert colours[code] == next(c for lo, hi, c in bands if lo <= d < hi), code
    assert page.log.errors == []


def test_card_names_who_is_across_a_nearby_boundary(page: Any, web_db: Engine) -> None:
    with web_db.connect() as conn:  # the middle of an edge two zones share
        lon, lat, zones = conn.execute(text("""
            SELECT ST_X(p), ST_Y(p), ARRAY[z1.code, z2.code] FROM grid g
            JOIN grid h ON g.code < h.code AND g.geom && h.geom AND g.zone_id <> h.zone_id
            JOIN zone z1 ON z1.id = g.zone_id JOIN zone z2 ON z2.id = h.zone_id,
            LATERAL (SELECT ST_LineInterpolatePoint(
                ST_LineMerge(ST_Intersection(g.geom, h.geom)), 0.5) AS p) x
            WHERE ST_GeometryType(ST_LineMerge(ST_Intersection(g.geom, h.geom))) = 'ST_LineString'
            ORDER BY ST_Length(ST_Intersection(g.geom, h.geom)) DESC LIMIT 1""")).one()
    open_map(page)
    page.evaluate("([lon, lat]) => window.jurisgrid.map.jumpTo({center: [lon, lat], zoom: 18})", [lon, lat])
    page.wait_for_function("window.jurisgrid.map.loaded() && window.jurisgrid.map.areTilesLoaded()",
                           timeout=30_000)
    click_lonlat(page, lon, lat)
    page.wait_for_function("document.querySelector('#card')?.dataset.zone", timeout=20_000)
    own = page.locator("#card").get_attribute("data-zone")
    other = next(z for z in zones if z != own)
    page.locator("#card ul.neighbours li", has_text=other).wait_for(timeout=10_000)
    assert "边界另一侧" in page.locator("#card h3").inner_text()
    assert page.log.errors == []


def test_search_finds_an_address_typed_without_its_spaces(page: Any, web_db: Engine) -> None:
    with web_db.connect() as conn:
        code, address, lon, lat = conn.execute(text(
            "SELECT code, address, ST_X(geom), ST_Y(geom) FROM address_point "
            "WHERE address LIKE '% %' ORDER BY code LIMIT 1")).one()
    open_map(page)
    page.fill("#search", address.replace(" ", ""))
    hit = page.locator("#results li[data-i]", has_text=code).first
    hit.wait_for(timeout=10_000)
    hit.click()
    page.wait_for_function("document.querySelector('#card table') !== null", timeout=20_000)
    shown = page.locator("#card .coords").inner_text().split(",")
    assert abs(float(shown[0]) - lon) < 1e-5 and abs(float(shown[1].split("·")[0]) - lat) < 1e-5
    grid, _zone, _station = _expected_at(web_db, lon, lat)
    assert page.locator("#card").get_attribute("data-grid") == grid
    assert page.log.errors == []
