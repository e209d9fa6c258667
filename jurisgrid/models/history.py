"""Reads of the revision log and of the past (``asOf``) from the history tables (migration 0003).

``asOf`` T ≤ now reads ``<table>_history WHERE valid @> T`` — the version in force at T.
``asOf`` T > now reads the current tables after applying, in a transaction that is rolled back,
the scheduled edits due by T (jurisgrid/editing/schedule.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from jurisgrid.models.rows import Row, scalar_columns

HISTORISED_READS = ("community", "station", "zone", "grid")

_REVISIONS = """
SELECT id, actor, role, at, effective_from, reason, kind, summary, reverts, reverted_by,
       ST_AsGeoJSON(changed_area, 7) AS changed_area
FROM revision
WHERE id > 0 AND (%(before)s::bigint IS NULL OR id < %(before)s)
  AND (%(since)s::timestamptz IS NULL OR at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR at < %(until)s)
  AND (%(actor)s::text IS NULL OR actor = %(actor)s)
  AND (%(kind)s::text IS NULL OR kind = %(kind)s)
  AND (%(code)s::text IS NULL OR summary->'grids' ? %(code)s OR summary->'zones' ? %(code)s
       OR summary->'stations' ? %(code)s OR summary->'communities' ? %(code)s)
ORDER BY id DESC LIMIT %(n)s
"""


def revisions(conn: Connection, *, first: int, before: int | None = None,
              since: datetime | None = None, until: datetime | None = None,
              actor: str | None = None, kind: str | None = None,
              code: str | None = None) -> list[Row]:
    rows = conn.exec_driver_sql(_REVISIONS, {"before": before, "since": since, "until": until,
                                             "actor": actor, "kind": kind, "code": code,
                                             "n": first}).mappings()
    out = []
    for r in rows:
        d = dict(r)
        d["changed_area"] = json.loads(d["changed_area"]) if d["changed_area"] else None
        out.append(d)
    return out


SCHEDULED_COLUMNS = ("id, operation, args, actor, reason, effective_from, applied_revision, "
                     "cancelled_at, cancelled_by, cancel_reason, error")


def scheduled(conn: Connection, *, pending_only: bool = False) -> list[Row]:
    where = " WHERE applied_revision IS NULL AND cancelled_at IS NULL" if pending_only else ""
    return [dict(r) for r in conn.exec_driver_sql(
        f"SELECT {SCHEDULED_COLUMNS} FROM scheduled_edit{where} ORDER BY effective_from, id").mappings()]


def rows_as_of(conn: Connection, table: str, as_of: datetime, *, codes: list[str] | None = None,
               ids: list[int] | None = None, parent: tuple[str, int] | None = None) -> list[Row]:
    """The versions of ``table`` in force at ``as_of`` (≤ now), optionally by code / id / parent."""
    if table not in HISTORISED_READS:
        raise ValueError(f"{table} has no history")
    cols = ", ".join(scalar_columns(table))
    conds = ["valid @> %(t)s::timestamptz"]
    params: dict[str, Any] = {"t": as_of}
    if codes is not None:
        conds.append("code = ANY(%(codes)s)")
        params["codes"] = codes
    if ids is not None:
        conds.append("id = ANY(%(ids)s)")
        params["ids"] = ids
    if parent is not None:
        conds.append(f"{parent[0]} = %(pid)s")
        params["pid"] = parent[1]
    sql = f"SELECT {cols} FROM {table}_history WHERE {' AND '.join(conds)} ORDER BY code"
    return [dict(r) for r in conn.exec_driver_sql(sql, params).mappings()]


def is_future(as_of: datetime) -> bool:
    return as_of > datetime.now(UTC)
