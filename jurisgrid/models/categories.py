"""Incident categories as data (issue 11 item 5): add a category, rename it, set its weight,
and map a bureau's local 警情 category codes to it.

- ``incident_category`` (code, name): the policy categories incidents are counted under.
- ``incident_category_alias`` (local_code → category, migration 0016): what a 110 dispatch
  export calls them ("0101", "盗窃", …). The import (io/load.load_refs) and ``jurisgrid load``
  (onboard/pipeline.py) resolve a raw value through :func:`lookup`: a category code (any case),
  a category name, or a local code. An unknown value is listed in the import's report.
- weights: the sizing policy's ``category_weights`` (models/policy.py, versioned); a weight
  given here is stored as a new policy version.

Every function runs in the caller's transaction and raises domain errors (nothing written).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from jurisgrid.errors import InvalidInput, NotFound, RuleViolation
from jurisgrid.models.policy import current_policy, update_policy

CODE = re.compile(r"[A-Z][A-Z0-9_]{0,31}")


@dataclass
class Category:
    code: str
    name: str
    weight: float
    incidents: int = 0
    aliases: list[tuple[str, str | None]] = field(default_factory=list)  # (local code, its name)


def check_text(field: str, value: Any, *, required: bool) -> None:
    """INVALID_NAME: empty, or holding control characters (the rule of editing/validation.py,
    which models/ may not import)."""
    if value is None and not required:
        return
    if not isinstance(value, str) or not value.strip() or any(
            unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in value):
        raise RuleViolation("INVALID_NAME", f"{field} must be text without control characters",
                            details=[{"field": field, "value": value}])


def categories(conn: Connection) -> list[Category]:
    """Every category with its weight (the current policy's), incident count and local codes."""
    policy = current_policy(conn).policy
    aliases: dict[str, list[tuple[str, str | None]]] = {}
    for local, cat, name in conn.exec_driver_sql(
            "SELECT local_code, category, name FROM incident_category_alias ORDER BY local_code"):
        aliases.setdefault(cat, []).append((local, name))
    rows = conn.exec_driver_sql(
        "SELECT c.code, c.name, (SELECT count(*) FROM incident i WHERE i.category = c.code) "
        "FROM incident_category c ORDER BY c.code").all()
    return [Category(code, name, policy.weight(code), int(n), aliases.get(code, []))
            for code, name, n in rows]


def category(conn: Connection, code: str) -> Category:
    for c in categories(conn):
        if c.code == code:
            return c
    raise NotFound(f"unknown incident category {code}", details=[{"kind": "incidentCategory", "code": code}])


def lookup(conn: Connection) -> dict[str, str]:
    """What an imported value may say → the category code: codes (upper case), names, local codes."""
    out: dict[str, str] = {}
    for code, name in conn.exec_driver_sql("SELECT code, name FROM incident_category"):
        out[code.upper()] = code
        out[name] = code
    for local, cat in conn.exec_driver_sql("SELECT local_code, category FROM incident_category_alias"):
        out.setdefault(local, cat)
        out.setdefault(local.upper(), cat)
    return out


def _taken(conn: Connection, value: str) -> str | None:
    """What ``value`` already names (a category code or name, a local code), or None."""
    row = conn.exec_driver_sql(
        "SELECT 'category ' || code FROM incident_category WHERE upper(code) = upper(%(v)s) OR name = %(v)s "
        "UNION ALL SELECT 'local code ' || local_code || ' (→ ' || category || ')' "
        "FROM incident_category_alias WHERE local_code = %(v)s LIMIT 1", {"v": value}).scalar_one_or_none()
    return None if row is None else str(row)


def _weight(value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and 0 <= value <= 1_000):
        raise InvalidInput("weight must be a number from 0 to 1000",
                           details=[{"field": "weight", "value": value}])


def _set_weight(conn: Connection, code: str, weight: float, actor: str) -> None:
    update_policy(conn, {"category_weights": {code: weight}}, actor=actor,
                  reason=f"incident category {code}: weight {weight}")


def create(conn: Connection, code: str, name: str, *, weight: float | None, actor: str) -> Category:
    if not CODE.fullmatch(code or ""):
        raise RuleViolation("INVALID_CODE", f"category code {code!r}: upper-case letters, digits and _ "
                            "(starting with a letter, up to 32)", details=[{"field": "code", "code": code}])
    check_text("name", name, required=True)
    _weight(weight)
    for value, what in ((code, "code"), (name, "name")):
        taken = _taken(conn, value)
        if taken is not None:
            raise RuleViolation("DUPLICATE_CODE", f"{what} {value!r} already names {taken}",
                                details=[{"field": what, "value": value}])
    conn.exec_driver_sql("INSERT INTO incident_category (code, name) VALUES (%(c)s, %(n)s)",
                         {"c": code, "n": name})
    if weight is not None:
        _set_weight(conn, code, weight, actor)
    return category(conn, code)


def rename(conn: Connection, code: str, name: str) -> Category:
    category(conn, code)
    check_text("name", name, required=True)
    taken = _taken(conn, name)
    if taken is not None and taken != f"category {code}":
        raise RuleViolation("DUPLICATE_CODE", f"name {name!r} already names {taken}",
                            details=[{"field": "name", "value": name}])
    conn.exec_driver_sql("UPDATE incident_category SET name = %(n)s WHERE code = %(c)s",
                         {"c": code, "n": name})
    return category(conn, code)


def set_weight(conn: Connection, code: str, weight: float, *, actor: str) -> Category:
    category(conn, code)
    _weight(weight)
    _set_weight(conn, code, weight, actor)
    return category(conn, code)


def map_local(conn: Connection, local_code: str, code: str, *, name: str | None = None) -> Category:
    """Map a local 警情 code to category ``code`` (re-mapping an existing local code moves it)."""
    category(conn, code)
    check_text("localCode", local_code, required=True)
    check_text("name", name, required=False)
    clash = conn.exec_driver_sql(
        "SELECT code FROM incident_category WHERE upper(code) = upper(%(v)s) OR name = %(v)s",
        {"v": local_code}).scalar_one_or_none()
    if clash is not None:
        raise RuleViolation("DUPLICATE_CODE", f"{local_code!r} already names category {clash}: a "
                            "local code must not be a category's code or name",
                            details=[{"field": "localCode", "value": local_code}])
    conn.exec_driver_sql(
        "INSERT INTO incident_category_alias (local_code, category, name) VALUES (%(l)s, %(c)s, %(n)s) "
        "ON CONFLICT (local_code) DO UPDATE SET category = EXCLUDED.category, name = EXCLUDED.name",
        {"l": local_code, "c": code, "n": name})
    return category(conn, code)


def unmap_local(conn: Connection, local_code: str) -> Category:
    code = conn.exec_driver_sql("DELETE FROM incident_category_alias WHERE local_code = %(l)s "
                                "RETURNING category", {"l": local_code}).scalar_one_or_none()
    if code is None:
        raise NotFound(f"no local category code {local_code!r} is mapped",
                       details=[{"kind": "localCategory", "code": local_code}])
    return category(conn, code)


def as_dict(c: Category) -> dict[str, Any]:
    return {"code": c.code, "name": c.name, "weight": c.weight, "incidents": c.incidents,
            "aliases": [{"localCode": a, "name": n} for a, n in c.aliases]}
