"""Single tiles are answered in front of FastAPI's routing (routes/tiles.TileLane): the same
answers, access rule, errors and documentation as any route, and every other path untouched."""

from __future__ import annotations

from tests.tiles.conftest import Exported, busiest_tile, decode


def test_get_and_head_answer_the_tile_with_its_etag(client, exported: Exported) -> None:  # type: ignore[no-untyped-def]
    x, y = busiest_tile(exported, 12)
    got = client.get(f"/tiles/grids/12/{x}/{y}.mvt")
    assert got.status_code == 200 and got.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert decode(got.content)["grids"]["features"]
    head = client.head(f"/tiles/grids/12/{x}/{y}.mvt")
    assert head.status_code == 200 and head.headers["etag"] == got.headers["etag"]
    assert head.content == b""
    post = client.post(f"/tiles/grids/12/{x}/{y}.mvt")
    assert post.status_code == 405 and post.headers["allow"] == "GET, HEAD"
    assert post.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_paths_that_only_look_like_tiles_go_on_to_the_app(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/tiles/grids/12/1/2.mvt/extra").status_code == 404
    assert client.get("/tiles/grids.json").json()["vector_layers"][0]["id"] == "grids"
    assert client.get("/tiles").status_code == 200


def test_openapi_documents_the_tile_route(client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/tiles/{layer}/{z}/{x}/{y}.mvt"]["get"]
    assert [p["name"] for p in op["parameters"]] == ["layer", "z", "x", "y", "crs", "asOf", "plan",
                                                     "properties", "county"]
    assert "application/vnd.mapbox-vector-tile" in op["responses"]["200"]["content"]
    assert "/tiles/{layer}.json" in doc["paths"]
