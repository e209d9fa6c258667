"""Who may see the pages around the API, and how shared caches may keep answers.

Applied by the edge middleware (routes/edge.py).

**The pages follow the anonymous-read setting.** With ``JURISGRID_ANONYMOUS_READS=false`` the
web map (``/``), GraphiQL (``GET /graphql``), ``/docs``, ``/docs/oauth2-redirect``, ``/redoc``
and ``/openapi.json`` answer 401 without a valid bearer token, like the data routes. The map
page does not ask for a token before it loads its data, so it is closed too rather than left
open as an empty shell; its ``/static`` files (code, no data) stay open. A browser cannot send
a bearer token on navigation: in production, put an authenticating proxy in front, or open
the map only where anonymous reads are on.

**Answers under a token are private.** A response to a request that carried an
``Authorization`` header gets ``Cache-Control: private`` (a ``public`` directive is replaced;
``max-age``/``no-cache`` kept) and ``Vary: Authorization``: a shared cache must not hand a
token holder's answer — a past-``asOf`` tile is cacheable for a day — to anyone else. Every
other answer of the data routes gets ``Vary: Authorization`` too, so a cache keyed on the URL
alone never answers a request carrying a token with an anonymous copy.
``Access-Control-Allow-Origin: *`` stays: bearer tokens are not ambient credentials (no
cookies), so a foreign page can read nothing it could not fetch with the token itself.
"""

from __future__ import annotations

from starlette.types import Scope

# pages that show the API or the map: closed like the data when anonymous reads are off
PAGES = frozenset({"/", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
# answers that never depend on the caller: no Vary
UNVARIED_PREFIXES = ("/static/", "/healthz")


def private_cache_control(value: str | None) -> str:
    """``value`` for an answer under a token: ``public`` dropped, ``private`` first."""
    kept = [d.strip() for d in (value or "").split(",")
            if d.strip() and d.strip().lower() not in ("public", "private")]
    return ", ".join(["private", *kept])


def with_policy(raw: list[tuple[bytes, bytes]], *, under_token: bool) -> list[tuple[bytes, bytes]]:
    """Raw response headers with ``Vary: Authorization`` (and, for an answer under a token, a
    private ``Cache-Control``). On raw bytes: this runs for every response, the hot ones too."""
    out: list[tuple[bytes, bytes]] = []
    vary = cache = False
    for name, value in raw:
        if name.lower() == b"vary":
            vary = True
            fields = [v.strip().lower() for v in value.split(b",")]
            if b"authorization" not in fields and b"*" not in fields:
                value = value + b", Authorization"
        elif under_token and name.lower() == b"cache-control":
            cache = True
            value = private_cache_control(value.decode("latin-1")).encode("latin-1")
        out.append((name, value))
    if not vary:
        out.append((b"vary", b"Authorization"))
    if under_token and not cache:
        out.append((b"cache-control", b"private"))
    return out


def gated(scope: Scope) -> bool:
    """The request asks for a page that follows the anonymous-read setting."""
    path = scope["path"]
    return path in PAGES or (path == "/graphql" and scope["method"] == "GET")
