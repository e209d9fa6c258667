"""Fixtures shared by the planning tests: committed tokens (the auth tests' fixture), and a client
of an app over the plans tests' own database (tests that store plans commit them there)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.auth.conftest import make_token  # noqa: F401 — a fixture, used by name
from tests.plans.conftest import plan_engine, settings  # noqa: F401 — fixtures, used by name


@pytest.fixture(scope="session")
def plans_client(plan_engine: Engine) -> Iterator[Any]:  # noqa: F811 — the fixture above
    from fastapi.testclient import TestClient

    from jurisgrid.app import create_app
    from jurisgrid.config import Settings

    with TestClient(create_app(engine=plan_engine, settings=Settings())) as c:
        yield c
