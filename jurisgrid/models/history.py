"""Reads of the revision log and the scheduled edits (migration 0003). Rows *as of* an
instant are read through jurisgrid/models/source.AsOf."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection

from jurisgrid.models.rows import Row
from jurisgrid.models.scheduled import PENDING

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
                     "cancelled_at, cancelled_by, cancel_reason, error, status, error_code, "
                     "conflicts, station_code, base_revision")


def scheduled(conn: Connection, *, pending_only: bool = False) -> list[Row]:
    where = f" WHERE {PENDING}" if pending_only else ""
    return [dict(r) for r in conn.exec_driver_sql(
        f"SELECT {SCHEDULED_COLUMNS} FROM scheduled_edit{where} ORDER BY effective_from, id").mappings()]
