"""Who is responsible here: one point through PostGIS, many points through an in-memory index.

Both follow the same boundary rule (``jg_grid_at()`` in SQL, :mod:`jurisgrid.geo.lookup` in
memory); ``tests/gql/test_responsible_oracle.py`` checks that they agree with each other and
with an independent Shapely computation.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection, text

from jurisgrid.geo.lookup import GridIndex
from jurisgrid.models.rows import Row, prefixed_select, split_prefixed

# alias in responsible_for.sql → table
_UNITS = {"gr": "grid", "z": "zone", "s": "station", "se": "sector", "c": "community",
          "t": "township"}

SINGLE_POINT_SQL = resources.files("jurisgrid").joinpath("sql/responsible_for.sql").read_text()
SINGLE_POINT_SQL = SINGLE_POINT_SQL.replace(
    "{columns}", ",\n    ".join(prefixed_select(a, tb, tb) for a, tb in _UNITS.items())
)


@dataclass
class PointAnswer:
    units: dict[str, Row | None]      # grid, zone, station, sector, community, township
    on_boundary: bool
    boundary_m: float | None
    officers: list[Row]
    nearest_id: int | None
    nearest_m: float | None


_PREPARED = "jg_responsible_for"


def responsible_row(conn: Connection, *, lon: float, lat: float) -> Any:
    """The raw answer row for one point (WGS 84). The statement is prepared once per database
    connection: planning it costs ~3× more than running it."""
    info = conn.connection.info
    if not info.get(_PREPARED):
        body = SINGLE_POINT_SQL.replace("%(lon)s", "$1").replace("%(lat)s", "$2")
        conn.exec_driver_sql(f"PREPARE {_PREPARED}(float8, float8) AS {body}")
        info[_PREPARED] = True
    return conn.exec_driver_sql(f"EXECUTE {_PREPARED}(%(lon)s, %(lat)s)",
                                {"lon": lon, "lat": lat}).mappings().one()


def responsible_for(conn: Connection, *, lon: float, lat: float) -> PointAnswer:
    """One point (WGS 84), one statement."""
    return answer_from_row(responsible_row(conn, lon=lon, lat=lat))


def answer_from_row(row: Any) -> PointAnswer:
    units = {tb: split_prefixed(row, tb) for tb in _UNITS.values()}
    inside = units["grid"] is not None
    return PointAnswer(
        units=units,
        on_boundary=bool(row["on_boundary"]) if inside else False,
        boundary_m=float(row["boundary_m"]) if inside else None,
        officers=list(row["officers"]) if inside else [],
        nearest_id=row["nearest_id"],
        nearest_m=float(row["nearest_m"]) if row["nearest_m"] is not None else None,
    )


@dataclass
class BatchAnswer:
    """Columns in input order; codes are None where the point is in no grid."""

    count: int
    resolved: int
    grid_codes: list[str | None]
    zone_codes: list[str | None]
    station_codes: list[str | None]
    community_codes: list[str | None]
    on_boundary: list[bool]
    nearest_grid_codes: list[str | None]
    nearest_distance_m: list[float | None]


_GRIDS_SQL = text("""
SELECT g.code, z.code AS zone_code, s.code AS station_code, c.code AS community_code,
       ST_AsBinary(g.geom) AS wkb
FROM grid g JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id
JOIN community c ON c.id = g.community_id
""")


class _IndexSnapshot:
    def __init__(self, version: int, rows: list[Any]) -> None:
        self.version = version
        self.codes = np.array([r.code for r in rows] + [None], dtype=object)
        self.zone_codes = np.array([r.zone_code for r in rows] + [None], dtype=object)
        self.station_codes = np.array([r.station_code for r in rows] + [None], dtype=object)
        self.community_codes = np.array([r.community_code for r in rows] + [None], dtype=object)
        geoms = shapely.from_wkb([bytes(r.wkb) for r in rows])
        self.index = GridIndex([r.code for r in rows], geoms)


class GridIndexCache:
    """The current grids in an STRtree, rebuilt when ``data_version`` moves (DESIGN §6)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snap: dict[str, _IndexSnapshot] = {}

    def get(self, conn: Connection) -> _IndexSnapshot:
        version = conn.execute(text("SELECT version FROM data_version")).scalar_one()
        key = str(conn.engine.url)
        snap = self._snap.get(key)
        if snap is not None and snap.version == version:
            return snap
        with self._lock:
            snap = self._snap.get(key)
            if snap is None or snap.version != version:
                snap = _IndexSnapshot(version, list(conn.execute(_GRIDS_SQL)))
                self._snap[key] = snap
        return snap

    def resolve(self, conn: Connection, lon: np.ndarray, lat: np.ndarray) -> BatchAnswer:
        snap = self.get(conn)
        res = snap.index.resolve(lon, lat)
        g = res.grid  # -1 indexes the trailing None of every column
        near = res.nearest
        return BatchAnswer(
            count=len(g),
            resolved=int(np.count_nonzero(g >= 0)),
            grid_codes=snap.codes[g].tolist(),
            zone_codes=snap.zone_codes[g].tolist(),
            station_codes=snap.station_codes[g].tolist(),
            community_codes=snap.community_codes[g].tolist(),
            on_boundary=res.on_boundary.tolist(),
            nearest_grid_codes=snap.codes[near].tolist(),
            nearest_distance_m=np.where(np.isnan(res.nearest_m), None, res.nearest_m).tolist(),  # type: ignore[call-overload]
        )


grid_index_cache = GridIndexCache()
