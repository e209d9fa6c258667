"""Browser tests: the real server (as `jurisgrid serve` runs it) on the test database, driven by
Playwright through Debian's chromium (no browser download; the machine is offline).

Screenshots go to tests/browser/artifacts/ (git-ignored). A test is skipped — with the reason —
only when a part it needs is not there (chromium, the playwright package, a schema field).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.conftest import _server_url
from tests.dbs import seeded_database
from tests.server import running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def web_db(demo) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """A database of its own (the demo county at the test scale): the reassignment test
    commits real edits through the UI, which must not leak into the other tests' database."""
    server, _ = _server_url()
    with seeded_database(server, "jurisgrid_web", demo, pool_size=2) as eng:
        yield eng


@pytest.fixture(scope="module")
def web_server(web_db: Engine) -> Iterator[str]:
    with running_server(web_db.url.render_as_string(hide_password=False), workers=1) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Per module, not per session: the sync API keeps its event loop marked as running while
    Playwright is started, and later tests' asyncio.run() would refuse to run."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (./dev setup installs Debian's chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (dev extras: pip install -e '.[dev]')")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class PageLog:
    """What a page said: console errors, page errors, failed requests and tile responses."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.tiles: list[tuple[str, int]] = []
        self.external: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        page.on("request", self._request)

    def _failed(self, req: Any) -> None:
        # the map cancels requests for tiles it no longer needs (zooming, flying): not an error
        if "ERR_ABORTED" not in str(req.failure):
            self.errors.append(f"failed: {req.url} {req.failure}")

    def _request(self, req: Any) -> None:
        if not req.url.startswith(("http://127.0.0.1", "data:", "blob:")):
            self.external.append(req.url)

    def _response(self, res: Any) -> None:
        if "/tiles/" in res.url and res.url.split("?")[0].endswith(".mvt"):
            self.tiles.append((res.url, res.status))


@pytest.fixture
def page(browser: Any, web_server: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=web_server)
    pg = ctx.new_page()
    pg.log = PageLog(pg)
    yield pg
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    ctx.close()


def open_map(page: Any) -> None:
    """Load / and wait until the app has started and the map has drawn its tiles."""
    page.goto("/")
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=30_000)
    page.wait_for_function("window.jurisgrid.map.loaded() && window.jurisgrid.map.areTilesLoaded()",
                           timeout=30_000)


def zoom_to(page: Any, lon: float, lat: float, zoom: float) -> None:
    page.evaluate("([lon, lat, z]) => window.jurisgrid.map.jumpTo({center: [lon, lat], zoom: z})",
                  [lon, lat, zoom])
    page.wait_for_function("window.jurisgrid.map.loaded() && window.jurisgrid.map.areTilesLoaded()",
                           timeout=30_000)


def click_lonlat(page: Any, lon: float, lat: float) -> None:
    """A real mouse click on the map canvas where (lon, lat) is drawn."""
    box = page.locator("#map canvas").bounding_box()
    pt = page.evaluate("([lon, lat]) => window.jurisgrid.map.project([lon, lat])", [lon, lat])
    page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])
