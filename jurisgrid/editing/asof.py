"""``asOf`` reads: the jurisdiction as it was — or, for a future instant, as it will be.

Past and present instants read the history tables (``valid @> T``). A future instant T first
applies, in a transaction that is always rolled back, the scheduled edits due by T (each as a
revision effective at its instant, so the history tables then say what holds at T), and reads
the same way. Nothing is ever written by a read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from jurisgrid.config import EditSettings
from jurisgrid.models.asof import rows_by_ids
from jurisgrid.models.sqlfiles import named_statements

T = TypeVar("T")


SQL = named_statements("editing_asof.sql")


def as_of_call(engine: Engine, when: datetime, fn: Callable[..., T], /, *args: Any,
               settings: EditSettings, **kwargs: Any) -> T:
    """``fn(conn, *args, **kwargs)`` seeing the data as of ``when``; always rolled back."""
    as_of = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    with engine.connect() as conn:
        try:
            if as_of > datetime.now(UTC):
                pending = conn.exec_driver_sql(
                    "SELECT EXISTS (SELECT 1 FROM scheduled_edit WHERE applied_revision IS NULL "
                    "AND cancelled_at IS NULL AND effective_from <= %(t)s)", {"t": as_of}).scalar_one()
                if pending:
                    from jurisgrid.editing.schedule import apply_pending_until

                    apply_pending_until(conn, as_of, settings=settings)
            return fn(conn, *args, **kwargs)
        finally:
            conn.rollback()


def responsible_as_of(conn: Connection, *, lon: float, lat: float, as_of: datetime) -> dict[str, Any]:
    """Rows of grid/zone/station/community in force at ``as_of`` for a point, plus officers."""
    row = conn.exec_driver_sql(SQL["responsible_as_of"],
                               {"lon": lon, "lat": lat, "t": as_of}).mappings().one_or_none()
    if row is None:
        return {"grid": None, "zone": None, "station": None, "community": None, "officers": [],
                "on_boundary": False, "boundary_m": None}
    units: dict[str, Any] = {}
    for table in ("grid", "zone", "station", "community"):
        uid = row[f"{table}_id"]
        units[table] = rows_by_ids(conn, as_of, table, [uid]).get(uid) if uid is not None else None
    officers = [dict(r) for r in conn.exec_driver_sql(SQL["officers_as_of"], {
        "t": as_of, "zone": row["zone_id"], "community": row["community_id"],
        "grid": row["grid_id"]}).mappings()]
    return {**units, "officers": officers, "on_boundary": bool(row["on_boundary"]),
            "boundary_m": float(row["boundary_m"]) if row["boundary_m"] is not None else None}
