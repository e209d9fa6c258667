"""Fixtures for the auth tests: committed tokens (deleted afterwards) and an app whose
anonymous reads are switched off."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, text

from jurisgrid.auth.tokens import IssuedToken, issue_token

MakeToken = Callable[..., IssuedToken]


@pytest.fixture
def make_token(engine: Engine) -> Iterator[MakeToken]:
    made: list[int] = []

    def make(role: str = "viewer", station_code: str | None = None, label: str | None = None) -> IssuedToken:
        with engine.begin() as conn:
            issued = issue_token(conn, role=role, station_code=station_code, label=label)
        made.append(issued.id)
        return issued

    yield make
    if made:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM api_token WHERE id = ANY(:ids)"), {"ids": made})


@pytest.fixture(scope="module")
def locked_client(engine: Engine):  # type: ignore[no-untyped-def]
    """A client of an app with anonymous reads off (the production setting)."""
    from fastapi.testclient import TestClient

    from jurisgrid.app import create_app
    from jurisgrid.config import ApiSettings, Settings

    settings = Settings()
    settings.api = ApiSettings(anonymous_reads=False)
    with TestClient(create_app(engine=engine, settings=settings)) as c:
        yield c


@pytest.fixture
def station_code(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT code FROM station ORDER BY code LIMIT 1")).scalar_one())
