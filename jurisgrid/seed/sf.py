"""Load the real San Francisco block groups (population, crime counts) as a county of its own.

See ``seed/data/sf/ATTRIBUTION.md`` for the source and for how its block groups become grids,
tracts communities and zones, population address points and counts incidents.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from sqlalchemy import Engine

from jurisgrid.models.derived import refresh_all_outlines
from jurisgrid.models.partitions import insert_staged
from jurisgrid.models.policy import update_policy
from jurisgrid.seed.load import copy_rows

COUNTY_CODE = "060750"
CATEGORIES = {
    "Vandalism": ("VANDALISM", "破坏财物"),
    "Robbery": ("ROBBERY", "抢劫"),
    "Drugs": ("DRUGS", "毒品"),
    "CarTheft": ("CAR_THEFT", "盗窃车辆"),
}
YEAR_START = datetime(2012, 1, 1, tzinfo=ZoneInfo("America/Los_Angeles"))
YEAR_END = datetime(2013, 1, 1, tzinfo=ZoneInfo("America/Los_Angeles"))
POLICY = {
    "time_zone": "America/Los_Angeles",
    "rate_categories": ["ROBBERY", "CAR_THEFT"],
    "category_weights": {"ROBBERY": 3.0, "CAR_THEFT": 2.0, "DRUGS": 1.5, "VANDALISM": 1.0},
}


@dataclass(frozen=True)
class BlockGroup:
    geo_id: str  # 11-digit census code, e.g. 60750314005
    tract: str  # 6 digits
    blkgrp: int
    name: str
    population: int
    counts: dict[str, int]  # our category → count
    geom: shapely.MultiPolygon


def read_block_groups() -> list[BlockGroup]:
    raw = resources.files("jurisgrid.seed").joinpath("data/sf/sf_crime_blocks.geojson").read_text()
    out = []
    for f in json.loads(raw)["features"]:
        p = f["properties"]
        g = shapely.geometry.shape(f["geometry"])
        out.append(
            BlockGroup(
                str(p["GEO_id2"]),
                p["TRACT"],
                int(p["BLKGRP"]),
                p["GEO_displa"],
                int(p["Population"]),
                {CATEGORIES[k][0]: int(p[k]) for k in CATEGORIES},
                g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]),
            )
        )
    return sorted(out, key=lambda b: b.geo_id)


def township_key(tract: str) -> int:
    return int(tract) // 10000  # 01xx → 1, …, 98xx → 98


def _ewkb(geoms: Sequence[Any]) -> list[str]:
    arr = shapely.set_srid(np.asarray(geoms, dtype=object), 4326)
    return list(shapely.to_wkb(arr, hex=True, include_srid=True))


def _multi(g: Any) -> Any:
    return g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g])


def sample_inside(rng: np.random.Generator, geom: Any, n: int) -> np.ndarray:
    """``n`` points drawn uniformly inside ``geom`` (rejection sampling in its bounds)."""
    out = np.empty((0, 2))
    minx, miny, maxx, maxy = geom.bounds
    shapely.prepare(geom)
    while len(out) < n:
        k = max(16, 2 * (n - len(out)))
        cand = np.column_stack([rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)])
        keep = shapely.contains_xy(geom, cand[:, 0], cand[:, 1])
        out = np.vstack([out, cand[keep]])
    return out[:n]


def codes(bgs: list[BlockGroup]) -> tuple[dict[int, str], dict[str, str], dict[str, str]]:
    """Township code per key, community code per tract, grid code per block group."""
    keys = sorted({township_key(b.tract) for b in bgs})
    town = {k: f"{COUNTY_CODE}{n + 1:03d}" for n, k in enumerate(keys)}
    comm: dict[str, str] = {}
    for k in keys:
        for n, t in enumerate(sorted({b.tract for b in bgs if township_key(b.tract) == k})):
            comm[t] = f"{town[k]}{n + 1:03d}"
    grid = {b.geo_id: f"{comm[b.tract]}{b.blkgrp:03d}" for b in bgs}
    return town, comm, grid


def load_sf(engine: Engine, *, seed: int = 0) -> dict[str, int]:
    """Load San Francisco into an empty, migrated database (one transaction). Returns row counts."""
    bgs = read_block_groups()
    town, comm, grid = codes(bgs)
    rng = np.random.default_rng(seed)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SELECT count(*) FROM county")
        row = cur.fetchone()
        if row is None or row[0]:
            raise RuntimeError("the database already holds a county")
        cur.executemany(
            "INSERT INTO incident_category (code, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            list(CATEGORIES.values()),
        )
        outline = _multi(shapely.union_all([b.geom for b in bgs]))
        cur.execute(
            "INSERT INTO county (code, name, geom, time_zone) "
            "VALUES (%s, %s, ST_GeomFromEWKB(decode(%s, 'hex')), %s) RETURNING id",
            (COUNTY_CODE, "San Francisco", _ewkb([outline])[0], POLICY["time_zone"]),
        )
        county_id = cur.fetchone()[0]  # type: ignore[index]
        cur.execute(
            "INSERT INTO sector (code, name, county_id) VALUES ('SF', 'San Francisco', %s) RETURNING id",
            (county_id,),
        )
        sector_id = cur.fetchone()[0]  # type: ignore[index]
        by_town: dict[int, list[BlockGroup]] = {}
        for b in bgs:
            by_town.setdefault(township_key(b.tract), []).append(b)
        town_geoms = {k: _multi(shapely.union_all([b.geom for b in v])) for k, v in by_town.items()}
        keys = sorted(town)
        copy_rows(
            cur,
            "township",
            ("code", "name", "kind", "county_id", "seat", "geom"),
            zip(
                [town[k] for k in keys],
                [f"Tracts {k:02d}xx" for k in keys],
                ["street"] * len(keys),
                [county_id] * len(keys),
                _ewkb([town_geoms[k].point_on_surface() for k in keys]),
                _ewkb([town_geoms[k] for k in keys]),
                strict=True,
            ),
        )
        cur.execute("SELECT code, id FROM township")
        town_ids = dict(cur.fetchall())
        tracts = sorted(comm)
        tract_geoms = {t: _multi(shapely.union_all([b.geom for b in bgs if b.tract == t])) for t in tracts}
        copy_rows(
            cur,
            "community",
            ("code", "name", "kind", "township_id", "geom"),
            zip(
                [comm[t] for t in tracts],
                [f"Census Tract {int(t) / 100:g}" for t in tracts],
                ["community"] * len(tracts),
                [town_ids[town[township_key(t)]] for t in tracts],
                _ewkb([tract_geoms[t] for t in tracts]),
                strict=True,
            ),
        )
        cur.execute("SELECT code, id FROM community")
        comm_ids = dict(cur.fetchall())
        copy_rows(
            cur,
            "station",
            ("code", "name", "kind", "sector_id", "seat"),
            (
                (
                    f"SFPS{n + 1:02d}",
                    f"Station {n + 1} (tracts {k:02d}xx)",
                    "urban",
                    sector_id,
                    _ewkb([town_geoms[k].point_on_surface()])[0],
                )
                for n, k in enumerate(keys)
            ),
        )
        cur.execute("SELECT code, id FROM station")
        station_ids = dict(cur.fetchall())
        station_of = {k: station_ids[f"SFPS{n + 1:02d}"] for n, k in enumerate(keys)}
        copy_rows(
            cur,
            "zone",
            ("code", "name", "kind", "has_office", "station_id"),
            (
                (f"SFZ{comm[t]}", f"Zone of tract {t}", "urban", "f", station_of[township_key(t)])
                for t in tracts
            ),
        )
        cur.execute("SELECT code, id FROM zone")
        zone_ids = dict(cur.fetchall())
        copy_rows(
            cur,
            "grid",
            ("code", "name", "community_id", "zone_id", "geom"),
            zip(
                [grid[b.geo_id] for b in bgs],
                [b.name for b in bgs],
                [comm_ids[comm[b.tract]] for b in bgs],
                [zone_ids[f"SFZ{comm[b.tract]}"] for b in bgs],
                _ewkb([b.geom for b in bgs]),
                strict=True,
            ),
        )
        cur.execute("ANALYZE grid")
        # population: one address point per block group; membership by the boundary rule
        # staged, then inserted with grid and county (the partition key, models/partitions.py)
        cur.execute("CREATE TEMP TABLE sf_address (code text, address text, households int, "
                    "population int, houses int, units int, geom geometry) ON COMMIT DROP")
        copy_rows(
            cur,
            "sf_address",
            ("code", "address", "households", "population", "houses", "units", "geom"),
            (
                (f"SF{b.geo_id}", b.name, 0, b.population, 0, 0, _ewkb([b.geom.point_on_surface()])[0])
                for b in bgs
            ),
        )
        insert_staged(cur, "address_point", "sf_address",
                      "code, address, households, population, houses, units", grid_known=False)
        rows = []
        span = (YEAR_END - YEAR_START).total_seconds()
        for b in bgs:
            for cat, n in sorted(b.counts.items()):
                if not n:
                    continue
                pts = sample_inside(rng, b.geom, n)
                secs = rng.uniform(0, span, n)
                for k in range(n):
                    t = YEAR_START.timestamp() + float(secs[k])
                    rows.append(
                        (
                            f"SF{b.geo_id}{cat[:2]}{k:04d}",
                            cat,
                            datetime.fromtimestamp(t, tz=ZoneInfo("UTC")).isoformat(),
                            _ewkb([shapely.Point(pts[k])])[0],
                        )
                    )
        cur.execute("CREATE TEMP TABLE sf_incident (code text, category text, occurred_at timestamptz, "
                    "geom geometry) ON COMMIT DROP")
        copy_rows(cur, "sf_incident", ("code", "category", "occurred_at", "geom"), rows)
        insert_staged(cur, "incident", "sf_incident", "code, category, occurred_at", grid_known=False)
        refresh_all_outlines(cur)
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
    with engine.begin() as conn:
        update_policy(conn, POLICY, actor="seed sf", reason="San Francisco: local calendar, its categories")
    with engine.connect() as conn:
        return {
            t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
            for t in ("township", "community", "station", "zone", "grid", "address_point", "incident")
        }
