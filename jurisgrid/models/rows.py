"""Plain rows of the unit tables under a :class:`~jurisgrid.models.source.Source`: every
column but geometry, as dicts keyed by column name, batched by id, code or parent.

The GraphQL node types are built from these rows; geometry is fetched separately, on demand
(models/geometry.py). Rows from a source other than the live one carry it
(``Source.tag``), so that what is read through them comes from the same source.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import ColumnElement, Connection, FromClause, Select, Table, func, select

from jurisgrid.models import point_scope
from jurisgrid.models import tables as t
from jurisgrid.models.source import Source

Row = dict[str, Any]

TABLES: dict[str, Table] = {tb.name: tb for tb in t.metadata.sorted_tables}
POINT_TABLES = point_scope.POINT_TABLES  # the partitioned point tables


def scalar_columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table].columns if not isinstance(c.type, Geometry)]


def prefixed_select(alias: str, table: str, prefix: str) -> str:
    """``a.id AS p__id, a.code AS p__code, …`` for raw SQL that fetches several units at once."""
    return ", ".join(f"{alias}.{c} AS {prefix}__{c}" for c in scalar_columns(table))


def split_prefixed(row: Row, prefix: str) -> Row | None:
    """The inverse of :func:`prefixed_select`: None when the unit's id is NULL (outer join)."""
    start = prefix + "__"
    out = {k[len(start):]: v for k, v in row.items() if k.startswith(start)}
    return out if out.get("id") is not None else None


def columns(tb: FromClause, table: str) -> Select[Any]:
    """``SELECT`` the scalar columns of ``table`` from ``tb`` (its rows under some source)."""
    return select(*[tb.c[c] for c in scalar_columns(table)])


def run(conn: Connection, src: Source, q: Select[Any]) -> list[Row]:
    return [src.tag(dict(r)) for r in conn.execute(q).mappings()]


def rows_by_ids(conn: Connection, src: Source, table: str, ids: Iterable[int]) -> dict[int, Row]:
    tb = src.rows(table)
    q = columns(tb, table).where(tb.c.id.in_(list(set(ids))))
    return {r["id"]: r for r in run(conn, src, q)}


def rows_by_codes(conn: Connection, src: Source, table: str,
                  codes: Iterable[str]) -> dict[str, Row]:
    """The rows of the codes. Address points and incidents are looked for first in the
    county partition their code names (models/point_scope.py: a guess), then — the codes not
    found there — in every partition."""
    tb = src.rows(table)
    wanted = sorted(set(codes))
    out: dict[str, Row] = {}
    if point_scope.partitioned(tb) and wanted:
        snap = point_scope.cached(conn)  # the county codes: a guess, checked by the fallback
        guessed = {c: snap.guess_county(c) for c in wanted}
        counties = sorted({k for k in guessed.values() if k is not None})
        if counties:
            q = columns(tb, table).where(tb.c.code.in_([c for c in wanted if guessed[c]]),
                                         tb.c.county_code.in_(counties))
            out = {r["code"]: r for r in run(conn, src, q)}
            wanted = [c for c in wanted if c not in out]
            if not wanted:
                return out
    q = columns(tb, table).where(tb.c.code.in_(wanted))
    return {**out, **{r["code"]: r for r in run(conn, src, q)}}


def rows_by_parent(conn: Connection, src: Source, table: str, fk: str,
                   parent_ids: Iterable[int]) -> dict[int, list[Row]]:
    """The rows whose ``fk`` is one of the parents, by parent, ordered by code (or id)."""
    tb = src.rows(table)
    q = (columns(tb, table).where(tb.c[fk].in_(list(set(parent_ids))))
         .order_by(tb.c["code" if "code" in tb.c else "id"]))
    out: dict[int, list[Row]] = {}
    for r in run(conn, src, q):
        out.setdefault(r[fk], []).append(r)
    return out


def points_by_grid(conn: Connection, src: Source, table: str, grid_ids: Iterable[int], *,
                   first: int, since: datetime | None = None,
                   until: datetime | None = None) -> dict[int, list[Row]]:
    """The first ``first`` address points / incidents (by code) of each grid, in one statement;
    ``since``/``until`` bound ``occurred_at``. A point's grid is its stored ``grid_id`` where the
    source keeps membership, else the grid the boundary rule gives it under the source
    (``jg_grid_at(geom, at, future)``) among the grids within the tolerance of it."""
    if table not in POINT_TABLES:
        raise KeyError(table)
    p = src.rows(table)
    ids = list(set(grid_ids))
    conds: list[ColumnElement[bool]] = []
    if since is not None:
        conds.append(p.c.occurred_at >= since)
    if until is not None:
        conds.append(p.c.occurred_at < until)
    cols = [p.c[c] for c in scalar_columns(table) if c != "grid_id"]
    if src.stores_membership:
        grid_id: Any = p.c.grid_id
        frm: Any = p
        conds.append(grid_id.in_(ids))
        if point_scope.partitioned(p) and ids:  # a grid's points are in its county's partition
            counties = point_scope.counties_of_grids(conn, ids)
            if counties is not None:
                conds.append(p.c.county_code.in_(list(counties)))
    else:
        g = src.rows("grid")
        grid_id = g.c.id
        frm = p.join(g, func.ST_DWithin(g.c.geom, p.c.geom, func.jg_tolerance()))
        conds += [g.c.id.in_(ids), func.jg_grid_at(p.c.geom, *src.rule_args()) == g.c.id]
    rank = func.row_number().over(partition_by=grid_id, order_by=p.c.code).label("rank_")
    sub = (select(*cols, grid_id.label("grid_id"), rank).select_from(frm).where(*conds)
           .subquery())
    q = (select(*[sub.c[c] for c in scalar_columns(table)]).where(sub.c.rank_ <= first)
         .order_by(sub.c.grid_id, sub.c.code))
    out: dict[int, list[Row]] = {}
    for r in run(conn, src, q):
        out.setdefault(r["grid_id"], []).append(r)
    return out
