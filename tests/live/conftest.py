"""The auth fixtures (committed tokens, an app with anonymous reads off) for the live tests."""

from tests.auth.conftest import locked_client, make_token

__all__ = ["locked_client", "make_token"]
