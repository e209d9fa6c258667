"""OGC API - Features queries: the collections, their items with bbox / datetime / paging.

Each collection is one SELECT over the current tables with a code as feature id (codes are the
stable public identifiers; database ids are not). Geometry leaves as GeoJSON (WGS 84 = CRS84,
7 decimals, about 1 cm); properties are built in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from jurisgrid.errors import NotFound


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    source: str          # FROM ... (aliased rows x with columns code, geom and what props use)
    props: str           # json_build_object arguments
    temporal: str | None = None  # timestamptz column of x, for ?datetime=


COLLECTIONS: dict[str, Collection] = {c.id: c for c in (
    Collection("sectors", "Sectors (片区)", "Groups of stations that respond together; the outline "
               "is the union of their stations' jurisdictions.",
               "(SELECT sec.code, sec.name, count(s.id) AS stations, ST_Multi(ST_Union(s.geom)) AS geom "
               " FROM sector sec LEFT JOIN station s ON s.sector_id = sec.id GROUP BY sec.id) x",
               "'code', x.code, 'name', x.name, 'stations', x.stations"),
    Collection("stations", "Police stations (派出所)", "Station jurisdictions (union of their zones).",
               "(SELECT s.code, s.name, s.kind, s.phone, s.address, sec.code AS sector_code, "
               " ST_X(s.seat) AS seat_lon, ST_Y(s.seat) AS seat_lat, s.geom "
               " FROM station s JOIN sector sec ON sec.id = s.sector_id) x",
               "'code', x.code, 'name', x.name, 'kind', x.kind, 'phone', x.phone, 'address', x.address, "
               "'sector_code', x.sector_code, 'seat_lon', x.seat_lon, 'seat_lat', x.seat_lat"),
    Collection("zones", "Responsibility zones (警务责任区)", "Community-policing zones (union of grids).",
               "(SELECT z.code, z.name, z.kind, z.has_office, s.code AS station_code, z.geom "
               " FROM zone z JOIN station s ON s.id = z.station_id) x",
               "'code', x.code, 'name', x.name, 'kind', x.kind, 'has_office', x.has_office, "
               "'station_code', x.station_code"),
    Collection("grids", "Grids (网格)", "The atomic units of coverage, with address and incident figures.",
               "(SELECT g.code, g.name, z.code AS zone_code, s.code AS station_code, "
               " c.code AS community_code, g.geom, coalesce(st.population, 0) AS population, "
               " coalesce(st.households, 0) AS households, coalesce(st.addresses, 0) AS addresses, "
               " coalesce(st.incidents, 0) AS incidents "
               " FROM grid g JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id "
               " JOIN community c ON c.id = g.community_id "
               " LEFT JOIN tile_grid_stats st ON st.grid_id = g.id) x",
               "'code', x.code, 'name', x.name, 'zone_code', x.zone_code, 'station_code', x.station_code, "
               "'community_code', x.community_code, 'population', x.population, "
               "'households', x.households, 'addresses', x.addresses, 'incidents', x.incidents"),
    Collection("communities", "Villages and communities (村/社区)",
               "Administrative villages and communities.",
               "(SELECT c.code, c.name, c.kind, t.code AS township_code, c.geom "
               " FROM community c JOIN township t ON t.id = c.township_id) x",
               "'code', x.code, 'name', x.name, 'kind', x.kind, 'township_code', x.township_code"),
    Collection("townships", "Townships and streets (乡镇/街道)", "Administrative townships and streets.",
               "township x", "'code', x.code, 'name', x.name, 'kind', x.kind"),
    Collection("addresses", "Address points (标准地址)", "Standard addresses with actual population.",
               "(SELECT a.code, a.address, a.households, a.population, a.houses, a.units, "
               " g.code AS grid_code, a.geom FROM address_point a LEFT JOIN grid g ON g.id = a.grid_id) x",
               "'code', x.code, 'address', x.address, 'households', x.households, "
               "'population', x.population, 'houses', x.houses, 'units', x.units, 'grid_code', x.grid_code"),
    Collection("incidents", "Incidents (警情)", "Reported incidents with time, category and grid.",
               "(SELECT i.code, i.category, i.occurred_at, g.code AS grid_code, i.geom "
               " FROM incident i LEFT JOIN grid g ON g.id = i.grid_id) x",
               "'code', x.code, 'category', x.category, 'occurred_at', x.occurred_at, "
               "'grid_code', x.grid_code", temporal="occurred_at"),
)}


def get_collection(cid: str) -> Collection:
    c = COLLECTIONS.get(cid)
    if c is None:
        raise NotFound(f"unknown collection {cid!r}; collections: {', '.join(COLLECTIONS)}")
    return c


@dataclass(frozen=True)
class ItemQuery:
    bbox: tuple[float, float, float, float] | None = None
    start: datetime | None = None     # inclusive
    end: datetime | None = None       # inclusive
    limit: int = 10
    offset: int = 0


def _where(c: Collection, q: ItemQuery) -> tuple[str, dict[str, Any]]:
    conds: list[str] = []
    params: dict[str, Any] = {}
    if q.bbox is not None:
        conds.append("x.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326) "
                     "AND ST_Intersects(x.geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))")
        params.update(zip(("x0", "y0", "x1", "y1"), q.bbox, strict=True))
    if c.temporal and q.start is not None:
        conds.append(f"x.{c.temporal} >= :t0")
        params["t0"] = q.start
    if c.temporal and q.end is not None:
        conds.append(f"x.{c.temporal} <= :t1")
        params["t1"] = q.end
    return (" WHERE " + " AND ".join(conds)) if conds else "", params


def _feature_sql(c: Collection) -> str:
    return (f"SELECT x.code AS id, ST_AsGeoJSON(x.geom, 7)::json AS geometry, "
            f"json_build_object({c.props}) AS properties FROM {c.source}")


def items(conn: Connection, c: Collection, q: ItemQuery) -> tuple[list[dict[str, Any]], int]:
    """One page of features (ordered by code) and the number matched by the filters."""
    where, params = _where(c, q)
    matched = conn.execute(text(f"SELECT count(*) FROM {c.source}{where}"), params).scalar_one()
    rows = conn.execute(text(f"{_feature_sql(c)}{where} ORDER BY x.code LIMIT :lim OFFSET :off"),
                        {**params, "lim": q.limit, "off": q.offset}).mappings().all()
    return [feature(r) for r in rows], int(matched)


def item(conn: Connection, c: Collection, fid: str) -> dict[str, Any]:
    row = conn.execute(text(f"{_feature_sql(c)} WHERE x.code = :fid"), {"fid": fid}).mappings().first()
    if row is None:
        raise NotFound(f"no feature {fid!r} in collection {c.id!r}")
    return feature(row)


def feature(row: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": row["id"], "geometry": row["geometry"],
            "properties": row["properties"]}


def data_extent(conn: Connection) -> tuple[list[float] | None, list[str | None]]:
    """The county's bbox (every collection lies inside it) and the incidents' time span."""
    row = conn.execute(text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), "
        "(SELECT min(occurred_at) FROM incident), (SELECT max(occurred_at) FROM incident) "
        "FROM (SELECT ST_Extent(geom) AS e FROM county) q")).one()
    bbox = None if row[0] is None else [float(v) for v in row[:4]]
    span = [None if t is None else t.isoformat().replace("+00:00", "Z") for t in row[4:]]
    return bbox, span
