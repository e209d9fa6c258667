"""The map page: the optional base map comes from the settings (off by default: the page works
offline), written into the page as JSON that cannot close its script element."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from jurisgrid.app import create_app
from jurisgrid.config import Settings

BASEMAP = re.compile(r'<script type="application/json" id="basemap">(.*?)</script>', re.S)


def _basemap(page: str) -> object:
    m = BASEMAP.search(page)
    assert m, "the page carries its base-map configuration"
    return json.loads(m.group(1))


def test_no_base_map_by_default(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/")
    assert r.status_code == 200
    assert _basemap(r.text) is None
    assert "{{" not in r.text  # every placeholder filled


def test_a_configured_base_map_reaches_the_page_safely(engine: Engine) -> None:
    settings = Settings()
    settings.web.basemap_url = "https://t0.tianditu.gov.cn/vec_w/wmts?tk=KEY&x={x}&y={y}&l={z}"
    settings.web.basemap_attribution = "天地图 </script><b>"
    with TestClient(create_app(engine=engine, settings=settings)) as c:
        page = c.get("/").text
    cfg = _basemap(page)
    assert cfg == {"url": settings.web.basemap_url, "attribution": "天地图 </script><b>", "tileSize": 256}
    assert page.count("</script>") == page.count("<script")  # the attribution closed nothing
