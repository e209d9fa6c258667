"""Write a generated :class:`~jurisgrid.seed.generate.DemoCounty` into the database.

Everything goes in through COPY (geometry as hex EWKB) and set-based SQL: the grid of every
address point and incident (and its county, the partition key: models/partitions.py) is
computed by PostGIS in one statement under the boundary rule, and zone and station outlines
are derived as unions of their grids.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Engine, text

from jurisgrid.models.derived import refresh_all_outlines
from jurisgrid.models.partitions import insert_staged

Progress = Callable[[str, int, int], None]

TABLES_IN_LOAD_ORDER = ("county", "sector", "township", "community", "station", "zone", "grid",
                        "address_point", "incident", "person", "assignment")


def _ewkb(geoms: Sequence[Any] | np.ndarray) -> list[str]:
    arr = shapely.set_srid(np.asarray(geoms, dtype=object), 4326)
    return list(shapely.to_wkb(arr, hex=True, include_srid=True))


def _multi(geoms: Iterable[Any]) -> list[Any]:
    out = []
    for g in geoms:
        out.append(shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g)
    return out


def _escape(v: Any) -> str:
    if v is None:
        return r"\N"
    s = str(v)
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_rows(cur: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows (Python values; None → NULL) into ``table`` in chunks of about 8 MB."""
    buf = io.StringIO()
    cols = ", ".join(columns)

    def flush() -> None:
        buf.seek(0)
        cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN", buf)
        buf.seek(0)
        buf.truncate()

    for row in rows:
        buf.write("\t".join(_escape(v) for v in row))
        buf.write("\n")
        if buf.tell() > 8_000_000:
            flush()
    if buf.tell():
        flush()


def database_is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT NOT EXISTS (SELECT 1 FROM county)")).scalar_one()


def clear(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(
            "TRUNCATE " + ", ".join(reversed(TABLES_IN_LOAD_ORDER)) + " RESTART IDENTITY CASCADE"
        ))


def _one_value(cur: Any) -> Any:
    row = cur.fetchone()
    if row is None:
        raise RuntimeError("statement returned no row")
    return row[0]


def _ids(cur: Any, table: str) -> dict[str, int]:
    cur.execute(f"SELECT code, id FROM {table}")
    return dict(cur.fetchall())


def load(engine: Engine, demo: Any, progress: Progress | None = None) -> dict[str, int]:
    """Load ``demo`` into an empty database in one transaction. Returns row counts."""
    return load_counties(engine, [demo], progress)


class _Concat:
    """The point columns of several counties as one set of columns."""

    def __init__(self, parts: Sequence[Any]) -> None:
        self._parts = parts

    def __getattr__(self, name: str) -> Any:
        cols = [getattr(p, name) for p in self._parts]
        if isinstance(cols[0], np.ndarray):
            return np.concatenate(cols)
        return [v for c in cols for v in c]


