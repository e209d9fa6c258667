"""The per-process cache of verified tokens: token hash → principal, for a short TTL.

One cache per engine (tests use several databases in one process). ``forget`` drops a hash
from all of them: ``tokens.revoke`` calls it so a revocation takes effect at once here.
"""

from __future__ import annotations

import time
import weakref

from sqlalchemy import Engine

from jurisgrid.auth.principal import Principal
from jurisgrid.db import companion

MAX_ENTRIES = 10_000


class PrincipalCache:
    """Token hash → (principal, expiry). Thread-safe enough: dict operations are atomic."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Principal, float]] = {}

    def get(self, token_hash: str) -> Principal | None:
        hit = self._entries.get(token_hash)
        if hit is None:
            return None
        if hit[1] < time.monotonic():
            self._entries.pop(token_hash, None)
            return None
        return hit[0]

    def put(self, token_hash: str, principal: Principal, ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[token_hash] = (principal, time.monotonic() + ttl_s)

    def forget(self, token_hash: str) -> None:
        self._entries.pop(token_hash, None)

    def clear(self) -> None:
        self._entries.clear()


_all: weakref.WeakSet[PrincipalCache] = weakref.WeakSet()


def _new_cache() -> PrincipalCache:
    cache = PrincipalCache()
    _all.add(cache)
    return cache


def cache_for(engine: Engine) -> PrincipalCache:
    return companion(engine, "principal-cache", _new_cache)


def forget(token_hash: str) -> None:
    """Drop a token from every cache of this process (called by ``tokens.revoke``)."""
    for cache in list(_all):
        cache.forget(token_hash)
