"""``/`` (the web map) and ``/static/...`` (its files and the vendored MapLibre GL JS).

MapLibre comes from npm (``web/package-lock.json``); its built dist files are committed in
``static/vendor/maplibre-gl/`` and shipped in the package, so a plain ``pip install`` serves the
map with no npm. Should they be missing (a broken copy), ``/`` says so and how to fix it instead of
serving a page that cannot draw a map. No CDN: the page works offline.
"""

from __future__ import annotations

import html
import json
import mimetypes
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, HTMLResponse, Response

from jurisgrid.config import WebSettings
from jurisgrid.errors import NotFound

STATIC = Path(__file__).resolve().parent / "static"
VENDOR = STATIC / "vendor" / "maplibre-gl"
GRAPHIQL_PAGE = STATIC / "graphiql.html"  # GraphiQL with its scripts from static/vendor (no CDN)
VENDOR_FILES = ("maplibre-gl.js", "maplibre-gl.css")

router = APIRouter(include_in_schema=False)

_TYPES = {".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".html": "text/html; charset=utf-8",
          ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json",
          ".txt": "text/plain; charset=utf-8"}


def missing_assets() -> list[str]:
    """The vendored MapLibre files that are not there (empty when the map can load)."""
    return [f"vendor/maplibre-gl/{name}" for name in VENDOR_FILES if not (VENDOR / name).is_file()]


def maplibre_version() -> str | None:
    v = VENDOR / "VERSION"
    return v.read_text().strip() if v.is_file() else None


_MISSING_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>jurisgrid — map assets missing</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>The map's JavaScript is not installed</h1>
<p>MapLibre GL JS ships in the package (built from npm); these files are missing:</p>
<ul>{items}</ul>
<p>Reinstall jurisgrid, or rebuild them with <code>./dev web</code> (or
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>), and reload.
The API works without it: <a href="/graphql">/graphql</a>, <a href="/tiles">/tiles</a>,
<a href="/ogc">/ogc</a>.</p></body></html>"""


def basemap_json(web: WebSettings) -> str:
    """The optional base map for the page (``null`` when none is configured), as JSON safe inside
    a ``<script>`` element."""
    cfg = None if not web.basemap_url else {
        "url": web.basemap_url, "attribution": web.basemap_attribution, "tileSize": web.basemap_tile_size}
    return json.dumps(cfg, ensure_ascii=False).replace("<", "\\u003c")


@router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> Response:
    missing = missing_assets()
    if missing:
        items = "".join(f"<li><code>{html.escape(m)}</code></li>" for m in missing)
        return HTMLResponse(_MISSING_PAGE.format(items=items), status_code=503)
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    page = page.replace("{{maplibre_version}}", maplibre_version() or "")
    page = page.replace("{{basemap}}", basemap_json(request.app.state.settings.web))
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


@router.get("/static/{path:path}")
async def static(path: str) -> Response:
    """A file under static/ — never outside it (no ``..``, no absolute paths)."""
    target = (STATIC / path).resolve()
    if not target.is_relative_to(STATIC) or not target.is_file() or target.name.startswith("."):
        raise NotFound(f"no static file {path!r}")
    media = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    # revalidate (Last-Modified/ETag from FileResponse): after an upgrade the new files are used
    return FileResponse(target, media_type=media, headers={"Cache-Control": "no-cache"})
