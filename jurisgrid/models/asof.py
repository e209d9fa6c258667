"""Rows, relations and geometry *as of an instant* T, batched like jurisgrid/models/rows.py.

Historised tables (jurisgrid/models/history_tables.HISTORISED: community, station, zone, grid,
person, assignment) are read from ``<table>_history WHERE valid @> T`` — the version in force at
T; the others (county, sector, township, address points, incidents) from the current tables.
Every row returned carries ``AS_OF: T``, so that the relations of a node built from it are read
as of T as well, to any depth (jurisgrid/gql/asof.py). Assignments are further limited to those
in force at T (``valid_from <= T < valid_to``). Address points and incidents are not historised:
under an as-of grid they are the current points, assigned to grids by the boundaries in force at
T with the boundary rule of ``jg_grid_at`` (smallest code within ``jg_tolerance()``).

T ≤ now only; a future T is read the same way inside ``editing.asof.as_of_call``, which first
applies the scheduled edits due by T in a transaction that is rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Select,
    Table,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
)

from jurisgrid.models.history_tables import HISTORISED
from jurisgrid.models.listing import ListFilter, _where
from jurisgrid.models.rows import TABLES, Row, scalar_columns

AS_OF = "_as_of"  # the key of a row read as of an instant: that instant


def as_of_of(row: Row) -> datetime | None:
    return row.get(AS_OF)


def tagged(row: Row, at: datetime) -> Row:
    """A copy of a row (e.g. a current one, shared in a request's cache) read as of ``at``."""
    return {**row, AS_OF: at}


def _source(table: str) -> tuple[Table, bool]:
    if table in HISTORISED:
        return TABLES[f"{table}_history"], True
    return TABLES[table], False


def _in_force(tb: Any, historised: bool, at: datetime) -> list[ColumnElement[bool]]:
    if not historised:
        return []
    t = bindparam(None, at, type_=DateTime(timezone=True))
    conds: list[ColumnElement[bool]] = [tb.c.valid.op("@>", is_comparison=True)(t)]
    if "valid_from" in tb.c:  # assignments: also their own validity
        conds += [tb.c.valid_from <= t, or_(tb.c.valid_to.is_(None), tb.c.valid_to > t)]
    return conds


def _select(table: str, at: datetime, *conds: ColumnElement[bool]) -> tuple[Table, Select[Any]]:
    tb, hist = _source(table)
    q = select(*[tb.c[c] for c in scalar_columns(table)]).where(*_in_force(tb, hist, at), *conds)
    return tb, q


def _run(conn: Connection, q: Select[Any], at: datetime) -> list[Row]:
    return [{**r, AS_OF: at} for r in conn.execute(q).mappings()]


def rows_by_ids(conn: Connection, at: datetime, table: str, ids: Iterable[int]) -> dict[int, Row]:
    tb, _ = _source(table)
    _, q = _select(table, at, tb.c.id.in_(list(set(ids))))
    return {r["id"]: r for r in _run(conn, q, at)}


def rows_by_codes(conn: Connection, at: datetime, table: str,
                  codes: Iterable[str]) -> dict[str, Row]:
    tb, _ = _source(table)
    _, q = _select(table, at, tb.c.code.in_(list(set(codes))))
    return {r["code"]: r for r in _run(conn, q, at)}


def rows_by_parent(conn: Connection, at: datetime, table: str, fk: str,
                   parent_ids: Iterable[int]) -> dict[int, list[Row]]:
    tb, _ = _source(table)
    _, q = _select(table, at, tb.c[fk].in_(list(set(parent_ids))))
    q = q.order_by(tb.c["code" if "code" in tb.c else "id"])
    out: dict[int, list[Row]] = {}
    for r in _run(conn, q, at):
        out.setdefault(r[fk], []).append(r)
    return out


def first_points_by_grid(conn: Connection, at: datetime, table: str, grid_ids: Iterable[int], *,
                         first: int, since: datetime | None = None,
                         until: datetime | None = None) -> dict[int, list[Row]]:
    """The first ``first`` address points / incidents (by code) of each grid as of ``at``: the
    current points whose grid by the boundaries in force at ``at`` is that grid."""
    p = TABLES[table]
    g, _ = _source("grid")
    o = g.alias("o")
    tol = func.jg_tolerance()
    conds: list[ColumnElement[bool]] = [
        *_in_force(g, True, at), g.c.id.in_(list(set(grid_ids))),
        ~exists().where(*_in_force(o, True, at), o.c.code < g.c.code,
                        func.ST_DWithin(o.c.geom, p.c.geom, tol)),
    ]
    if since is not None:
        conds.append(p.c.occurred_at >= since)
    if until is not None:
        conds.append(p.c.occurred_at < until)
    cols = [p.c[c] for c in scalar_columns(table) if c != "grid_id"]
    rank = func.row_number().over(partition_by=g.c.id, order_by=p.c.code).label("rank_")
    near = p.join(g, func.ST_DWithin(g.c.geom, p.c.geom, tol))
    sub = select(*cols, g.c.id.label("grid_id"), rank).select_from(near).where(*conds).subquery()
    q = (select(*[sub.c[c] for c in scalar_columns(table)]).where(sub.c.rank_ <= first)
         .order_by(sub.c.grid_id, sub.c.code))
    out: dict[int, list[Row]] = {}
    for r in _run(conn, q, at):
        out.setdefault(r["grid_id"], []).append(r)
    return out


def fetch_wkb(conn: Connection, at: datetime, table: str, column: str, ids: Iterable[int], *,
              simplify_deg: float = 0.0) -> dict[int, bytes | None]:
    """WKB of ``table.column`` as of ``at`` (see models/geometry.fetch_wkb)."""
    tb, hist = _source(table)
    col: Any = tb.c[column]
    if simplify_deg > 0:
        col = func.ST_SimplifyPreserveTopology(col, simplify_deg)
    q = select(tb.c.id, func.ST_AsBinary(col)).where(*_in_force(tb, hist, at),
                                                     tb.c.id.in_(list(set(ids))))
    return {r[0]: (bytes(r[1]) if r[1] is not None else None) for r in conn.execute(q)}


# -- lists ---------------------------------------------------------------------------------------
def _list_conds(at: datetime, table: str, f: ListFilter) -> tuple[Table, list[ColumnElement[bool]]]:
    """``f`` applied to the versions in force at ``at``: spatial filters on the geometry then
    (GiST-indexed for grids and zones), parents by their code then."""
    tb, hist = _source(table)
    own = ListFilter(bbox=f.bbox, intersects=f.intersects, within=f.within, code=f.code,
                     codes=f.codes, search=f.search, since=f.since, until=f.until,
                     category=f.category)
    conds: list[ColumnElement[bool]] = [*_in_force(tb, hist, at), *_where(tb.name, own)]
    for fk, (ptable, pcode) in f.parents.items():
        ptb, phist = _source(ptable)
        conds.append(tb.c[fk].in_(select(ptb.c.id).where(ptb.c.code == pcode,
                                                          *_in_force(ptb, phist, at))))
    if f.via_zone_station is not None:
        z, _ = _source("zone")
        s, _ = _source("station")
        conds.append(tb.c.zone_id.in_(
            select(z.c.id).join(s, and_(s.c.id == z.c.station_id, *_in_force(s, True, at)))
            .where(s.c.code == f.via_zone_station, *_in_force(z, True, at))))
    return tb, conds


def page(conn: Connection, at: datetime, table: str, f: ListFilter, *, first: int,
         after: str | None = None) -> list[Row]:
    """Up to ``first + 1`` rows as of ``at`` after the code ``after`` (see listing.page)."""
    tb, conds = _list_conds(at, table, f)
    if after is not None:
        conds.append(tb.c.code > after)
    q = (select(*[tb.c[c] for c in scalar_columns(table)]).where(*conds)
         .order_by(tb.c.code).limit(first + 1))
    return _run(conn, q, at)


def count(conn: Connection, at: datetime, table: str, f: ListFilter) -> int:
    tb, conds = _list_conds(at, table, f)
    return int(conn.execute(select(func.count()).select_from(tb).where(*conds)).scalar_one())
