"""Editing tests commit (that is what they test), so they get their own throwaway database,
migrated and seeded with the small demo county, apart from the shared read-only one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from jurisgrid.auth.principal import Principal, Role
from jurisgrid.config import EditSettings
from jurisgrid.db import dispose, make_engine
from tests.conftest import _server_url
from tests.dbs import scratch_database


@pytest.fixture(scope="session")
def edit_url() -> Iterator[str]:
    server, _ = _server_url()
    with scratch_database(server, "jurisgrid_test_edit") as url:
        yield url


@pytest.fixture(scope="session")
def edit_engine(edit_url: str, demo) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    from jurisgrid.models.migrate import upgrade
    from jurisgrid.seed.load import load

    eng = make_engine(edit_url, pool_size=4)
    upgrade(eng)
    load(eng, demo)
    yield eng
    dispose(eng)


ADMIN = Principal(actor="test-admin", role=Role.ADMIN, station_code=None)
EDITOR = Principal(actor="test-editor", role=Role.EDITOR, station_code=None)
VIEWER = Principal(actor="test-viewer", role=Role.VIEWER, station_code=None)


@pytest.fixture(scope="session")
def edit_settings() -> EditSettings:
    return EditSettings()


@pytest.fixture(scope="session")
def edit_client(edit_engine: Engine):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from jurisgrid.app import create_app
    from jurisgrid.config import Settings

    with TestClient(create_app(engine=edit_engine, settings=Settings())) as c:
        yield c


@pytest.fixture(scope="session")
def tokens(edit_engine: Engine) -> dict[str, str]:
    """Bearer secrets: admin, editor (county-wide), viewer, and an editor scoped to the first station."""
    from jurisgrid.auth.tokens import create_token

    with edit_engine.begin() as conn:
        first = conn.execute(text("SELECT code FROM station ORDER BY code LIMIT 1")).scalar_one()
        return {
            "admin": create_token(conn, role="admin", label="t-admin"),
            "editor": create_token(conn, role="editor", label="t-editor"),
            "viewer": create_token(conn, role="viewer", label="t-viewer"),
            "scoped": create_token(conn, role="editor", station_code=first, label="t-scoped"),
            "scoped_station": first,
        }


@pytest.fixture(scope="session")
def egql(edit_client, tokens):  # type: ignore[no-untyped-def]
    """POST GraphQL to the editing database as ``who`` (a key of ``tokens``)."""

    def run(query: str, variables: dict | None = None, who: str = "editor") -> dict:
        res = edit_client.post("/graphql", json={"query": query, "variables": variables or {}},
                               headers={"Authorization": f"Bearer {tokens[who]}"})
        assert res.status_code == 200, res.text
        body = res.json()
        assert "errors" not in body, body
        return body["data"]

    return run
