"""Geometry of units under a source, fetched by id, optionally simplified in PostGIS before it
leaves."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select

from jurisgrid.models.rows import TABLES
from jurisgrid.models.source import Source


def fetch_wkb(conn: Connection, src: Source, table: str, column: str, ids: Iterable[int], *,
              simplify_deg: float = 0.0) -> dict[int, bytes | None]:
    """WKB of ``table.column`` for the ids; with a tolerance, topology-preserving simplified."""
    if table not in TABLES or column not in TABLES[table].c:
        raise KeyError(f"{table}.{column}")
    tb = src.rows(table)
    col: Any = tb.c[column]
    if simplify_deg > 0:
        col = func.ST_SimplifyPreserveTopology(col, simplify_deg)
    q = select(tb.c.id, func.ST_AsBinary(col)).where(tb.c.id.in_(list(set(ids))))
    return {r[0]: (bytes(r[1]) if r[1] is not None else None) for r in conn.execute(q)}
