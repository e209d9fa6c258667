"""The compare view of the web map (issue 12 item 3), in Chromium: a station's stored plan next to
today's zones — the table agrees with comparePlans, the grids are coloured by their zone's
deviation under the plan and the grids it moves are outlined (checked against the API)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from jurisgrid.config import EditSettings
from tests.browser.conftest import ARTIFACTS, PageLog, browser, open_map, web_db, web_server  # noqa: F401
from tests.planning.helpers import border_moves, stored_plan

pytestmark = pytest.mark.e2e

Q = """query($p: [ID!], $s: String) { comparePlans(plans: $p, station: $s) { plans { plan name
  moves { grids } measures { measure worst } zones { zone gridCodes deviation { population } } }
  changedGrids { grid zones } } }"""


def _colour(d: float) -> str:
    """compare.js deviationColour, written out again: white at 0, blue below, red above, ±30 % full."""
    x = max(-1.0, min(1.0, d / 0.3))

    def mix(a: int, b: int) -> int:
        return int((a + (b - a) * abs(x)) + 0.5)  # Math.round for non-negative values

    if x < 0:
        return f"rgb({mix(255, 33)},{mix(255, 102)},{mix(255, 172)})"
    return f"rgb({mix(255, 178)},{mix(255, 24)},{mix(255, 43)})"


@pytest.fixture(scope="module")
def plan(web_db: Engine) -> dict[str, Any]:  # noqa: F811 — the fixture imported above
    with web_db.begin() as conn:
        station = conn.exec_driver_sql(
            "SELECT st.code FROM station st JOIN zone z ON z.station_id = st.id GROUP BY st.code "
            "HAVING count(*) >= 3 ORDER BY count(*), st.code LIMIT 1").scalar_one()
        moves = border_moves(conn, station)
        pid = stored_plan(conn, station, "browser compare", moves, settings=EditSettings())
    return {"id": str(pid), "station": station, "moves": moves}


def test_compare_view(browser: Any, web_server: str, plan: dict[str, Any]) -> None:  # noqa: F811
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=web_server)
    page = ctx.new_page()
    page.log = PageLog(page)
    try:
        api = httpx.post(f"{web_server}/graphql", json={"query": Q, "variables": {
            "p": [plan["id"]], "s": plan["station"]}}).json()["data"]["comparePlans"]
        open_map(page)
        page.fill("#search", plan["station"])
        page.locator("#results li[data-i]", has_text=plan["station"]).first.click()
        page.locator("#compare-plans").wait_for(timeout=60_000)
        page.select_option("#compare-plans", [plan["id"]])
        page.click("#compare-run")
        rows = page.locator(".compare-table tbody tr")
        rows.nth(1).wait_for(timeout=60_000)
        assert [r.get_attribute("data-plan") for r in rows.all()] == ["live", plan["id"]]
        mine = page.locator(f".compare-table tr[data-plan='{plan['id']}']")
        assert mine.locator("td[data-col=moved]").inner_text() == "2"
        worst = {m["measure"]: m["worst"] for m in api["plans"][1]["measures"]}
        shown = mine.locator("td[data-col=population]").inner_text()
        assert shown == f"{worst['population'] * 100:.1f}%"
        page.wait_for_function("document.body.dataset.compareShown !== undefined", timeout=10_000)
        assert page.evaluate("document.body.dataset.compareShown") == f"{plan['id']}:population:2"
        # the map: each grid in its zone's colour under the plan, the moved grids outlined
        fill = page.evaluate("window.jurisgrid.map.getPaintProperty('compare-fill', 'fill-color')")
        colour = dict(zip(fill[2:-1:2], fill[3:-1:2], strict=True))
        for z in api["plans"][1]["zones"]:
            for g in z["gridCodes"]:
                assert colour[g] == _colour(z["deviation"]["population"]), g
        moved = page.evaluate("window.jurisgrid.map.getFilter('compare-moved')")
        assert sorted(moved[2][1]) == sorted(plan["moves"]) == sorted(c["grid"] for c in api["changedGrids"])
        page.screenshot(path=str(ARTIFACTS / "compare-view.png"))
        page.click("#compare-clear")
        assert page.evaluate("window.jurisgrid.map.getLayer('compare-fill') === undefined")
        assert page.log.errors == [] and page.log.external == []
    finally:
        ctx.close()
