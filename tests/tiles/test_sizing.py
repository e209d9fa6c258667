"""Zone class, workload and recommended officers in the zone tiles: the API's figures (GraphQL
``Zone.sizing``) for every zone of a tile, and a policy edit revalidating zone tiles only."""

from __future__ import annotations

from typing import Any

import pytest

from jurisgrid.analytics.policy import DEFAULT_POLICY_JSON
from tests.tiles.conftest import Exported, busiest_tile, decode

UPDATE = """mutation($c: JSON!, $r: String) { updateSizingPolicy(changes: $c, reason: $r) { version } }"""
ZONE = ("query($c: String!) { zone(code: $c) { sizing { zoneClass workload recommendedOfficers "
        "policyVersion } } }")
EVERYONE_FIRST = [{"zone_class": "三类", "lower": 0, "upper": 1},
                  {"zone_class": "二类", "lower": 1, "upper": 2},
                  {"zone_class": "一类", "lower": 2, "upper": None}]


@pytest.fixture(scope="module")
def admin(engine, client):  # type: ignore[no-untyped-def]
    from jurisgrid.auth.tokens import create_token

    with engine.begin() as conn:
        secret = create_token(conn, role="admin", label="tile sizing tests")

    def run(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        res = client.post("/graphql", json={"query": query, "variables": variables},
                          headers={"Authorization": f"Bearer {secret}"})
        body = res.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]

    yield run
    run(UPDATE, {"c": {"population_bands": DEFAULT_POLICY_JSON["population_bands"]},
                 "r": "tile tests: back to the defaults"})


def _zone_tile(client, z: int, x: int, y: int) -> tuple[list[dict[str, Any]], str]:  # type: ignore[no-untyped-def]
    res = client.get(f"/tiles/zones/{z}/{x}/{y}.mvt")
    assert res.status_code == 200, res.text
    return decode(res.content)["zones"]["features"], res.headers["etag"]


def _check_against_api(gql, feats: list[dict[str, Any]]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    classes = {}
    for f in feats:
        p = f["properties"]
        api = gql(ZONE, {"c": p["code"]})["data"]["zone"]["sizing"]
        assert p["class"] == api["zoneClass"], p["code"]
        assert p["workload"] == pytest.approx(api["workload"], abs=0.01), p["code"]
        assert p["recommended_officers"] == api["recommendedOfficers"], p["code"]
        classes[p["code"]] = p["class"]
    return classes


def test_zone_tiles_carry_the_api_class_and_a_policy_edit_revalidates_them_only(  # type: ignore[no-untyped-def]
        client, gql, admin, exported: Exported) -> None:
    z = 11
    x, y = busiest_tile(exported, z)
    feats, etag = _zone_tile(client, z, x, y)
    assert len(feats) >= 2, "the test tile should hold several zones"
    before = _check_against_api(gql, feats)
    others = {layer: client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt").headers["etag"]
              for layer in ("grids", "stations", "communities", "sectors")}
    assert client.get(f"/tiles/zones/{z}/{x}/{y}.mvt", headers={"If-None-Match": etag}).status_code == 304

    admin(UPDATE, {"c": {"population_bands": EVERYONE_FIRST}, "r": "tile tests: everyone is 一类"})
    # the client's copy is stale now: revalidation answers a new tile with a new ETag
    res = client.get(f"/tiles/zones/{z}/{x}/{y}.mvt", headers={"If-None-Match": etag})
    assert res.status_code == 200 and res.headers["etag"] != etag
    feats2, etag2 = _zone_tile(client, z, x, y)
    assert etag2 == res.headers["etag"]
    after = _check_against_api(gql, feats2)
    assert any(before[c] != after[c] for c in before), "the edit should have changed a class"
    assert all(after[c] == "一类" for c, f in zip(after, feats2, strict=True)
               if f["properties"]["population"] >= 2)
    for layer, tag in others.items():  # other layers hold no sizing: their tiles stay cached
        assert client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt").headers["etag"] == tag, layer

    admin(UPDATE, {"c": {"population_bands": DEFAULT_POLICY_JSON["population_bands"]}, "r": "back"})
    feats3, etag3 = _zone_tile(client, z, x, y)
    assert _check_against_api(gql, feats3) == before
    assert etag3 not in (etag, etag2)  # a new policy version, even with the old classes


def test_tilejson_advertises_the_sizing_fields(client) -> None:  # type: ignore[no-untyped-def]
    fields = client.get("/tiles/zones.json").json()["vector_layers"][0]["fields"]
    assert {"class", "workload", "recommended_officers"} <= set(fields)
    assert "一类" in fields["class"]


def test_the_sizing_key_is_remembered_with_the_engine(client, engine, database_url,  # type: ignore[no-untyped-def]
                                                       exported: Exported, monkeypatch) -> None:
    """Zone tiles read the figures under the key this process last computed for the app's
    engine: once known, the next zone tile computes nothing. The memo belongs to the engine
    (db.companion): another engine on the same database starts without it."""
    from jurisgrid.db import dispose, make_engine
    from jurisgrid.tiles import store
    from jurisgrid.tiles.sizing import KEY_SQL, known_key

    calls: list[str] = []
    real = store.compute

    def counting(conn):  # type: ignore[no-untyped-def]
        calls.append(key := real(conn))
        return key

    monkeypatch.setattr(store, "compute", counting)
    z = 11
    x, y = busiest_tile(exported, z)
    assert client.get(f"/tiles/zones/{z}/{x}/{y}.mvt").status_code == 200
    with engine.connect() as conn:
        current = conn.exec_driver_sql(f"SELECT {KEY_SQL}").scalar_one()
    assert known_key(engine) == current
    before = len(calls)
    assert client.get(f"/tiles/zones/{z}/{x + 1}/{y}.mvt").status_code == 200
    assert len(calls) == before  # the known key served: nothing computed again
    other = make_engine(database_url)
    try:
        assert known_key(other) is None
    finally:
        dispose(other)
