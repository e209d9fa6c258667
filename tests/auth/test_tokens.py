"""Tokens on a real PostGIS: hashed at rest, authenticated, revoked; bad input writes nothing."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import Engine, text

from jurisgrid.auth import Role
from jurisgrid.auth.tokens import authenticate, create_token, issue_token, list_tokens, revoke
from jurisgrid.errors import Forbidden, InvalidInput, NotFound, Unauthenticated


def _count(conn) -> int:  # type: ignore[no-untyped-def]
    return int(conn.execute(text("SELECT count(*) FROM api_token")).scalar_one())


def test_create_stores_only_a_hash_and_authenticates(engine: Engine, station_code: str) -> None:
    with engine.connect() as conn, conn.begin():
        secret = create_token(conn, role="editor", station_code=station_code, label="gis-office")
        assert secret.startswith("jg_") and len(secret) >= 40
        row = conn.execute(text("SELECT * FROM api_token WHERE token_hash = :h"),
                           {"h": hashlib.sha256(secret.encode()).hexdigest()}).mappings().one()
        assert secret not in {str(v) for v in row.values()}
        assert row["role"] == "editor" and row["station_code"] == station_code
        assert row["last_used_at"] is None and row["revoked_at"] is None
        p = authenticate(conn, secret)
        assert p.role is Role.EDITOR and p.station_code == station_code
        assert p.actor == f"gis-office#{row['id']}"
        assert conn.execute(text("SELECT last_used_at IS NOT NULL FROM api_token WHERE id = :i"),
                            {"i": row["id"]}).scalar_one()
        conn.rollback()


def test_two_tokens_have_different_secrets(engine: Engine) -> None:
    with engine.connect() as conn, conn.begin():
        a, b = create_token(conn, role="viewer"), create_token(conn, role="viewer")
        assert a != b
        assert authenticate(conn, a).actor != authenticate(conn, b).actor
        conn.rollback()


@pytest.mark.parametrize("secret", ["", "jg_nope", "x" * 500])
def test_unknown_secret_is_refused(engine: Engine, secret: str) -> None:
    with engine.connect() as conn, pytest.raises(Unauthenticated) as exc:
        authenticate(conn, secret)
    assert isinstance(exc.value, Forbidden) and exc.value.http_status == 401


def test_revoked_token_is_refused_and_revoke_is_idempotent(engine: Engine) -> None:
    with engine.connect() as conn, conn.begin():
        issued = issue_token(conn, role="admin")
        assert authenticate(conn, issued.secret).role is Role.ADMIN
        first = revoke(conn, issued.id)
        assert first.revoked_at is not None
        with pytest.raises(Unauthenticated, match="unknown or revoked"):
            authenticate(conn, issued.secret)
        assert revoke(conn, issued.id).revoked_at == first.revoked_at
        assert [t.id for t in list_tokens(conn, include_revoked=False)].count(issued.id) == 0
        assert [t.id for t in list_tokens(conn)].count(issued.id) == 1
        conn.rollback()


def test_bad_input_writes_nothing(engine: Engine) -> None:
    with engine.connect() as conn:
        before = _count(conn)
        with pytest.raises(InvalidInput, match="unknown role 'boss'"):
            create_token(conn, role="boss")
        with pytest.raises(NotFound, match="no station with code 'NOPE'"):
            create_token(conn, role="editor", station_code="NOPE")
        with pytest.raises(NotFound, match="no token with id"):
            revoke(conn, 10**9)
        conn.commit()
        assert _count(conn) == before


def test_database_refuses_a_scope_to_an_unknown_station(engine: Engine) -> None:
    """The FK holds even for writers that bypass create_token."""
    from sqlalchemy.exc import IntegrityError

    with engine.connect() as conn, pytest.raises(IntegrityError):
        conn.execute(text("INSERT INTO api_token (token_hash, role, station_code) "
                          "VALUES (repeat('a', 64), 'viewer', 'NOPE')"))
