"""Accessibility and the offline GraphiQL: axe-core (from npm, copied by web/scripts/vendor.mjs)
reports no serious or critical violation on the main views at desktop and phone sizes, and
GraphiQL loads from the app's own files with no request leaving the machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.browser.conftest import ARTIFACTS, PageLog, open_map

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"


def _serious(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')) }));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def _page(browser: Any, web_server: str, width: int, height: int) -> Any:
    ctx = browser.new_context(viewport={"width": width, "height": height}, base_url=web_server,
                              is_mobile=width < 700, has_touch=width < 700)
    pg = ctx.new_page()
    pg.log = PageLog(pg)
    return pg


@pytest.mark.parametrize("size", [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_main_views_have_no_serious_accessibility_violations(browser: Any, web_server: str,
                                                             web_db: Engine, size: tuple[int, int]) -> None:
    with web_db.connect() as conn:
        station = conn.execute(text("SELECT code FROM station ORDER BY code LIMIT 1")).scalar_one()
    page = _page(browser, web_server, *size)
    try:
        open_map(page)
        assert _serious(page) == [], "map view"
        page.fill("#search", station)  # the results list, then the station panel with its table
        page.locator("#results li[data-i]").first.wait_for(timeout=10_000)
        assert _serious(page) == [], "search results"
        page.keyboard.press("Enter")
        page.locator("#panel h2").wait_for(timeout=20_000)
        page.wait_for_timeout(300)
        assert _serious(page) == [], "station panel"
        page.screenshot(path=str(ARTIFACTS / f"a11y-{size[0]}.png"))
        # the editor's panel and its history list
        from jurisgrid.auth.tokens import create_token

        with web_db.begin() as conn:
            token = create_token(conn, role="editor", label=f"a11y-{size[0]}")
        page.fill("#token", token)
        page.click("#login button[type=submit]")
        page.locator("#edit #edit-select").wait_for(timeout=20_000)
        page.click("#history summary")
        page.locator("#history-list ol, #history-list p").first.wait_for(state="attached", timeout=20_000)
        assert _serious(page) == [], "edit panel"
        page.screenshot(path=str(ARTIFACTS / f"a11y-{size[0]}-edit.png"))
        assert page.log.errors == []
    finally:
        page.context.close()


def test_graphiql_loads_offline_with_examples(browser: Any, web_server: str) -> None:
    page = _page(browser, web_server, 1280, 800)
    try:
        page.goto("/graphql", wait_until="load")  # a browser asks for HTML: GraphiQL
        page.locator(".graphiql-container").wait_for(timeout=30_000)
        tabs = page.locator(".graphiql-tab")
        assert tabs.count() >= 5  # a tab per common job
        page.locator(".graphiql-execute-button").click()
        page.wait_for_function(
            "document.querySelector('.result-window')?.innerText.includes('responsibleFor')", timeout=20_000)
        page.screenshot(path=str(ARTIFACTS / "graphiql.png"))
        assert page.log.external == [], page.log.external
        assert page.log.errors == []
    finally:
        page.context.close()
