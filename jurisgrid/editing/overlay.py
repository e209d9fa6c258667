"""Writing a plan's overlay over the live tables — the part
of plan editing that publishing shares (editing/plans.py simulates with it, editing/publish.py
commits with it). Imports nothing from the edit runner, so the ``publishPlan`` operation can be
registered with the others without an import cycle."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import Connection

from jurisgrid.models.tables import metadata

__all__ = ["DERIVED", "ORDER", "apply_overlay", "columns", "geometry_columns"]

# parents before children (inserts, updates); children before parents (deletes)
ORDER = ("community", "station", "zone", "grid", "person", "assignment")
# derived from the grids (models/derived.py): recomputed, never written from a plan
DERIVED = {"zone": ("geom",), "station": ("geom",)}


def geometry_columns(table: str) -> set[str]:
    return {c.name for c in metadata.tables[table].columns if isinstance(c.type, Geometry)}


def columns(table: str) -> list[str]:
    return [c.name for c in metadata.tables[table].columns]


def apply_overlay(conn: Connection, plan_id: int) -> None:
    """Write plan ``plan_id``'s overlay over the live tables, in the caller's open revision: its
    rows inserted or updated where they differ (derived outlines left for ``close_revision``),
    its deleted rows deleted. A row equal to the live one is not written, so it does not count
    as changed (optimistic locking at publish)."""
    p = {"p": plan_id}
    for t in ORDER:
        cols = columns(t)
        own = [c for c in cols if c != "id" and c not in DERIVED.get(t, ())]
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in own)
        differ = (f"({', '.join(f'{t}.{c}' for c in own)}) IS DISTINCT FROM "
                  f"({', '.join(f'EXCLUDED.{c}' for c in own)})")
        conn.exec_driver_sql(
            f"INSERT INTO {t} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM plan_{t} "
            f"WHERE plan_id = %(p)s AND NOT deleted ORDER BY id "
            f"ON CONFLICT (id) DO UPDATE SET {sets} WHERE {differ}", p)
    for t in reversed(ORDER):
        conn.exec_driver_sql(f"DELETE FROM {t} WHERE id IN (SELECT id FROM plan_{t} "
                             "WHERE plan_id = %(p)s AND deleted)", p)
