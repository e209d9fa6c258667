"""Exported tables as pandas frames: the independent oracle for the sizing figures."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, text

LEVEL_OF_GRID = ("grid", "community", "township", "zone", "station", "sector", "county")


def export(engine: Engine) -> dict[str, pd.DataFrame]:
    """Plain rows of the tables (no rollup, no SQL aggregation); geometry as WKB hex."""
    q = {
        "grid": "SELECT id, code, zone_id, community_id, ST_AsBinary(geom) AS wkb FROM grid",
        "zone": "SELECT id, code, kind, has_office, station_id FROM zone",
        "station": "SELECT id, code, sector_id FROM station",
        "sector": "SELECT id, code, county_id FROM sector",
        "county": "SELECT id, code FROM county",
        "community": "SELECT id, code, kind, township_id FROM community",
        "township": "SELECT id, code FROM township",
        "address": "SELECT id, grid_id, households, population, houses, units FROM address_point",
        "incident": "SELECT id, grid_id, category, occurred_at FROM incident",
        "assignment": "SELECT person_id, role, station_id, zone_id, community_id, grid_id, valid_from, "
        "valid_to FROM assignment",
    }
    with engine.connect() as conn:
        return {k: pd.read_sql_query(text(v), conn) for k, v in q.items()}


def grid_units(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every grid with the id of each unit above it (one column per level)."""
    g = frames["grid"][["id", "zone_id", "community_id"]].rename(
        columns={"id": "grid", "zone_id": "zone", "community_id": "community"}
    )
    g = g.merge(
        frames["community"][["id", "township_id"]].rename(
            columns={"id": "community", "township_id": "township"}
        )
    )
    g = g.merge(frames["zone"][["id", "station_id"]].rename(columns={"id": "zone", "station_id": "station"}))
    g = g.merge(
        frames["station"][["id", "sector_id"]].rename(columns={"id": "station", "sector_id": "sector"})
    )
    g = g.merge(frames["sector"][["id", "county_id"]].rename(columns={"id": "sector", "county_id": "county"}))
    return g


@pytest.fixture(scope="module")
def frames(engine: Engine) -> dict[str, Any]:
    return export(engine)


# -- independent oracles ------------------------------------------------------------------------
A_WGS84 = 6378137.0
E2_WGS84 = 0.00669437999014
POLICE = {"chief", "instructor", "deputy_chief", "officer", "community_officer"}


def ellipsoid_area_m2(geom: Any) -> float:
    """Area on the WGS 84 ellipsoid: planar area in the (exact) equal-area cylindrical projection."""
    import numpy as np
    import shapely

    e = np.sqrt(E2_WGS84)

    def proj(xy: np.ndarray) -> np.ndarray:
        lam = np.radians(xy[:, 0])
        s = np.sin(np.radians(xy[:, 1]))
        q = (1 - E2_WGS84) * (s / (1 - E2_WGS84 * s * s) - np.log((1 - e * s) / (1 + e * s)) / (2 * e))
        return np.column_stack([A_WGS84 * lam, A_WGS84 * q / 2])

    return float(shapely.area(shapely.transform(geom, proj)))


def level_frames(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Addresses and incidents with the id of their unit at every level (via their grid)."""
    gu = grid_units(frames)
    return {
        "address": frames["address"].merge(gu, left_on="grid_id", right_on="grid"),
        "incident": frames["incident"].merge(gu, left_on="grid_id", right_on="grid"),
    }


def current_police(frames: dict[str, pd.DataFrame], now: pd.Timestamp) -> pd.DataFrame:
    a = frames["assignment"]
    cur = a[(a.valid_from <= now) & (a.valid_to.isna() | (a.valid_to > now))].copy()
    cur = cur.merge(frames["station"][["id", "sector_id"]].rename(columns={"id": "station_id"}))
    cur = cur.merge(frames["sector"][["id", "county_id"]].rename(columns={"id": "sector_id"}))
    cur = cur.merge(
        frames["community"][["id", "township_id"]].rename(columns={"id": "community_id"}), how="left"
    )
    return cur


ASSIGNMENT_COLUMN = {
    "grid": "grid_id",
    "community": "community_id",
    "township": "township_id",
    "zone": "zone_id",
    "station": "station_id",
    "sector": "sector_id",
    "county": "county_id",
}
