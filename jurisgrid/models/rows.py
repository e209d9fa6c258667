"""Plain rows of the unit tables: every column but geometry, as dicts keyed by column name.

The GraphQL node types are built from these rows; geometry is fetched separately, on demand.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import ColumnElement, Connection, Table, and_, func, select

from jurisgrid.models import tables as t

Row = dict[str, Any]

TABLES: dict[str, Table] = {tb.name: tb for tb in t.metadata.sorted_tables}


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


def rows_by_ids(conn: Connection, table: str, ids: Iterable[int]) -> dict[int, Row]:
    tb = TABLES[table]
    cols = [tb.c[c] for c in scalar_columns(table)]
    res = conn.execute(select(*cols).where(tb.c.id.in_(list(set(ids)))))
    return {r["id"]: dict(r) for r in res.mappings()}


def rows_by_codes(conn: Connection, table: str, codes: Iterable[str]) -> dict[str, Row]:
    tb = TABLES[table]
    cols = [tb.c[c] for c in scalar_columns(table)]
    res = conn.execute(select(*cols).where(tb.c.code.in_(list(set(codes)))))
    return {r["code"]: dict(r) for r in res.mappings()}


def rows_by_parent(conn: Connection, table: str, fk: str, parent_ids: Iterable[int],
                   *, order_by: str = "code") -> dict[int, list[Row]]:
    tb = TABLES[table]
    if order_by not in tb.c:
        order_by = "id"
    cols = [tb.c[c] for c in scalar_columns(table)]
    res = conn.execute(
        select(*cols).where(tb.c[fk].in_(list(set(parent_ids)))).order_by(tb.c[order_by])
    )
    out: dict[int, list[Row]] = {}
    for r in res.mappings():
        out.setdefault(r[fk], []).append(dict(r))
    return out


def first_rows_by_parent(conn: Connection, table: str, fk: str, parent_ids: Iterable[int], *,
                         first: int, since: datetime | None = None,
                         until: datetime | None = None) -> dict[int, list[Row]]:
    """The first ``first`` rows (by code) of each parent, in one statement; ``since``/``until``
    bound ``occurred_at`` for tables that have it."""
    tb = TABLES[table]
    conds: list[ColumnElement[bool]] = [tb.c[fk].in_(list(set(parent_ids)))]
    if since is not None:
        conds.append(tb.c.occurred_at >= since)
    if until is not None:
        conds.append(tb.c.occurred_at < until)
    rank = func.row_number().over(partition_by=tb.c[fk], order_by=tb.c.code).label("rank_")
    sub = select(*[tb.c[c] for c in scalar_columns(table)], rank).where(and_(*conds)).subquery()
    q = (select(*[sub.c[c] for c in scalar_columns(table)]).where(sub.c.rank_ <= first)
         .order_by(sub.c[fk], sub.c.code))
    out: dict[int, list[Row]] = {}
    for r in conn.execute(q).mappings():
        out.setdefault(r[fk], []).append(dict(r))
    return out
