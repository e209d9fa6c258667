"""Analysis cells with incident and population counts, over a station, a bbox or a polygon.

For a station, points are taken by their stored membership (grid → zone → station); for a
bbox or polygon, every point in a listed cell counts (the cells overlap the area's edge).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from jurisgrid.errors import InvalidInput, NotFound
from jurisgrid.geo import cells as geo_cells
from jurisgrid.models import aggregates as agg
from jurisgrid.models.plan_source import under
from jurisgrid.models.source import LIVE, Source

KINDS = ("hex", "square")

_ADDRESSES = """
SELECT ST_X(a.geom), ST_Y(a.geom), a.population, a.households
FROM address_point a {join}
WHERE a.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326) {where}
"""
_INCIDENTS = """
SELECT ST_X(i.geom), ST_Y(i.geom)
FROM incident i {join}
WHERE i.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326) {where}
  AND (%(since)s::timestamptz IS NULL OR i.occurred_at >= %(since)s::timestamptz)
  AND (%(until)s::timestamptz IS NULL OR i.occurred_at < %(until)s::timestamptz)
"""
_STATION_JOIN = "JOIN grid g ON g.id = {a}.grid_id JOIN zone z ON z.id = g.zone_id"
_STATION_WHERE = "AND z.station_id = %(station_id)s"


@dataclass(frozen=True)
class Cell:
    id: str
    geometry: shapely.Polygon
    incidents: int
    population: int
    households: int


def station_area(conn: Connection, code: str, source: Source = LIVE) -> tuple[int, BaseGeometry]:
    row = conn.exec_driver_sql(
        under("SELECT id, ST_AsBinary(geom) FROM station WHERE code = %(c)s", source),
        {"c": code, **source.sql_args()},
    ).first()
    if row is None:
        raise NotFound(f"no station with code {code!r}")
    if row[1] is None:
        raise InvalidInput(f"station {code} has no jurisdiction outline (no zones)")
    return row[0], shapely.from_wkb(bytes(row[1]))


def _points(
    conn: Connection, sql: str, alias: str, bounds: tuple[float, ...], station_id: int | None,
    source: Source = LIVE, **extra: object
) -> np.ndarray:
    join = _STATION_JOIN.format(a=alias) if station_id is not None else ""
    where = _STATION_WHERE if station_id is not None else ""
    params = {
        "x0": bounds[0],
        "y0": bounds[1],
        "x1": bounds[2],
        "y1": bounds[3],
        "station_id": station_id,
        **extra,
        **source.sql_args(),
    }
    rows = conn.exec_driver_sql(under(sql.format(join=join, where=where), source), params).all()
    return np.array(rows, dtype=float).reshape(len(rows), -1)


def analysis_cells(
    conn: Connection,
    *,
    kind: str,
    area: BaseGeometry,
    resolution: int | None = None,
    size_m: float | None = None,
    station_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    source: Source = LIVE,
) -> list[Cell]:
    """Cells with counts; a station's points by their membership — live, or under a plan
    (``source``; models/plan_membership.py when it reshapes grids)."""
    agg.check_window(since, until)
    try:
        if kind == "hex":
            if resolution is None:
                raise InvalidInput("hex cells need a resolution (0–15)")
            cells = geo_cells.hex_cells(area, resolution)
            frame = None
        elif kind == "square":
            if size_m is None:
                raise InvalidInput("square cells need a size in metres")
            frame, cells = geo_cells.square_cells(area, size_m)
        else:
            raise InvalidInput(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    except geo_cells.CellError as exc:
        raise InvalidInput(str(exc)) from exc
    bounds = shapely.union_all(cells.polygons).bounds if len(cells) else area.bounds

    def ids_of(pts: np.ndarray) -> list[str]:
        if len(pts) == 0:
            return []
        if frame is None:
            assert resolution is not None
            return geo_cells.hex_index(pts[:, 0], pts[:, 1], resolution)
        return geo_cells.square_ids(frame, pts[:, 0], pts[:, 1])

    index = {c: n for n, c in enumerate(cells.ids)}
    pop = np.zeros(len(cells), dtype=np.int64)
    hh = np.zeros(len(cells), dtype=np.int64)
    inc = np.zeros(len(cells), dtype=np.int64)
    addr = _points(conn, _ADDRESSES, "a", bounds, station_id, source)
    for k, cid in enumerate(ids_of(addr)):
        n = index.get(cid)
        if n is not None:
            pop[n] += int(addr[k, 2])
            hh[n] += int(addr[k, 3])
    incs = _points(conn, _INCIDENTS, "i", bounds, station_id, source, since=since, until=until)
    for cid in ids_of(incs):
        n = index.get(cid)
        if n is not None:
            inc[n] += 1
    return [Cell(c, cells.polygons[n], int(inc[n]), int(pop[n]), int(hh[n])) for n, c in enumerate(cells.ids)]
