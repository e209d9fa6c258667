"""Fixtures shared by the planning tests: committed tokens (the auth tests' fixture)."""

from tests.auth.conftest import make_token  # noqa: F401 — a fixture, used by name
