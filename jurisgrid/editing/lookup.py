"""Small reads the edit operations share: units by code (NotFound naming every unknown code),
geometry as Shapely, the county outline."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from jurisgrid.errors import NotFound

Row = dict[str, Any]

_COLUMNS = {
    "grid": "g.id, g.code, g.name, g.community_id, g.zone_id, z.station_id, s.code AS station_code, "
            "z.code AS zone_code",
    "zone": "z.id, z.code, z.name, z.station_id, s.code AS station_code",
    "station": "s.id, s.code, s.name, s.sector_id, s.code AS station_code",
    "community": "c.id, c.code, c.name, c.township_id",
}
_FROM = {
    "grid": "grid g JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id",
    "zone": "zone z JOIN station s ON s.id = z.station_id",
    "station": "station s",
    "community": "community c",
}
_ALIAS = {"grid": "g", "zone": "z", "station": "s", "community": "c"}


def units_by_code(conn: Connection, table: str, codes: list[str], *, lock: bool = False) -> list[Row]:
    """Rows in the order of ``codes``; NotFound lists every code that does not exist."""
    a = _ALIAS[table]
    sql = (f"SELECT {_COLUMNS[table]} FROM {_FROM[table]} WHERE {a}.code = ANY(%(c)s)"
           + (f" FOR UPDATE OF {a}" if lock else ""))
    found = {r["code"]: dict(r) for r in conn.exec_driver_sql(sql, {"c": list(codes)}).mappings()}
    missing = [c for c in codes if c not in found]
    if missing:
        raise NotFound(f"unknown {table} code(s): {', '.join(missing)}",
                       details=[{"kind": table, "code": c} for c in missing])
    return [found[c] for c in codes]


def unit_by_code(conn: Connection, table: str, code: str, *, lock: bool = False) -> Row:
    return units_by_code(conn, table, [code], lock=lock)[0]


def grid_geoms(conn: Connection, *, ids: list[int] | None = None,
               near: BaseGeometry | None = None) -> dict[str, tuple[Row, BaseGeometry]]:
    """Grids by id, or every grid within ~1 cm of ``near``, with their geometry."""
    base = ("SELECT g.id, g.code, g.community_id, g.zone_id, s.code AS station_code, "
            "ST_AsBinary(g.geom) AS wkb FROM grid g JOIN zone z ON z.id = g.zone_id "
            "JOIN station s ON s.id = z.station_id WHERE ")
    if ids is not None:
        rows = conn.exec_driver_sql(base + "g.id = ANY(%(i)s)", {"i": ids}).mappings()
    else:
        assert near is not None
        rows = conn.exec_driver_sql(
            base + "ST_DWithin(g.geom, ST_GeomFromWKB(%(w)s, 4326), 1e-7)",
            {"w": shapely.to_wkb(near)}).mappings()
    return {r["code"]: (dict(r), shapely.from_wkb(bytes(r["wkb"]))) for r in rows}


def county_outline(conn: Connection) -> BaseGeometry:
    wkb = conn.exec_driver_sql("SELECT ST_AsBinary(ST_Union(geom)) FROM county").scalar_one()
    return shapely.from_wkb(bytes(wkb))


def community_outline(conn: Connection, community_id: int) -> BaseGeometry:
    wkb = conn.exec_driver_sql("SELECT ST_AsBinary(geom) FROM community WHERE id = %(c)s",
                               {"c": community_id}).scalar_one()
    return shapely.from_wkb(bytes(wkb))


def write_grid_geom(conn: Connection, grid_id: int, geom: BaseGeometry) -> None:
    conn.exec_driver_sql("UPDATE grid SET geom = ST_Multi(ST_GeomFromWKB(%(w)s, 4326)) WHERE id = %(i)s",
                         {"w": shapely.to_wkb(geom), "i": grid_id})
