"""GDAL's OAPIF driver (the GDAL that pyogrio bundles) against the real server: an OGR
``where`` is sent to /ogc as a CQL filter and a connection URL's ``sortby`` reaches every items
request, and the features GDAL returns are those pandas selects and orders from the same rows,
read straight from the tables."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import unquote

import pandas as pd
import pyogrio
import pytest
from pyogrio.raw import read as raw_read
from sqlalchemy import text

from tests.server import running_server


@pytest.fixture(scope="module")
def base(database_url: str, engine) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with running_server(database_url, startup_timeout=120) as url:
        yield url


@pytest.fixture(scope="module")
def grids(engine) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return pd.read_sql(text(
            "SELECT g.code, z.code AS zone_code, s.code AS station_code, "
            "coalesce(st.population, 0) AS population, coalesce(st.households, 0) AS households "
            "FROM grid g JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id "
            "LEFT JOIN tile_grid_stats st ON st.grid_id = g.id"), conn)


@pytest.fixture
def gdal_debug() -> Iterator[None]:
    """GDAL's debug output on (it names every URL it fetches), for the test only."""
    pyogrio.set_gdal_config_options({"CPL_DEBUG": "ON"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"CPL_DEBUG": None})


def _read(path: str, **kwargs) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """What GDAL reads from ``path``, as a DataFrame (fields + WKB ``geometry``) — through
    pyogrio's raw reader, which needs no geopandas."""
    meta, _fids, geometry, fields = raw_read(path, **kwargs)
    df = pd.DataFrame({name: values for name, values in zip(meta["fields"], fields, strict=True)})
    df["geometry"] = list(geometry) if geometry is not None else None
    return df


def _fetched(capfd) -> list[str]:  # type: ignore[no-untyped-def]
    """The URLs GDAL fetched so far (from its debug output on stderr), decoded."""
    _, err = capfd.readouterr()
    return [unquote(m) for m in re.findall(r"HTTP: Fetch\((\S+)\)", err)]


def test_gdal_pushes_a_cql_filter_and_sortby(base: str, grids: pd.DataFrame, gdal_debug,  # type: ignore[no-untyped-def]
                                             capfd) -> None:
    m = int(grids["population"].median())
    where = f"population > {m} AND (zone_code LIKE '%1%' OR NOT (households < 30))"
    df = _read(f"OAPIF:{base}/ogc/collections/grids?sortby=-population,%2Bcode",
                                where=where, PAGE_SIZE=40)
    urls = [u for u in _fetched(capfd) if "/items?" in u and "limit=40" in u]
    # every page GDAL fetched carried the filter and the order: the server did the work
    assert urls and all("filter=" in u and "sortby=-population,+code" in u for u in urls), urls
    assert f"population > {m}" in urls[0] and "filter-lang=cql-text" in urls[0]
    want = grids[(grids["population"] > m) & (grids["zone_code"].str.contains("1", regex=False)
                                               | ~(grids["households"] < 30))]
    want = want.sort_values(["population", "code"], ascending=[False, True], kind="stable")
    assert len(urls) == -(-len(want) // 40) or len(urls) == -(-len(want) // 40) + 1
    assert df["code"].tolist() == want["code"].tolist()
    assert 0 < len(df) < len(grids)
    assert set(df.columns) >= {"code", "name", "zone_code", "population", "geometry"}


def test_gdal_equality_and_null_filters(base: str, grids: pd.DataFrame, gdal_debug,  # type: ignore[no-untyped-def]
                                        capfd) -> None:
    station = grids["station_code"].value_counts().index[0]
    df = _read(f"OAPIF:{base}/ogc", layer="grids",
                                where=f"station_code = '{station}' AND NOT (zone_code IS NULL)")
    urls = [u for u in _fetched(capfd) if "/items?" in u and "filter=" in u]
    assert urls and f"station_code = '{station}'" in urls[0]
    assert sorted(df["code"]) == sorted(grids.loc[grids["station_code"] == station, "code"])
