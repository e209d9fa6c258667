"""End to end: the real server (uvicorn, as `jurisgrid serve` runs it) over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from jurisgrid.geo.crs import wgs84_to_gcj02

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(engine, database_url: str) -> Iterator[str]:  # type: ignore[no-untyped-def]
    port = _free_port()
    env = {**os.environ, "JURISGRID_DATABASE_URL": database_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jurisgrid.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
            time.sleep(0.2)
        else:
            raise RuntimeError("server did not become healthy in 30 s")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
