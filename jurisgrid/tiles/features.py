"""OGC API - Features queries: the collections, their items with bbox / datetime / paging.

Each collection is one SELECT over the current tables with a code as feature id (codes are the
stable public identifiers; database ids are not). Geometry leaves as GeoJSON (WGS 84 = CRS84,
7 decimals, about 1 cm); properties are built in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from jurisgrid.errors import NotFound


@dataclass(frozen=True)
class Field:
    """A property of a collection's features: a column of its rows ``x`` of the same name.

    ``type`` is that of CQL2 and the queryables' JSON Schema: string | integer | number |
    boolean | timestamp. Filters (ogc/cql.py), sortby and property filters accept exactly these
    names, so a typo is a 400 naming it rather than an empty answer."""

    name: str
    type: str
    title: str


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    source: str          # FROM ... (aliased rows x with columns code, geom and every field)
    fields: tuple[Field, ...]
    geometry: str        # the features' geometry type (queryables: geometry-<this>)
    temporal: str | None = None  # timestamptz column of x, for ?datetime=
    # the column of x holding the partition key of a partitioned point table: the row's own
    # ``county_code`` (its grid's county, '' for none). x.county_code comes through the joins,
    # so a condition on it does not let PostgreSQL prune; one on this column does
    # (ogc/partitions.py). Not a field: neither a property nor filterable.
    partition_key: str | None = None

    @property
    def props(self) -> str:
        """The json_build_object arguments of the properties: every field, in order."""
        return ", ".join(f"'{f.name}', x.{f.name}" for f in self.fields)

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


def _f(spec: str) -> tuple[Field, ...]:
    """Fields from ``"name:type:title; ..."`` (type s, i, n, b, t)."""
    types = {"s": "string", "i": "integer", "n": "number", "b": "boolean", "t": "timestamp"}
    out = []
    for part in spec.split(";"):
        name, kind, title = (p.strip() for p in part.split(":", 2))
        out.append(Field(name, types[kind], title))
    return tuple(out)


_CODE_NAME = "code:s:code (the feature id); name:s:name"
# every collection: the county (县/区) of the feature — a unit's through its parents
# (models/county_scope.py), a point's that of its grid (none when in no grid) — for
# ``?county=``, ``county_code = '…'`` in CQL2 and a county-scoped token's view (routes/ogc.py)
_COUNTY = "county_code:s:county (县/区) code"
_POINT_COUNTY = ("LEFT JOIN grid g ON g.id = {p}.grid_id LEFT JOIN community c ON c.id = g.community_id "
                 "LEFT JOIN township t ON t.id = c.township_id LEFT JOIN county cy ON cy.id = t.county_id")

COLLECTIONS: dict[str, Collection] = {c.id: c for c in (
    Collection("sectors", "Sectors (片区)", "Groups of stations that respond together; the outline "
               "is the union of their stations' jurisdictions.",
               "(SELECT sec.code, sec.name, count(s.id) AS stations, ST_Multi(ST_Union(s.geom)) AS geom, "
               " cy.code AS county_code FROM sector sec LEFT JOIN station s ON s.sector_id = sec.id "
               " JOIN county cy ON cy.id = sec.county_id GROUP BY sec.id, cy.code) x",
               _f(f"{_CODE_NAME}; stations:i:stations in the sector; {_COUNTY}"), "multipolygon"),
    Collection("stations", "Police stations (派出所)", "Station jurisdictions (union of their zones).",
               "(SELECT s.code, s.name, s.kind, s.phone, s.address, sec.code AS sector_code, "
               " ST_X(s.seat) AS seat_lon, ST_Y(s.seat) AS seat_lat, s.geom, cy.code AS county_code "
               " FROM station s JOIN sector sec ON sec.id = s.sector_id "
               " JOIN county cy ON cy.id = sec.county_id) x",
               _f(f"{_CODE_NAME}; kind:s:urban | central | rural; phone:s:phone; address:s:address; "
                  "sector_code:s:sector; seat_lon:n:longitude of the seat; "
                  f"seat_lat:n:latitude of the seat; {_COUNTY}"), "multipolygon"),
    Collection("zones", "Responsibility zones (警务责任区)", "Community-policing zones (union of grids).",
               "(SELECT z.code, z.name, z.kind, z.has_office, s.code AS station_code, z.geom, "
               " cy.code AS county_code FROM zone z JOIN station s ON s.id = z.station_id "
               " JOIN sector sec ON sec.id = s.sector_id JOIN county cy ON cy.id = sec.county_id) x",
               _f(f"{_CODE_NAME}; kind:s:urban | rural; has_office:b:has a 警务室; "
                  f"station_code:s:station; {_COUNTY}"), "multipolygon"),
    Collection("grids", "Grids (网格)", "The atomic units of coverage, with address and incident figures.",
               "(SELECT g.code, g.name, z.code AS zone_code, s.code AS station_code, "
               " c.code AS community_code, g.geom, coalesce(st.population, 0) AS population, "
               " coalesce(st.households, 0) AS households, coalesce(st.addresses, 0) AS addresses, "
               " coalesce(st.incidents, 0) AS incidents, cy.code AS county_code "
               " FROM grid g JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id "
               " JOIN community c ON c.id = g.community_id JOIN township t ON t.id = c.township_id "
               " JOIN county cy ON cy.id = t.county_id "
               " LEFT JOIN tile_grid_stats st ON st.grid_id = g.id) x",
               _f(f"{_CODE_NAME}; zone_code:s:zone; station_code:s:station; "
                  "community_code:s:village or community; population:i:actual population; "
                  "households:i:households; addresses:i:address points; incidents:i:incidents; "
                  f"{_COUNTY}"),
               "multipolygon"),
    Collection("communities", "Villages and communities (村/社区)",
               "Administrative villages and communities.",
               "(SELECT c.code, c.name, c.kind, t.code AS township_code, c.geom, cy.code AS county_code "
               " FROM community c JOIN township t ON t.id = c.township_id "
               " JOIN county cy ON cy.id = t.county_id) x",
               _f(f"{_CODE_NAME}; kind:s:community | village; township_code:s:township; {_COUNTY}"),
               "multipolygon"),
    Collection("townships", "Townships and streets (乡镇/街道)", "Administrative townships and streets.",
               "(SELECT t.code, t.name, t.kind, t.geom, cy.code AS county_code "
               " FROM township t JOIN county cy ON cy.id = t.county_id) x",
               _f(f"{_CODE_NAME}; kind:s:street | town | township; {_COUNTY}"), "multipolygon"),
    Collection("addresses", "Address points (标准地址)", "Standard addresses with actual population.",
               "(SELECT a.code, a.address, a.households, a.population, a.houses, a.units, "
               " g.code AS grid_code, a.geom, cy.code AS county_code, a.county_code AS part_key "
               f" FROM address_point a {_POINT_COUNTY.format(p='a')}) x",
               _f("code:s:code (the feature id); address:s:address; households:i:households; "
                  "population:i:actual population; houses:i:houses; units:i:units; grid_code:s:grid; "
                  f"{_COUNTY}"),
               "point", partition_key="part_key"),
    Collection("incidents", "Incidents (警情)", "Reported incidents with time, category and grid.",
               "(SELECT i.code, i.category, i.occurred_at, g.code AS grid_code, i.geom, "
               " cy.code AS county_code, i.county_code AS part_key "
               f" FROM incident i {_POINT_COUNTY.format(p='i')}) x",
               _f("code:s:code (the feature id); category:s:category; occurred_at:t:when it occurred; "
                  f"grid_code:s:grid; {_COUNTY}"), "point", temporal="occurred_at",
               partition_key="part_key"),
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
    # more SQL conditions over x with their bound parameters (CQL2 filters, property filters:
    # built by jurisgrid/ogc from the collection's fields only, values always bound)
    conditions: tuple[str, ...] = ()
    params: dict[str, Any] = dc_field(default_factory=dict)
    order_by: str = "x.code"          # ORDER BY over x (ogc/sortby.py); ends with a unique key


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
    conds.extend(f"({cond})" for cond in q.conditions)
    params.update(q.params)
    return (" WHERE " + " AND ".join(conds)) if conds else "", params


def _feature_sql(c: Collection) -> str:
    return (f"SELECT x.code AS id, ST_AsGeoJSON(x.geom, 7)::json AS geometry, "
            f"json_build_object({c.props}) AS properties FROM {c.source}")


def items(conn: Connection, c: Collection, q: ItemQuery) -> tuple[list[dict[str, Any]], int]:
    """One page of features (ordered by ``q.order_by``, by code by default) and the number
    matched by the filters."""
    where, params = _where(c, q)
    matched = conn.execute(text(f"SELECT count(*) FROM {c.source}{where}"), params).scalar_one()
    rows = conn.execute(text(f"{_feature_sql(c)}{where} ORDER BY {q.order_by} LIMIT :lim OFFSET :off"),
                        {**params, "lim": q.limit, "off": q.offset}).mappings().all()
    return [feature(r) for r in rows], int(matched)


def item(conn: Connection, c: Collection, fid: str, county: str | None = None,
         keys: Sequence[str] | None = None) -> dict[str, Any]:
    """One feature by code; with ``county`` (a county-scoped reader), only one of that county —
    a feature elsewhere is NotFound, as a code that does not exist. ``keys``: read only the
    partitions of these keys (a collection with a ``partition_key``; ogc/partitions.py)."""
    where = " WHERE x.code = :fid" + ("" if county is None else " AND x.county_code = :county")
    if keys is not None:
        if c.partition_key is None:
            raise ValueError(f"collection {c.id} is not partitioned")
        where += f" AND x.{c.partition_key} = ANY(:keys)"
    row = conn.execute(text(f"{_feature_sql(c)}{where}"),
                       {"fid": fid, "county": county, "keys": list(keys or ())}).mappings().first()
    if row is None:
        raise NotFound(f"no feature {fid!r} in collection {c.id!r}")
    return feature(row)


def feature(row: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": row["id"], "geometry": row["geometry"],
            "properties": row["properties"]}


def data_extent(conn: Connection, county: str | None = None
                ) -> tuple[list[float] | None, list[str | None]]:
    """The counties' bbox (every collection lies inside it) and the incidents' time span — of
    one county when ``county`` is given."""
    if county is None:
        sql = ("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), "
               "(SELECT min(occurred_at) FROM incident), (SELECT max(occurred_at) FROM incident) "
               "FROM (SELECT ST_Extent(geom) AS e FROM county) q")
    else:
        sql = ("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), s.t0, s.t1 "
               "FROM (SELECT ST_Extent(geom) AS e FROM county WHERE code = :county) q, "
               "(SELECT min(x.occurred_at) AS t0, max(x.occurred_at) AS t1 FROM "
               f"{COLLECTIONS['incidents'].source} WHERE x.county_code = :county) s")
    row = conn.execute(text(sql), {"county": county}).one()
    bbox = None if row[0] is None else [float(v) for v in row[:4]]
    span = [None if t is None else t.isoformat().replace("+00:00", "Z") for t in row[4:]]
    return bbox, span
