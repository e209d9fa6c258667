"""Filtered, keyset-paginated lists of units under a source, and their counts.

Fixed filters (``bbox``, ``code``, parents …) and the typed ``filter`` (models/filters.py) are
ANDed; the order is ``order`` then the code; pages go forwards (``first``/``after``) or
backwards (``last``/``before``) by keyset on the sort values, each row carrying its cursor."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from geoalchemy2 import Geography
from geoalchemy2 import functions as gf
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, Connection, FromClause, Text, cast, func, literal, or_, select

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.earth import METRES_PER_DEGREE
from jurisgrid.models import county_scope, point_scope
from jurisgrid.models import filters as flt
from jurisgrid.models.rows import Row, columns
from jurisgrid.models.source import Source

T = TypeVar("T")
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
    county: str | None = None                            # units of one county (models/county_scope.py)
    filter: flt.Filter | None = None   # the typed filter (models/filters.py)
    # the partition keys (county codes) the rows can have, implied by the filters above — set
    # by :func:`pruned_read` so that the planner reads only those partitions; never a change of the
    # answer (models/point_scope.py)
    partitions: tuple[str, ...] | None = None


def _narrowed(conn: Connection, src: Source, table: str,
              f: ListFilter) -> tuple[ListFilter, point_scope.Version | None]:
    """``f`` with :attr:`ListFilter.partitions` set when ``table`` is a live point table and the
    filters bound the points' counties: a spatial filter (the counties whose reach meets its
    box) or a grid (its county) — and the data version the partitions were derived at (None:
    ``f`` unchanged). Unchanged also when a county is named (the county filter prunes by
    itself, models/county_scope.py)."""
    if (f.partitions is not None or f.county is not None or table not in point_scope.POINT_TABLES
            or not point_scope.partitioned(src.rows(table))):
        return f, None
    grid = f.parents.get("grid_id")
    box = point_scope.box_of(f.bbox, f.intersects, f.within,
                             None if f.within is None else _within_deg(f.within))
    if grid is None and box is None:
        return f, None
    snap = point_scope.snapshot(conn)
    keys: set[str] | None = None
    if box is not None:
        keys = set(snap.counties_in_box(*box))
    if grid is not None and src.stores_membership:
        county = snap.county_of_grid_code(conn, grid[1])
        if county is not None:
            keys = {county} if keys is None else keys & {county}
    if keys is None:
        return f, None
    # a box needs the version checked after the read (a reach may have grown meanwhile); a
    # grid's county does not change
    return replace(f, partitions=tuple(sorted(keys))), (snap.version if box is not None else None)


def pruned_read(conn: Connection, src: Source, table: str, f: ListFilter,
                read: Callable[[ListFilter], T]) -> T:
    """``read`` of ``f`` narrowed to the partitions it can touch (:func:`_narrowed`); read again,
    unnarrowed, when the data version moved between the partitions' snapshot and the read
    (an edit committed meanwhile may have grown a county's reach: models/point_scope.py)."""
    g, version = _narrowed(conn, src, table, f)
    return point_scope.checked_read(conn, version, lambda: read(g), lambda: read(f))


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
    if f.county is not None:
        conds.append(county_scope.condition(src, table, tb, f.county))
    if f.filter is not None:
        conds.append(flt.condition(table, tb, f.filter))
    if f.partitions is not None and point_scope.partitioned(tb):
        # one bound value each (not an expanding IN: json_lists compiles its text once)
        conds.append(tb.c.county_code.in_([literal(k, Text) for k in f.partitions]))
    return conds


def conditions(src: Source, table: str, tb: FromClause, f: ListFilter) -> list[ColumnElement[bool]]:
    """The conditions of the filter ``f`` (all of them: fixed, parents, typed) on ``tb``."""
    return _where(src, table, tb, f)


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
        conds.append(gf.ST_DWithin(geom, p, _within_deg(f.within)))
        conds.append(func.ST_DWithin(cast(geom, Geography), cast(p, Geography), metres))
    return conds


def _within_deg(within: tuple[float, float, float]) -> float:
    """The degrees of the ``within`` prefilter: every point within the metres lies within
    them of the centre (generous)."""
    _, lat, metres = within
    deg = metres / METRES_PER_DEGREE * 1.5 + 1e-6
    return max(deg, deg / max(0.01, math.cos(math.radians(lat))))


CURSOR = "_cursor"  # the key under which a listed row carries its cursor


@dataclass(frozen=True)
class Window:
    """Which page: ``size`` rows after ``after`` (forwards) or, with ``backwards``, the last
    ``size`` rows before ``before``; ``order`` then the code."""

    size: int
    after: str | None = None
    before: str | None = None
    backwards: bool = False
    order: tuple[flt.SortKey, ...] = ()


def page_parts(src: Source, table: str, f: ListFilter, w: Window
               ) -> tuple[FromClause, list[ColumnElement[bool]], list[ColumnElement[bool]],
                          list[tuple[Any, bool]]]:
    """The rows ``tb`` a page reads, the filter's conditions, the cursor's (keyset)
    conditions, and the sort expressions (expression, descending) ending with the code."""
    tb = src.rows(table)
    conds = _where(src, table, tb, f)
    exprs = flt.sort_exprs(table, tb, w.order)
    keyset = [flt.keyset(exprs, flt.decode_cursor(cur, len(exprs)), after)
              for cur, after in ((w.after, True), (w.before, False)) if cur is not None]
    return tb, conds, keyset, exprs


def page_select(src: Source, table: str, f: ListFilter, w: Window) -> tuple[Any, FromClause, int]:
    """The SELECT of a page's rows (``size + 1`` of them, in the page's direction: the extra
    one tells whether there is more), each with its sort values labelled ``_k0`` …; and the
    rows ``tb`` it reads, and the number of sort values."""
    tb, conds, keyset, exprs = page_parts(src, table, f, w)
    keys = [e.label(f"_k{i}") for i, (e, _) in enumerate(exprs)]
    q = (columns(tb, table).add_columns(*keys).where(*conds, *keyset)
         .order_by(*flt.order_by(exprs, w.backwards)).limit(w.size + 1))
    return q, tb, len(exprs)


def page(conn: Connection, src: Source, table: str, f: ListFilter, *, first: int,
         after: str | None = None, window: Window | None = None) -> list[Row]:
    """Up to ``size + 1`` rows in the window's order (the extra row tells hasNextPage, or
    hasPreviousPage backwards: then the rows come last first), each with its cursor under
    :data:`CURSOR`."""
    w = window or Window(size=first, after=after)
    keyed = not flt.is_default(w.order)

    def read(g: ListFilter) -> list[Row]:
        q, _, n = page_select(src, table, g, w)
        out = []
        for r in conn.execute(q).mappings():
            row = {k: v for k, v in r.items() if not k.startswith("_k")}
            row[CURSOR] = flt.encode_cursor([r[f"_k{i}"] for i in range(n)], keyed)
            out.append(src.tag(row))
        return out

    return pruned_read(conn, src, table, f, read)


def count(conn: Connection, src: Source, table: str, f: ListFilter) -> int:
    tb = src.rows(table)

    def read(g: ListFilter) -> int:
        q = select(func.count()).select_from(tb).where(*_where(src, table, tb, g))
        return int(conn.execute(q).scalar_one())

    return pruned_read(conn, src, table, f, read)
