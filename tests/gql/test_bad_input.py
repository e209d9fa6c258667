"""Bad input gets a clear GraphQL error — and nothing else happens (no data, no write)."""

from __future__ import annotations

import pytest
from sqlalchemy import text


def _error(out: dict) -> dict:
    assert out.get("errors"), out
    return out["errors"][0]


def _versions(engine) -> tuple:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT (SELECT version FROM data_version), (SELECT count(*) FROM grid),"
            " (SELECT count(*) FROM address_point)")).one())


@pytest.mark.parametrize("lon,lat,words", [
    (181.0, 30.0, "longitude"), (-180.5, 30.0, "longitude"),
    (106.9, 91.0, "latitude"), (106.9, -90.5, "latitude"),
])
def test_out_of_range(gql, engine, lon: float, lat: float, words: str) -> None:  # type: ignore[no-untyped-def]
    before = _versions(engine)
    out = gql("query($lon: Float!, $lat: Float!) { responsibleFor(lon: $lon, lat: $lat) "
              "{ grid { code } } }", {"lon": lon, "lat": lat})
    err = _error(out)
    assert words in err["message"] and err["extensions"]["code"] == "BAD_USER_INPUT"
    assert out["data"] is None
    assert _versions(engine) == before


def test_nan_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    # JSON has no NaN; clients that send it anyway (Python's json does) get an error, not a crash
    body = '{"query": "query($lon: Float!) { responsibleFor(lon: $lon, lat: 30) { grid { code } } }",' \
           ' "variables": {"lon": NaN}}'
    r = client.post("/graphql", content=body, headers={"content-type": "application/json"})
    if r.status_code == 400:   # refused while parsing the body: JSON has no NaN
        assert "JSON" in r.text
        return
    out = r.json()
    assert out.get("errors") and not (out.get("data") or {}).get("responsibleFor")


def test_nan_in_batch(client) -> None:  # type: ignore[no-untyped-def]
    body = ('{"query": "query($p: Coordinates!) { responsibleForMany(points: $p) { count } }",'
            ' "variables": {"p": [[106.9, 30.8], [106.9, Infinity]]}}')
    r = client.post("/graphql", content=body, headers={"content-type": "application/json"})
    if r.status_code == 400:
        assert "JSON" in r.text
        return
    out = r.json()
    assert out.get("errors") and not (out.get("data") or {}).get("responsibleForMany")
    assert "point 1" in out["errors"][0]["message"]


def test_unknown_crs(gql) -> None:  # type: ignore[no-untyped-def]
    err = _error(gql("{ responsibleFor(lon: 106.9, lat: 30.8, crs: EPSG3857) { grid { code } } }"))
    assert "EPSG3857" in err["message"] and "Crs" in err["message"]


@pytest.mark.parametrize("geojson,words", [
    ({"type": "Polygon"}, "coordinates"),
    ({"type": "Polygonal", "coordinates": []}, "unknown GeoJSON geometry type"),
    ({"type": "Polygon", "coordinates": [[[106.9, 30.8], [107.0, 30.8]]]}, "invalid Polygon"),
    ({"type": "Polygon", "coordinates": [[[106.9, 30.8], [107.0, 30.9], [107.0, 30.8],
                                           [106.9, 30.9], [106.9, 30.8]]]}, "invalid geometry"),
    ("POLYGON((0 0, 1 0, 1 1, 0 0))", "string"),
    ({"type": "Point", "coordinates": ["a", 1]}, "array"),
])
def test_malformed_geojson_filter(gql, geojson, words: str) -> None:  # type: ignore[no-untyped-def]
    err = _error(gql("query($g: GeoJSON) { grids(intersects: $g) { totalCount } }", {"g": geojson}))
    assert words in err["message"], err["message"]
    assert err["extensions"]["code"] == "BAD_USER_INPUT"


def test_too_many_points(gql) -> None:  # type: ignore[no-untyped-def]
    pts = [[106.9, 30.8]] * 100_001
    err = _error(gql("query($p: Coordinates!) { responsibleForMany(points: $p) { count } }",
                     {"p": pts}))
    assert "too many points" in err["message"] and "100000" in err["message"]


@pytest.mark.parametrize("pts,words", [
    ([[106.9]], "pairs"), ("nope", "array"), ([[106.9, "x"]], "point 0"), ([[1, 2, 3]], "pairs"),
])
def test_malformed_points(gql, pts, words: str) -> None:  # type: ignore[no-untyped-def]
    err = _error(gql("query($p: Coordinates!) { responsibleForMany(points: $p) { count } }",
                     {"p": pts}))
    assert words in err["message"], err["message"]


def test_page_size_cap(gql) -> None:  # type: ignore[no-untyped-def]
    err = _error(gql("{ grids(first: 100000) { totalCount } }"))
    assert "page-size cap" in err["message"]
    assert "first must be" in _error(gql("{ grids(first: 0) { totalCount } }"))["message"]


def test_bad_cursor(gql) -> None:  # type: ignore[no-untyped-def]
    assert "cursor" in _error(gql('{ grids(after: "!!") { totalCount } }'))["message"]


def test_bad_bbox(gql) -> None:  # type: ignore[no-untyped-def]
    assert "4 numbers" in _error(gql("{ grids(bbox: [1, 2, 3]) { totalCount } }"))["message"]
    assert "minimum" in _error(gql("{ grids(bbox: [107, 31, 106, 30]) { totalCount } }"))["message"]


def test_depth_limit(gql) -> None:  # type: ignore[no-untyped-def]
    deep = "{ grids { nodes { zone { station { zones { grids { zone { station { zones { grids " \
           "{ zone { station { zones { code } } } } } } } } } } } } } }"
    assert "exceeds maximum operation depth" in _error(gql(deep))["message"]


def test_alias_limit(gql) -> None:  # type: ignore[no-untyped-def]
    q = "{ " + " ".join(f"a{i}: county {{ code }}" for i in range(40)) + " }"
    assert "aliases" in _error(gql(q))["message"].lower()


def test_token_limit(gql) -> None:  # type: ignore[no-untyped-def]
    q = "{ county { " + " ".join(["code"] * 25_000) + " } }"
    assert "token" in _error(gql(q))["message"].lower()


def test_unexpected_errors_are_masked(gql, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from jurisgrid.gql import query
    from jurisgrid.models import listing

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals")

    monkeypatch.setattr(listing, "count", boom)
    # a list the database writes as JSON (models/json_lists.py) is read through page_json
    monkeypatch.setattr(query, "page_json", boom)
    err = _error(gql("{ grids { totalCount } }"))
    assert err["message"] == "Unexpected error." and "secret" not in str(err)
    assert err["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


def test_out_of_range_point_in_batch(gql) -> None:  # type: ignore[no-untyped-def]
    err = _error(gql("query($p: Coordinates!) { responsibleForMany(points: $p) { count } }",
                     {"p": [[106.9, 30.8], [106.9, 95.0]]}))
    assert "point 1" in err["message"] and "latitude" in err["message"]
