"""The per-process cache of verified tokens: token hash → principal, for a short TTL.

One cache per engine (tests use several databases in one process). ``forget`` drops a hash
from all of them: ``tokens.revoke`` calls it so a revocation takes effect at once here.
"""

from __future__ import annotations

import threading
import time
import weakref

from sqlalchemy import Engine

from jurisgrid.auth.principal import Principal

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


_caches: weakref.WeakKeyDictionary[Engine, PrincipalCache] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def cache_for(engine: Engine) -> PrincipalCache:
    cache = _caches.get(engine)
    if cache is None:
        with _lock:
            cache = _caches.setdefault(engine, PrincipalCache())
    return cache


def forget(token_hash: str) -> None:
    """Drop a token from every cache of this process (called by ``tokens.revoke``)."""
    for cache in list(_caches.values()):
        cache.forget(token_hash)
