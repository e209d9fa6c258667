"""The real San Francisco data: 579 block groups as grids, crime counts as incidents — every
aggregate against pandas over the source GeoJSON itself (not over what was loaded)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources

import pandas as pd
import pytest
import shapely
from sqlalchemy import Engine

from jurisgrid.db import dispose, make_engine
from jurisgrid.models import aggregates as agg
from jurisgrid.seed import sf
from tests.analytics.conftest import ellipsoid_area_m2
from tests.conftest import _server_url
from tests.dbs import scratch_database

SOURCE_CATEGORIES = {
    "Vandalism": "VANDALISM",
    "Robbery": "ROBBERY",
    "Drugs": "DRUGS",
    "CarTheft": "CAR_THEFT",
}


@pytest.fixture(scope="module")
def sf_engine() -> Iterator[Engine]:
    from jurisgrid.models.migrate import upgrade

    server, _ = _server_url()
    with scratch_database(server, "jurisgrid_test_sf") as url:
        eng = make_engine(url, pool_size=2)
        try:
            upgrade(eng)
            sf.load_sf(eng, seed=3)
            yield eng
        finally:
            dispose(eng)


@pytest.fixture(scope="module")
def source() -> pd.DataFrame:
    raw = resources.files("jurisgrid.seed").joinpath("data/sf/sf_crime_blocks.geojson").read_text()
    feats = json.loads(raw)["features"]
    df = pd.DataFrame([f["properties"] for f in feats])
    df["geom"] = [shapely.geometry.shape(f["geometry"]) for f in feats]
    df["geo_id"] = df.GEO_id2.astype(str)
    df["township_key"] = df.TRACT.astype(int) // 10000
    return df


def _ids(engine: Engine, level: str) -> dict[str, int]:
    with engine.connect() as conn:
        return agg.unit_ids(conn, level)


def test_source_as_documented(source) -> None:
    assert len(source) == 579
    assert source.Population.sum() == 805_235
    assert source[list(SOURCE_CATEGORIES)].to_numpy().sum() == 13_474


def test_structure_and_membership(sf_engine, source) -> None:
    with sf_engine.connect() as conn:
        counts = {
            t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
            for t in ("grid", "community", "zone", "station", "address_point", "incident")
        }
        # every incident and address point sits in the grid of its source block group
        wrong = conn.exec_driver_sql(
            "SELECT count(*) FROM incident i JOIN grid g ON g.id = i.grid_id "
            "WHERE substr(i.code, 3, 11) <> "
            "(SELECT substr(a.code, 3) FROM address_point a WHERE a.grid_id = g.id)"
        ).scalar_one()
        unassigned = conn.exec_driver_sql(
            "SELECT (SELECT count(*) FROM incident WHERE grid_id IS NULL) "
            "+ (SELECT count(*) FROM address_point WHERE grid_id IS NULL)"
        ).scalar_one()
    assert counts == {
        "grid": 579,
        "community": source.TRACT.nunique(),
        "zone": source.TRACT.nunique(),
        "station": source.township_key.nunique(),
        "address_point": 579,
        "incident": 13_474,
    }
    assert wrong == 0 and unassigned == 0


@pytest.mark.parametrize("level", ["grid", "community", "township", "zone", "station", "county"])
def test_population_area_incidents(sf_engine, source, level: str) -> None:
    town, comm, grid = sf.codes(sf.read_block_groups())
    key = {
        "grid": source.geo_id.map(grid),
        "community": source.TRACT.map(comm),
        "township": source.township_key.map(town),
        "zone": "SFZ" + source.TRACT.map(comm),
        "station": source.township_key.map({k: f"SFPS{n + 1:02d}" for n, k in enumerate(sorted(town))}),
        "county": pd.Series(sf.COUNTY_CODE, index=source.index),
    }[level]
    df = source.assign(unit=key)
    pop = df.groupby("unit").Population.sum()
    area = df.assign(a=[ellipsoid_area_m2(g) for g in df.geom]).groupby("unit").a.sum()
    cats = df.groupby("unit")[list(SOURCE_CATEGORIES)].sum().rename(columns=SOURCE_CATEGORIES)
    ids = _ids(sf_engine, level)
    assert set(ids) == set(pop.index)
    with sf_engine.connect() as conn:
        stats = agg.address_stats(conn, level, ids.values())
        inc = agg.incident_counts(conn, level, ids.values())
        h1 = agg.incident_counts(
            conn, level, ids.values(), since=sf.YEAR_START, until=sf.YEAR_START.replace(month=7)
        )
        h2 = agg.incident_counts(conn, level, ids.values(), since=sf.YEAR_START.replace(month=7))
    for code, i in ids.items():
        assert stats[i].population == pop[code], (level, code)
        assert stats[i].area_m2 == pytest.approx(area[code], rel=5e-4), (level, code)
        exp = {c: int(n) for c, n in cats.loc[code].items() if n}
        assert inc[i].by_category == exp, (level, code)
        # the two halves of the year add up to the whole
        both = {c: h1[i].by_category.get(c, 0) + h2[i].by_category.get(c, 0) for c in exp}
        assert both == exp


def test_sizing_on_sf(sf_engine, source) -> None:
    from jurisgrid.analytics.report import balance_report, sizing_report

    with sf_engine.connect() as conn:
        version, window, zones = sizing_report(conn, since=sf.YEAR_START, until=sf.YEAR_END)
        bal = balance_report(conn, scope="county", code=sf.COUNTY_CODE, measure="population")
    assert version >= 1
    tracts = source.groupby("TRACT")
    assert len(zones) == tracts.ngroups
    pop = tracts.Population.sum()
    rob_car = tracts.Robbery.sum() + tracts.CarTheft.sum()
    _, comm, _ = sf.codes(sf.read_block_groups())
    by_code = {z.code: z for z in zones}
    days = (window.until - window.since).total_seconds() / 86400
    for t in pop.index:
        z = by_code["SFZ" + comm[t]]
        assert z.population == pop[t]
        exp_rate = rob_car[t] * 365 / days / pop[t] * 1000 if pop[t] else 0.0
        assert z.sizing.incident_rate == pytest.approx(exp_rate)
    assert bal.ideal == pytest.approx(pop.mean())
    assert bal.cv == pytest.approx(pop.std(ddof=0) / pop.mean())
