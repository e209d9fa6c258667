"""Geometry of units under a source, fetched by id, optionally simplified in PostGIS before it
leaves."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select

from jurisgrid.models import point_scope
from jurisgrid.models.rows import TABLES
from jurisgrid.models.source import Source


def fetch_wkb(conn: Connection, src: Source, table: str, column: str, ids: Iterable[int], *,
              simplify_deg: float = 0.0,
              counties: Iterable[str] | None = None) -> dict[int, bytes | None]:
    """WKB of ``table.column`` for the ids; with a tolerance, topology-preserving simplified.

    ``counties``: for address points and incidents, the partition keys the caller read these
    ids with (its rows' ``county_code``): they are looked for there first — the planner then
    plans those partitions only (models/point_scope.py) — and any id not found there (moved
    meanwhile) in every partition."""
    if table not in TABLES or column not in TABLES[table].c:
        raise KeyError(f"{table}.{column}")
    tb = src.rows(table)
    col: Any = tb.c[column]
    if simplify_deg > 0:
        col = func.ST_SimplifyPreserveTopology(col, simplify_deg)

    def fetch(*where: Any) -> dict[int, bytes | None]:
        q = select(tb.c.id, func.ST_AsBinary(col)).where(*where)
        return {r[0]: (bytes(r[1]) if r[1] is not None else None) for r in conn.execute(q)}

    wanted = list(set(ids))
    out: dict[int, bytes | None] = {}
    keys = None if counties is None else sorted(set(counties))
    if keys and point_scope.partitioned(tb):
        out = fetch(tb.c.id.in_(wanted), tb.c.county_code.in_(keys))
        wanted = [i for i in wanted if i not in out]
        if not wanted:
            return out
    return {**out, **fetch(tb.c.id.in_(wanted))}
