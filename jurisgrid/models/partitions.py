"""Writing to the partitioned point tables (migration 0017; docs/design.md, "Scale").

``address_point`` and ``incident`` are partitioned by ``county_code`` (incidents also by local
month). PostgreSQL routes a row to its partition *before* any row trigger runs, so the writer
sets the county: the county of the point's grid, else of the county outline holding it
(``jg_point_county``), else '' (no county: the DEFAULT partition). A row inserted without one
still ends in its county — ``jg_rehome_point`` moves it after the insert — but at the price of
a second write, which bulk writers avoid with the statements here.

Monthly incident partitions are made before a bulk insert from the staged rows
(``jg_stage_incident_months``); anything that still lands in a county's DEFAULT month partition
is split out by :func:`split_incident_months` (the writers call it; ``jurisgrid db partitions``
runs it for every county).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection

from jurisgrid.errors import InvalidInput, RuleViolation

# the staged rows with their grid (by the boundary rule, jg_grid_of, where the stage has none)
# and their county, in a temp table ``{placed}``
_PLACE = """
CREATE TEMP TABLE {placed} ON COMMIT DROP AS
SELECT p.*, coalesce(gc.county_code, jg_outline_county(p.geom)) AS county_code
FROM (SELECT {cols}, s.geom, {grid} AS grid_id FROM {stage} s) p
LEFT JOIN jg_grid_county() gc ON gc.grid_id = p.grid_id
"""
_INSERT = """
INSERT INTO {table} ({cols}, geom, grid_id, county_code)
SELECT {cols}, geom, grid_id, county_code FROM {placed}
"""


def insert_staged(cur: Any, table: str, stage: str, cols: str, *, grid_known: bool,
                  refuse_taken: bool = False) -> None:
    """Insert the rows of the temp table ``stage`` (columns ``cols``, ``geom`` and, when
    ``grid_known``, ``grid_id``) into ``table``, each in its county's partition — and, for
    incidents, in its month's, made first. ``cur``: a DB-API cursor or a SQLAlchemy
    connection, in the caller's transaction.

    ``refuse_taken``: raise DUPLICATE_CODE, writing nothing, when a staged code is stored
    already — in any county: the unique key includes the partition key, so the database alone
    would take the same code in another county (or month)."""
    placed = f"{stage}_placed"
    rule = "(SELECT w FROM jg_grid_of(s.geom) w)"  # what the membership trigger would set
    grid = f"coalesce(s.grid_id, {rule})" if grid_known else rule
    run = cur.exec_driver_sql if isinstance(cur, Connection) else cur.execute
    if refuse_taken:
        found = run(f"SELECT s.code FROM {stage} s JOIN {table} t ON t.code = s.code "
                    "ORDER BY s.code LIMIT 5")
        taken = [r[0] for r in (found if isinstance(cur, Connection) else cur.fetchall())]
        if taken:
            raise RuleViolation("DUPLICATE_CODE", f"{table.replace('_', ' ')} code "
                                f"{', '.join(taken)} already exists",
                                details=[{"kind": table, "code": c} for c in taken])
    run(_PLACE.format(placed=placed, cols=cols, grid=grid, stage=stage))
    if table == "incident":
        run(f"SELECT jg_stage_incident_months('{placed}')")
    run(_INSERT.format(table=table, cols=cols, placed=placed))
    run(f"DROP TABLE {placed}")


def split_incident_months(conn: Connection, county: str | None = None) -> int:
    """Month partitions for the incidents in the DEFAULT month partition of ``county`` (every
    county when None); the rows move there. The number of partitions made."""
    return int(conn.exec_driver_sql("SELECT jg_incident_months(%(c)s)", {"c": county}).scalar_one())


def split_incident_months_of(conn: Connection, code: str) -> int:
    """:func:`split_incident_months` for the county of the incident ``code`` (after a write)."""
    return int(conn.exec_driver_sql(
        "SELECT coalesce(sum(jg_incident_months(county_code)), 0) FROM "
        "(SELECT DISTINCT county_code FROM incident WHERE code = %(c)s AND county_code <> '') s",
        {"c": code}).scalar_one())


def drop_incident_months(conn: Connection, before: str) -> list[tuple[str, int]]:
    """Retention: every month partition of every county for a local month before ``before``
    (``YYYY-MM``) goes — its rows deleted through the parent table, so that the roll-ups, the
    tile figures and the tile change log follow them (their statement triggers are on the
    parent; a bare ``DROP TABLE`` would bypass them), then the emptied table dropped, which
    returns its space at once. The partitions dropped, with their rows."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", before):
        raise InvalidInput(f"drop before: {before!r} is not a month (YYYY-MM)")
    cutoff = before.replace("-", "")
    months = conn.exec_driver_sql("""
        SELECT c.relname, p.relname FROM pg_partition_tree('incident') t
        JOIN pg_class c ON c.oid = t.relid JOIN pg_class p ON p.oid = t.parentrelid
        WHERE t.level = 2 AND t.isleaf AND c.relname ~ '_[0-9]{6}$' ORDER BY c.relname""").all()
    dropped = []
    for name, parent in months:
        month = name.rsplit("_", 1)[1]
        if month >= cutoff:
            continue
        county = parent.removeprefix("incident_")
        lo, hi = re.findall(r"'([^']+)'", conn.exec_driver_sql(
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = %(n)s",
            {"n": name}).scalar_one())
        n = conn.exec_driver_sql(
            "DELETE FROM incident WHERE county_code = %(c)s AND occurred_at >= %(lo)s::timestamptz "
            "AND occurred_at < %(hi)s::timestamptz", {"c": county, "lo": lo, "hi": hi}).rowcount
        conn.exec_driver_sql(f'DROP TABLE "{name}"')
        dropped.append((name, n))
    return dropped


def point_county_sql(geom_sql: str) -> str:
    """SQL for the county of the point ``geom_sql`` by the boundary rule — the value of
    ``county_code`` a single-row writer inserts."""
    return f"jg_point_county(jg_grid_at({geom_sql}), {geom_sql})"


def partitions(conn: Connection) -> list[dict[str, Any]]:
    """The partitions of the point tables: name, table, bound and rows (estimated), for
    ``jurisgrid db partitions`` and the tests."""
    return [dict(r) for r in conn.exec_driver_sql("""
        SELECT c.relname AS name, t.root AS "table", pg_get_expr(c.relpartbound, c.oid) AS bound,
               c.relkind = 'p' AS partitioned, greatest(c.reltuples, 0)::bigint AS rows
        FROM (SELECT 'address_point' AS root, * FROM pg_partition_tree('address_point')
              UNION ALL SELECT 'incident', * FROM pg_partition_tree('incident')) t
        JOIN pg_class c ON c.oid = t.relid WHERE t.level > 0 ORDER BY 2, 1""").mappings()]