def load_counties(engine: Engine, demos: Sequence[Any],
                  progress: Progress | None = None) -> dict[str, int]:
    """Load generated counties (``generate_counties``) into an empty database in one
    transaction, each with its time zone (``demo.time_zone``, default Asia/Shanghai)."""
    step = progress or (lambda stage, done, total: None)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute("SET LOCAL statement_timeout = 0")  # bulk statements run for minutes at scale 10
        total = 9
        step("county", 0, total)
        county_ids = []
        for demo in demos:
            cur.execute(
                "INSERT INTO county (code, name, repairs, geom, time_zone) VALUES (%s, %s, %s, "
                "ST_Multi(ST_GeomFromEWKB(decode(%s, 'hex'))), %s) RETURNING id",
                (demo.code, demo.name, json.dumps(demo.repairs, ensure_ascii=False),
                 _ewkb([demo.outline])[0], getattr(demo, "time_zone", "Asia/Shanghai")),
            )
            county_ids.append(_one_value(cur))
        copy_rows(cur, "sector", ("code", "name", "county_id"),
                  ((s.code, s.name, cid) for demo, cid in zip(demos, county_ids, strict=True)
                   for s in demo.sectors))
        sector_ids = _ids(cur, "sector")

        step("townships", 1, total)
        tw = [t for demo in demos for t in demo.townships]
        tw_county = [cid for demo, cid in zip(demos, county_ids, strict=True)
                     for _ in demo.townships]
        copy_rows(cur, "township", ("code", "name", "kind", "county_id", "seat", "geom"),
                  zip([t.code for t in tw], [t.name for t in tw], [t.kind for t in tw],
                      tw_county, _ewkb([t.seat for t in tw]),
                      _ewkb(_multi(t.geom for t in tw)), strict=True))
        township_ids = _ids(cur, "township")

        step("communities", 2, total)
        cm = [c for demo in demos for c in demo.communities]
        copy_rows(cur, "community", ("code", "name", "kind", "township_id", "geom"),
                  zip([c.code for c in cm], [c.name for c in cm], [c.kind for c in cm],
                      [township_ids[c.township_code] for c in cm],
                      _ewkb(_multi(c.geom for c in cm)), strict=True))
        community_ids = _ids(cur, "community")

        step("stations and zones", 3, total)
        st = [x for demo in demos for x in demo.stations]
        copy_rows(cur, "station", ("code", "name", "kind", "sector_id", "address", "phone", "seat"),
                  zip([s.code for s in st], [s.name for s in st], [s.kind for s in st],
                      [sector_ids[s.sector_code] for s in st], [s.address for s in st],
                      [s.phone for s in st], _ewkb([s.seat for s in st]), strict=True))
        station_ids = _ids(cur, "station")
        copy_rows(cur, "zone", ("code", "name", "kind", "has_office", "station_id"),
                  ((z.code, z.name, z.kind, "t" if z.has_office else "f", station_ids[z.station_code])
                   for demo in demos for z in demo.zones))
        zone_ids = _ids(cur, "zone")

        step("grids", 4, total)
        gr = [g for demo in demos for g in demo.grids]
        copy_rows(cur, "grid", ("code", "name", "community_id", "zone_id", "geom"),
                  zip([g.code for g in gr], [g.name for g in gr],
                      [community_ids[g.community_code] for g in gr],
                      [zone_ids[g.zone_code] for g in gr], _ewkb(_multi(g.geom for g in gr)),
                      strict=True))
        cur.execute("ANALYZE grid")
        grid_ids = _ids(cur, "grid")

        step("address points", 5, total)
        _load_points(cur, _Concat([d.addresses for d in demos]), kind="address")
        step("incidents", 6, total)
        _load_points(cur, _Concat([d.incidents for d in demos]), kind="incident")

        step("personnel", 7, total)
        persons = [p for demo in demos for p in demo.persons]
        copy_rows(cur, "person", ("code", "name", "phone"),
                  ((p.code, p.name, getattr(p, "phone", None)) for p in persons))
        person_ids = _ids(cur, "person")
        copy_rows(cur, "assignment",
                  ("person_id", "role", "station_id", "zone_id", "community_id", "grid_id",
                   "valid_from"),
                  ((person_ids[p.code], p.role, station_ids[p.station_code],
                    zone_ids.get(p.zone_code) if p.zone_code else None,
                    community_ids.get(p.community_code) if p.community_code else None,
                    grid_ids.get(p.grid_code) if p.grid_code else None,
                    "2025-01-01T00:00:00+08:00") for p in persons))

        step("zone and station outlines", 8, total)
        refresh_all_outlines(cur)
        raw.commit()
        counts = {}
        for t in TABLES_IN_LOAD_ORDER:
            cur.execute(f"ANALYZE {t}")
            cur.execute(f"SELECT count(*) FROM {t}")
            counts[t] = _one_value(cur)
        raw.commit()
        step("done", total, total)
        return counts
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()


def _load_points(cur: Any, arrays: Any, *, kind: str) -> None:
    """COPY points into a staging table, then insert with their grid in one statement."""
    pts = shapely.points(np.asarray(arrays.lon, dtype=float), np.asarray(arrays.lat, dtype=float))
    geoms = _ewkb(pts)
    if kind == "address":
        cur.execute(
            "CREATE TEMP TABLE stage_address (code text, address text, households int, "
            "population int, houses int, units int, geom geometry) ON COMMIT DROP"
        )
        copy_rows(cur, "stage_address",
                  ("code", "address", "households", "population", "houses", "units", "geom"),
                  zip(arrays.code, arrays.address, arrays.households.tolist(),
                      arrays.population.tolist(), arrays.houses.tolist(), arrays.units.tolist(),
                      geoms, strict=True))
        insert_staged(cur, "address_point", "stage_address",
                      "code, address, households, population, houses, units", grid_known=False)
    else:
        occurred = np.datetime_as_string(np.asarray(arrays.occurred_at, dtype="datetime64[s]"),
                                         timezone="UTC")
        cur.execute(
            "CREATE TEMP TABLE stage_incident (code text, category text, occurred_at timestamptz, "
            "geom geometry) ON COMMIT DROP"
        )
        copy_rows(cur, "stage_incident", ("code", "category", "occurred_at", "geom"),
                  zip(arrays.code, arrays.category, occurred.tolist(), geoms, strict=True))
        insert_staged(cur, "incident", "stage_incident", "code, category, occurred_at",
                      grid_known=False)
