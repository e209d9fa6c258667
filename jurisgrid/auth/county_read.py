"""The county of a tile or OGC request (issue 11, many counties): ``?county=`` checked against
the counties there are, narrowed by a county-scoped token (auth/checks.county_in_scope).

Tiles are the hot path, so the known codes are kept per engine and read again only when a code
is not among them (a county created since): an unknown code costs one small statement, a known
one none.
"""

from __future__ import annotations

import threading
import weakref

from sqlalchemy import Connection, Engine, text

from jurisgrid.auth.checks import county_in_scope
from jurisgrid.auth.principal import Principal
from jurisgrid.db import read
from jurisgrid.errors import InvalidInput

_CODES_SQL = text("SELECT code FROM county ORDER BY code")
_known: weakref.WeakKeyDictionary[Engine, frozenset[str]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def county_codes(conn: Connection) -> list[str]:
    return [c for (c,) in conn.execute(_CODES_SQL)]


def require_county(codes: list[str] | frozenset[str], code: str) -> str:
    """``code`` when it is one of ``codes``, else InvalidInput naming it (a typo in
    ``?county=`` is a 400, not an empty map)."""
    if code not in codes:
        shown = sorted(codes)[:20]
        raise InvalidInput(f"unknown county {code[:64]!r}; counties: {', '.join(shown) or 'none'}",
                           details=[{"county": code[:64]}])
    return code


def known_county(engine: Engine, code: str) -> str:
    """:func:`require_county` against the engine's counties, from memory when it knows ``code``
    (to be called in a worker thread: it may read)."""
    if code in _known.get(engine, frozenset()):
        return code
    codes = frozenset(read(engine, county_codes))
    with _lock:
        _known[engine] = codes
    return require_county(codes, code)


def request_county(engine: Engine, principal: Principal, asked: str | None) -> str | None:
    """The county a read is restricted to: ``asked`` (``?county=``; must exist, else
    InvalidInput) narrowed by the principal's county scope (another county: Forbidden); None:
    the whole deployment."""
    if asked is not None:
        known_county(engine, asked)
    return county_in_scope(principal, asked)


def is_known(engine: Engine, code: str | None) -> bool:
    """Whether :func:`request_county` can answer ``code`` without a statement (absent, or a
    code already known): then it may run on the event loop."""
    return code is None or code in _known.get(engine, frozenset())
