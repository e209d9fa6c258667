"""Bearer tokens: a random secret handed out once; only its SHA-256 is stored.

The secret is ``jg_`` + 43 characters of ``secrets.token_urlsafe(32)`` (256 random bits), so a
plain, unsalted SHA-256 is enough: nobody can guess a preimage of a 256-bit random string, and
the hash doubles as the lookup key (unique index) and as the key of the per-process cache.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, text, update

from jurisgrid.auth.cache import forget
from jurisgrid.auth.principal import Principal, Role
from jurisgrid.errors import InvalidInput, NotFound, Unauthenticated
from jurisgrid.models import county_scope
from jurisgrid.models.scheduled import PENDING
from jurisgrid.models.source import LIVE
from jurisgrid.models.tables import api_token, county, station

PREFIX = "jg_"
MAX_SECRET_LEN = 200  # anything longer is not one of ours: refused without a lookup


@dataclass(frozen=True)
class IssuedToken:
    id: int
    secret: str


@dataclass(frozen=True)
class TokenInfo:
    id: int
    role: Role
    station_code: str | None
    label: str | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    county_code: str | None = None

    @property
    def actor(self) -> str:
        return actor_name(self.id, self.label)


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def actor_name(token_id: int, label: str | None) -> str:
    """What revisions record as the actor: the label (if any) and the token id, e.g. ``ops-gis#3``."""
    return f"{label}#{token_id}" if label else f"token#{token_id}"


def parse_role(role: str | Role) -> Role:
    try:
        return Role(str(role).lower())
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}; use one of {', '.join(r.value for r in Role)}") from None


def issue_token(conn: Connection, *, role: str | Role, station_code: str | None = None,
                label: str | None = None, county_code: str | None = None) -> IssuedToken:
    """Store a new token and return its id and secret (the secret is not stored: show it once).
    It may be scoped to a station or to a county (not both: the station names its county)."""
    r = parse_role(role)
    if station_code is not None and county_code is not None:
        raise InvalidInput("scope a token to a station or to a county, not both",
                           details=[{"station": station_code, "county": county_code}])
    if county_code is not None and conn.execute(
            select(county.c.id).where(county.c.code == county_code)).first() is None:
        raise NotFound(f"no county with code {county_code!r}", details=[{"county": county_code}])
    if station_code is not None and conn.execute(
            select(station.c.id).where(station.c.code == station_code)).first() is None:
        raise NotFound(f"no station with code {station_code!r}", details=[{"station": station_code}])
    secret = new_secret()
    token_id = conn.execute(insert(api_token).values(
        token_hash=hash_secret(secret), role=r.value, station_code=station_code,
        county_code=county_code, label=label or None).returning(api_token.c.id)).scalar_one()
    return IssuedToken(id=token_id, secret=secret)


def create_token(conn: Connection, *, role: str | Role, station_code: str | None = None,
                 label: str | None = None, county_code: str | None = None) -> str:
    """The contract's entry point: the secret of a new token (returned once, only a hash kept)."""
    return issue_token(conn, role=role, station_code=station_code, label=label,
                       county_code=county_code).secret


def authenticate(conn: Connection, secret: str) -> Principal:
    """The principal of a live token, in one statement (which also stamps ``last_used_at``).

    Raises :class:`Unauthenticated` (a Forbidden, HTTP 401) for an unknown or revoked token —
    the message does not say which.
    """
    if not secret or len(secret) > MAX_SECRET_LEN:
        raise Unauthenticated("invalid bearer token")
    row = conn.execute(
        update(api_token)
        .where(api_token.c.token_hash == hash_secret(secret), api_token.c.revoked_at.is_(None))
        .values(last_used_at=func.now())
        .returning(api_token.c.id, api_token.c.role, api_token.c.station_code, api_token.c.label,
                   api_token.c.county_code)
    ).first()
    if row is None:
        raise Unauthenticated("unknown or revoked bearer token")
    return _with_county(conn, Principal(actor=actor_name(row.id, row.label), role=Role(row.role),
                                        station_code=row.station_code, token_id=row.id),
                        row.county_code)


def _with_county(conn: Connection, p: Principal, county_code: str | None) -> Principal:
    """``p`` scoped to ``county_code`` (and its stations as they are now), or ``p``."""
    if county_code is None:
        return p
    return replace(p, county_code=county_code,
                   county_stations=county_scope.station_codes(conn, LIVE, county_code))


def with_token_scope(conn: Connection, p: Principal) -> Principal:
    """``p`` with the county scope of the token it came from (scheduled edits store the
    station scope and the token; the county scope is read from the token when they apply)."""
    if p.token_id is None or p.county_code is not None:
        return p
    code = conn.execute(select(api_token.c.county_code)
                        .where(api_token.c.id == p.token_id)).scalar_one_or_none()
    return _with_county(conn, p, code)


def revoke(conn: Connection, token_id: int) -> TokenInfo:
    """Revoke a token (idempotent: a revoked token keeps its first revocation time).

    This process forgets the token at once; other processes within ``token_cache_ttl_s``.
    The edits it scheduled that are still pending are cancelled in the same transaction
    (``cancel_reason`` "token revoked"): a revoked token changes nothing, not even later
    (editing/schedule.py also refuses one whose token was revoked, should any slip through)."""
    res = conn.execute(
        update(api_token).where(api_token.c.id == token_id)
        .values(revoked_at=func.coalesce(api_token.c.revoked_at, func.now()))
        .returning(api_token.c.token_hash)
    ).first()
    if res is None:
        raise NotFound(f"no token with id {token_id}", details=[{"token": token_id}])
    conn.execute(text(
        "UPDATE scheduled_edit SET cancelled_at = clock_timestamp(), cancelled_by = 'system', "
        "cancel_reason = 'token revoked', status = 'cancelled' "
        f"WHERE token_id = :t AND {PENDING}"), {"t": token_id})
    forget(res.token_hash)
    return get_token(conn, token_id)


def get_token(conn: Connection, token_id: int) -> TokenInfo:
    rows = _infos(conn, api_token.c.id == token_id)
    if not rows:
        raise NotFound(f"no token with id {token_id}", details=[{"token": token_id}])
    return rows[0]


def list_tokens(conn: Connection, *, include_revoked: bool = True) -> list[TokenInfo]:
    return _infos(conn, None if include_revoked else api_token.c.revoked_at.is_(None))


def _infos(conn: Connection, where: object) -> list[TokenInfo]:
    q = select(api_token.c.id, api_token.c.role, api_token.c.station_code, api_token.c.label,
               api_token.c.created_at, api_token.c.revoked_at, api_token.c.last_used_at,
               api_token.c.county_code)
    if where is not None:
        q = q.where(where)  # type: ignore[arg-type]
    return [TokenInfo(id=r.id, role=Role(r.role), station_code=r.station_code, label=r.label,
                      created_at=r.created_at, revoked_at=r.revoked_at, last_used_at=r.last_used_at,
                      county_code=r.county_code)
            for r in conn.execute(q.order_by(api_token.c.id))]
