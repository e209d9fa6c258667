"""OGC API bad input (issue 16): answered 400 with a JSON error, never 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize("path", [
    "/ogc/collections/grids/items?offset=99999999999999999999",
    "/ogc/collections/grids/items?offset=1000000001",
    "/ogc/collections/grids/items?limit=99999999999999999999999",
    "/ogc/collections/grids/items/abc%00def",
    "/ogc/collections/zones/items/abc%01def",
    "/ogc/collections/grids/items/" + "9" * 65,
    "/ogc/collections/grids/items?bbox=1%00,2,3,4",
    "/ogc/collections/grids/items?datetime=2020-01-01%00",
])
def test_bad_input_is_400_json(client: TestClient, path: str) -> None:
    c = TestClient(client.app, raise_server_exceptions=False)
    res = c.get(path)
    assert res.status_code == 400, (res.status_code, res.text)
    assert res.headers["content-type"].startswith("application/json")
    assert res.json()["error"]["code"] == "BAD_USER_INPUT"


def test_large_but_valid_offset_is_an_empty_page(client: TestClient) -> None:
    res = client.get("/ogc/collections/grids/items?offset=1000000000")
    assert res.status_code == 200
    assert res.json()["numberReturned"] == 0 and res.json()["features"] == []
