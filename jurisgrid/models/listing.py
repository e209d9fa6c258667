"""Filtered, keyset-paginated lists of units (ordered by code) under a source, and their counts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from geoalchemy2 import Geography
from geoalchemy2 import functions as gf
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, Connection, FromClause, cast, func, literal, or_, select

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.earth import METRES_PER_DEGREE
from jurisgrid.models.rows import Row, columns, run
from jurisgrid.models.source import Source

TEXT_COLUMN = {"address_point": "address", "incident": "category"}


@dataclass
class ListFilter:
    """All optional; geometry in WGS 84. ``parents`` maps a foreign-key column to a parent code
    (e.g. ``{"zone_id": ("zone", "511725PS01Z01")}``)."""

    bbox: tuple[float, float, float, float] | None = None
    intersects: BaseGeometry | None = None
    within: tuple[float, float, float] | None = None   # lon, lat, metres
    code: str | None = None
    codes: list[str] | None = None
    search: str | None = None
    parents: dict[str, tuple[str, str]] = field(default_factory=dict)
    via_zone_station: str | None = None                  # grids of a station (through zones)
    since: datetime | None = None
    until: datetime | None = None
    category: str | None = None


def _where(src: Source, table: str, tb: FromClause, f: ListFilter) -> list[ColumnElement[bool]]:
    """``f`` on the rows ``tb`` of ``table`` under ``src``: spatial filters on the geometry
    then, parents by their code then."""
    conds: list[ColumnElement[bool]] = []
    if f.bbox is not None or f.intersects is not None or f.within is not None:
        if "geom" not in tb.c:
            raise InvalidInput(f"{table} has no geometry: bbox, intersects and withinDistance "
                               "do not apply")
        conds += _spatial(tb.c.geom, f)
    if f.code is not None:
        conds.append(tb.c.code == f.code)
    if f.codes is not None:
        conds.append(tb.c.code.in_(f.codes))
    if f.search and f.search.strip():
        col = tb.c[TEXT_COLUMN.get(table, "name")]
        # spaces do not count: "南坝路1号" finds "南坝路 1号" and the other way round
        term = "".join(f.search.split())
        like = "%" + term.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        conds.append(or_(func.replace(col, " ", "").ilike(like),
                         tb.c.code.startswith(f.search.strip(), autoescape=True)))
    for fk, (parent_table, parent_code) in f.parents.items():
        ptb = src.rows(parent_table)
        conds.append(tb.c[fk].in_(select(ptb.c.id).where(ptb.c.code == parent_code)))
    if f.via_zone_station is not None:
        z, s = src.rows("zone"), src.rows("station")
        conds.append(tb.c.zone_id.in_(
            select(z.c.id).join(s, s.c.id == z.c.station_id).where(s.c.code == f.via_zone_station)))
    if f.since is not None:
        conds.append(tb.c.occurred_at >= f.since)
    if f.until is not None:
        conds.append(tb.c.occurred_at < f.until)
    if f.category is not None:
        conds.append(tb.c.category == f.category)
    return conds


def _spatial(geom: Any, f: ListFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.bbox is not None:
        env = func.ST_MakeEnvelope(*f.bbox, 4326)
        conds.append(gf.ST_Intersects(geom, env))
    if f.intersects is not None:
        g = func.ST_GeomFromWKB(literal(f.intersects.wkb), 4326)
        conds.append(gf.ST_Intersects(geom, g))
    if f.within is not None:
        lon, lat, metres = f.within
        p = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
        # index-friendly prefilter in degrees (generous), then the exact test in metres
        deg = metres / METRES_PER_DEGREE * 1.5 + 1e-6
        deg_lon = deg / max(0.01, math.cos(math.radians(lat)))
        conds.append(gf.ST_DWithin(geom, p, max(deg, deg_lon)))
        conds.append(func.ST_DWithin(cast(geom, Geography), cast(p, Geography), metres))
    return conds


def page(conn: Connection, src: Source, table: str, f: ListFilter, *, first: int,
         after: str | None = None) -> list[Row]:
    """Up to ``first + 1`` rows after the code ``after`` (the extra row tells hasNextPage)."""
    tb = src.rows(table)
    conds = _where(src, table, tb, f)
    if after is not None:
        conds.append(tb.c.code > after)
    q = columns(tb, table).where(*conds).order_by(tb.c.code).limit(first + 1)
    return run(conn, src, q)


def count(conn: Connection, src: Source, table: str, f: ListFilter) -> int:
    tb = src.rows(table)
    q = select(func.count()).select_from(tb).where(*_where(src, table, tb, f))
    return int(conn.execute(q).scalar_one())
