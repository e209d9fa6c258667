"""End to end: the real server (uvicorn, as `jurisgrid serve` runs it) over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from jurisgrid.geo.crs import wgs84_to_gcj02
from tests.server import running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(engine, database_url: str) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with running_server(database_url) as base:
        yield base


def test_client_gets_station_zone_grid_officers(server: str) -> None:
    q = """query($lon: Float!, $lat: Float!, $crs: Crs!) { responsibleFor(lon: $lon, lat: $lat,
           crs: $crs) { station { code name } zone { code name } grid { code name }
           officers { role person { name } } } }"""
    with httpx.Client(base_url=server, timeout=10) as c:
        a = c.post("/graphql", json={"query": q, "variables": {
            "lon": 106.973, "lat": 30.8366, "crs": "WGS84"}}).json()
        glon, glat = wgs84_to_gcj02(106.973, 30.8366)
        b = c.post("/graphql", json={"query": q, "variables": {
            "lon": glon, "lat": glat, "crs": "GCJ02"}}).json()
    assert "errors" not in a, a
    r = a["data"]["responsibleFor"]
    assert r["station"]["name"] and r["zone"]["code"] and r["grid"]["code"] and r["officers"]
    assert b == a


def test_graphiql_in_a_browser(server: str) -> None:
    r = httpx.get(f"{server}/graphql", headers={"accept": "text/html"})
    assert r.status_code == 200 and "graphiql" in r.text.lower()


def test_healthz_reports_migration(server: str) -> None:
    body = httpx.get(f"{server}/healthz").json()
    assert body["database"] == "up" and body["migration"] == body["migration_head"]
