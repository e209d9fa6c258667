"""Loading tests write into fresh, empty databases (one per test) — a county-less database is
what ``jurisgrid load`` is for. File sets are generated from the small demo county."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from jurisgrid.db import dispose, make_engine
from jurisgrid.geo.crs import parse_file_crs
from jurisgrid.io.formats import write_layer
from tests.conftest import _server_url
from tests.dbs import scratch_database

TABLES = (
    "county",
    "sector",
    "township",
    "community",
    "station",
    "zone",
    "grid",
    "address_point",
    "incident",
    "person",
    "assignment",
)


@pytest.fixture
def empty_engine() -> Iterator[Engine]:
    from jurisgrid.models.migrate import upgrade

    server, _ = _server_url()
    with scratch_database(server, "jurisgrid_onboard") as url:
        eng = make_engine(url, pool_size=2)
        try:
            upgrade(eng)
            yield eng
        finally:
            dispose(eng)


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def zone_station(demo: Any) -> dict[str, str]:
    return {z.code: z.station_code for z in demo.zones}


def write_set(
    demo: Any,
    root: Path,
    *,
    crs: str = "WGS84",
    ext: str = "geojson",
    kinds: tuple[str, ...] = ("townships", "communities", "stations", "grids"),
) -> Path:
    """The demo county as a bureau's file set: one file per kind, in ``crs``."""
    fcrs = parse_file_crs(crs)
    root.mkdir(parents=True, exist_ok=True)
    zs = zone_station(demo)
    layers: dict[str, tuple[dict[str, list[Any]], list[Any], str]] = {
        "townships": (
            {"code": [t.code for t in demo.townships], "name": [t.name for t in demo.townships]},
            [t.geom for t in demo.townships],
            "MultiPolygon",
        ),
        "communities": (
            {"code": [c.code for c in demo.communities], "name": [c.name for c in demo.communities]},
            [c.geom for c in demo.communities],
            "MultiPolygon",
        ),
        "stations": (
            {
                "code": [s.code for s in demo.stations],
                "name": [s.name for s in demo.stations],
                "kind": [s.kind for s in demo.stations],
                "phone": [s.phone for s in demo.stations],
            },
            [s.seat for s in demo.stations],
            "Point",
        ),
        "grids": (
            {
                "code": [g.code for g in demo.grids],
                "name": [g.name for g in demo.grids],
                "zone": [g.zone_code for g in demo.grids],
                "station": [zs[g.zone_code] for g in demo.grids],
            },
            [g.geom for g in demo.grids],
            "MultiPolygon",
        ),
    }
    for kind in kinds:
        cols, geoms, gt = layers[kind]
        write_layer(root / f"{kind}.{ext}", columns=cols, geoms=geoms, geometry_type=gt, crs=fcrs, layer=kind)
    return root
