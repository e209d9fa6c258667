"""The request path: ``Authorization`` header → :class:`Principal`, cheaply.

- No header and anonymous reads on: :data:`ANONYMOUS` at once — no database round trip, so
  the hot ``responsibleFor`` path pays only a header lookup.
- A bearer token: looked up in a per-process cache keyed by the token's SHA-256 (entries live
  ``settings.api.token_cache_ttl_s`` seconds); on a miss, one statement in a worker thread.
  A token revoked in this process is forgotten at once, elsewhere within the TTL.
"""

from __future__ import annotations

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from jurisgrid.auth.cache import cache_for
from jurisgrid.auth.principal import ANONYMOUS, Principal
from jurisgrid.auth.tokens import MAX_SECRET_LEN, authenticate, hash_secret
from jurisgrid.config import ApiSettings
from jurisgrid.db import read
from jurisgrid.errors import Unauthenticated


def bearer_secret(authorization: str) -> str:
    scheme, _, secret = authorization.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    if len(secret) > MAX_SECRET_LEN:
        raise Unauthenticated("invalid bearer token")
    return secret


def anonymous_or_refuse(api: ApiSettings) -> Principal:
    if api.anonymous_reads:
        return ANONYMOUS
    raise Unauthenticated("authentication required: send 'Authorization: Bearer <token>' "
                          "(anonymous reads are switched off)")


async def resolve_principal(engine: Engine, api: ApiSettings, authorization: str | None) -> Principal:
    """The principal of a request; raises :class:`Unauthenticated` for a missing (when
    anonymous reads are off), malformed, unknown or revoked token."""
    if not authorization:
        return anonymous_or_refuse(api)
    secret = bearer_secret(authorization)
    key = hash_secret(secret)
    cache = cache_for(engine)
    principal = cache.get(key)
    if principal is None:
        principal = await run_in_threadpool(_lookup, engine, secret)
        cache.put(key, principal, api.token_cache_ttl_s)
    return principal


def _lookup(engine: Engine, secret: str) -> Principal:
    # retried once on a connection dropped by a database restart; a database that does not
    # answer is ServiceUnavailable (503), never a raw 500 (issue 16)
    return read(engine, authenticate, secret)
