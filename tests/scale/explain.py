"""What PostgreSQL plans to read: the relations of an ``EXPLAIN (FORMAT JSON)`` plan, for the
partition tests (tests/scale/test_partitions.py, test_partition_pruning.py)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection


def relations(plan: Any) -> set[str]:
    """Every relation an EXPLAIN (FORMAT JSON) plan reads."""
    out: set[str] = set()
    stack = [plan]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "Relation Name" in node:
                out.add(node["Relation Name"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


def relations_read(conn: Connection, sql: str, params: Any = None) -> set[str]:
    """The relations PostgreSQL plans to read for ``sql`` with ``params`` (driver-level SQL)."""
    raw = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params or {}).scalar_one()
    return relations(raw if isinstance(raw, list) else json.loads(raw))
