"""Staffing-norm breaches an edit creates or clears, for its dry run.

The dry run executes the edit inside a savepoint, reads the breaches of the stations it touches
(analytics/compliance.py, on the roll-ups the edit has just updated), rolls the savepoint back
and reads them again: the difference is what committing would change. Only dry runs pay for it;
the transaction is rolled back anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from jurisgrid.analytics.compliance import Breach, compliance

Key = tuple[str, str, str]  # rule, level, unit code


# every station a revision's versions point at, before or after: of the grids (through their
# zones), zones, stations and officer assignments it changed
_TOUCHED = """
SELECT DISTINCT s.code FROM station s WHERE s.id IN (
  SELECT z.station_id FROM grid_history g JOIN zone z ON z.id = g.zone_id
   WHERE %(r)s IN (g.rev_from, g.rev_to)
  UNION SELECT station_id FROM zone_history WHERE %(r)s IN (rev_from, rev_to)
  UNION SELECT id FROM station_history WHERE %(r)s IN (rev_from, rev_to)
  UNION SELECT station_id FROM assignment_history WHERE %(r)s IN (rev_from, rev_to))
ORDER BY 1
"""


def stations_touched(conn: Connection, revision: int) -> list[str]:
    """The stations whose staffing figures the (open) revision may change."""
    return [c for (c,) in conn.exec_driver_sql(_TOUCHED, {"r": revision})]


def breaches(conn: Connection, stations: Iterable[str]) -> dict[Key, Breach]:
    out: dict[Key, Breach] = {}
    for code in stations:
        if conn.exec_driver_sql("SELECT 1 FROM station WHERE code = %(c)s", {"c": code}).first() is None:
            continue  # a station the edit created (gone after the rollback) or retired
        for b in compliance(conn, station=code)[1]:
            out[(b.rule, b.level, b.code)] = b
    return out


def staffing_warnings(before: dict[Key, Breach], after: dict[Key, Breach]) -> list[dict[str, Any]]:
    """STAFFING_BREACH_CREATED / _CLEARED, one warning per breach that appears or goes away."""
    out: list[dict[str, Any]] = []
    for key in sorted(after.keys() - before.keys()):
        b = after[key]
        out.append({"code": "STAFFING_BREACH_CREATED", "units": [b.code], "rule": b.rule,
                    "value": b.value, "limit": b.limit, "message": f"creates a breach: {b.message}"})
    for key in sorted(before.keys() - after.keys()):
        b = before[key]
        out.append({"code": "STAFFING_BREACH_CLEARED", "units": [b.code], "rule": b.rule,
                    "value": b.value, "limit": b.limit, "message": f"clears a breach: {b.message}"})
    return out
