"""The versioned sizing policy in table ``sizing_policy`` (migration 0002): every edit is a new
row; the current policy is the newest; no row means the defaults (version 0)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from jurisgrid.analytics.policy import DEFAULT_POLICY_JSON, Policy, merge_policy, parse_policy


@dataclass(frozen=True)
class PolicyVersion:
    version: int
    policy: Policy
    actor: str | None
    reason: str | None
    created_at: datetime | None


def categories(conn: Connection) -> list[str]:
    return [r[0] for r in conn.exec_driver_sql("SELECT code FROM incident_category ORDER BY code")]


def current_policy(conn: Connection) -> PolicyVersion:
    row = conn.exec_driver_sql(
        "SELECT version, body, actor, reason, created_at FROM sizing_policy ORDER BY version DESC LIMIT 1"
    ).first()
    cats = categories(conn)
    if row is None:
        return PolicyVersion(
            0, parse_policy(DEFAULT_POLICY_JSON, categories=cats), None, "defaults (docs/design.md)", None
        )
    return PolicyVersion(row[0], parse_policy(row[1], categories=cats), row[2], row[3], row[4])


def policy_versions(conn: Connection) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.exec_driver_sql(
            "SELECT version, actor, reason, created_at FROM sizing_policy ORDER BY version"
        ).mappings()
    ]


def update_policy(
    conn: Connection, changes: dict[str, Any], *, actor: str, reason: str | None = None
) -> PolicyVersion:
    """Validate the current policy with ``changes`` applied and store it as a new version.
    Raises InvalidInput (nothing written) when the result is not a valid policy."""
    conn.exec_driver_sql("LOCK TABLE sizing_policy IN SHARE ROW EXCLUSIVE MODE")
    current = current_policy(conn)
    body = merge_policy(current.policy.to_json(), changes)
    policy = parse_policy(body, categories=categories(conn))
    if policy.time_zone != current.policy.time_zone:
        # the zone rollup buckets incidents by local month: rebuild it on the new calendar
        conn.exec_driver_sql("UPDATE sizing_settings SET time_zone = %(tz)s", {"tz": policy.time_zone})
        conn.exec_driver_sql("SELECT jg_sizing_rebuild_incidents()")
    row = conn.exec_driver_sql(
        "INSERT INTO sizing_policy (body, actor, reason) VALUES (%(b)s::jsonb, %(a)s, %(r)s) "
        "RETURNING version, created_at",
        {"b": json.dumps(policy.to_json(), ensure_ascii=False), "a": actor, "r": reason},
    ).one()
    return PolicyVersion(row[0], policy, actor, reason, row[1])
