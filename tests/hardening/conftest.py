"""Fixtures of the hardening tests (issue 16): committed tokens and an app with anonymous
reads off come from the auth tests; apps on their own engines are made per test module."""

from tests.auth.conftest import locked_client, make_token

__all__ = ["locked_client", "make_token"]
