"""Geometry of units, fetched by id, optionally simplified in PostGIS before it leaves."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from jurisgrid.models.rows import TABLES


def fetch_wkb(conn: Connection, table: str, column: str, ids: Iterable[int], *,
              simplify_deg: float = 0.0) -> dict[int, bytes | None]:
    """WKB of ``table.column`` for the ids; with a tolerance, topology-preserving simplified."""
    if table not in TABLES or column not in TABLES[table].c:
        raise KeyError(f"{table}.{column}")
    expr = column
    if simplify_deg > 0:
        expr = f"ST_SimplifyPreserveTopology({column}, %(tol)s)"
    sql = f"SELECT id, ST_AsBinary({expr}) FROM {table} WHERE id = ANY(%(ids)s)"
    res = conn.exec_driver_sql(sql, {"ids": list(set(ids)), "tol": simplify_deg})
    return {r[0]: (bytes(r[1]) if r[1] is not None else None) for r in res}
