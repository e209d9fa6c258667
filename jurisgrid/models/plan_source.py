"""The read layer's third source (models/source.py, "Extension point"): a plan.

Under a plan the rows of a historised unit table are the live rows the plan does not override
plus the plan's own rows (``plan_<table>``, migration 0013), with the live column names — for
``assignment`` only those in force now, as live. Other tables (county, sector, township, points)
are the live ones. A point's grid is its stored ``grid_id`` while the plan keeps the live grids'
shapes and codes (the usual case: a plan moves grids between zones), else the boundary rule over
the plan's grids (``jg_grid_at(geom, NULL, NULL, plan)``) — for the statements that sum stored
memberships, only near the grids the plan reshapes (models/plan_membership.py).
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import FromClause, Integer, Table, bindparam, exists, select, union_all

from jurisgrid.models.plan_membership import MEMBERSHIP_TABLES, membership_sql
from jurisgrid.models.plan_tables import PLANNED
from jurisgrid.models.plans import overlay_sql
from jurisgrid.models.source import Source
from jurisgrid.models.tables import metadata

_TABLES: dict[str, Table] = dict(metadata.tables)


@dataclass(frozen=True)
class PlanSource(Source):
    """The data as plan ``plan_id`` has it. ``reshapes`` (the plan row's flag): its grids differ
    in shape or code from the live ones, so stored point memberships do not hold under it."""

    plan_id: int
    reshapes: bool = False

    @property
    def key(self) -> Hashable:
        return ("plan", self.plan_id, self.reshapes)

    def __post_init__(self) -> None:
        # the stored grid_id holds while the plan keeps the live grids
        object.__setattr__(self, "stores_membership", not self.reshapes)

    def rule_args(self) -> tuple[Any, ...]:
        return None, None, self.plan_id

    def sql_args(self) -> dict[str, Any]:
        # the boundary rule needs the plan's grids only when they differ from the live ones
        return {"at": None, "future": None, "plan": self.plan_id,
                "rule_plan": self.plan_id if self.reshapes else None}

    def rows(self, table: str) -> FromClause:
        if table not in PLANNED:
            return _TABLES[table]
        return _overlay_of(table, self.plan_id)

    def sql(self, table: str) -> str:
        if table not in PLANNED:
            return table
        return f"({_overlay_text(table)})"


@cache
def _overlay_text(table: str) -> str:
    return overlay_sql(table, "%(plan)s::integer")


@lru_cache(maxsize=512)
def _overlay_of(table: str, plan_id: int) -> FromClause:
    """The FROM item of ``table`` under plan ``plan_id``, built once (a statement built on it is
    then found in SQLAlchemy's compiled cache, as a live one is)."""
    return _overlay(table, bindparam(None, plan_id, type_=Integer))


def _overlay(table: str, plan: Any) -> FromClause:
    base, over = _TABLES[table], _TABLES[f"plan_{table}"]
    cols = [c.name for c in base.columns]
    live = select(*[base.c[c] for c in cols]).where(
        ~exists().where(over.c.plan_id == plan, over.c.id == base.c.id))
    own = select(*[over.c[c] for c in cols]).where(over.c.plan_id == plan, ~over.c.deleted)
    if table == "assignment":
        live = live.where(base.c.valid_to.is_(None))
        own = own.where(over.c.valid_to.is_(None))
    return union_all(live, own).subquery(table)


_KEYWORDS = {"where", "on", "group", "order", "limit", "join", "left", "right", "inner", "cross",
             "full", "using", "union", "having", "window", "for", "natural"}
_TABLE_REF = re.compile(r"\b(FROM|JOIN)\s+(" + "|".join((*PLANNED, *MEMBERSHIP_TABLES))
                        + r")\b(\s+(\w+))?", re.I)


def under(sql: str, source: Source) -> str:
    """Raw SQL that names the live unit tables (``FROM grid g``, ``JOIN zone z``) made to read
    them under ``source``: under a plan, each planned table is the plan's overlay (parameter
    ``%(plan)s``: pass ``source.sql_args()``), and under a plan that reshapes grids the point
    tables and the per-grid rollup carry the memberships under the plan
    (models/plan_membership.py); for any other source the SQL is unchanged. One pass, so the
    statements put in place are not rewritten again."""
    if not isinstance(source, PlanSource):
        return sql
    sql = re.sub(r"--[^\n]*", "", sql)  # comments may name tables too

    def sub(m: re.Match[str]) -> str:
        table = m.group(2).lower()
        if table in MEMBERSHIP_TABLES:
            if not source.reshapes:
                return m.group(0)
            item = membership_sql(table)
        else:
            item = source.sql(table)
        alias = m.group(4)
        if alias is None or alias.lower() in _KEYWORDS:
            return f"{m.group(1)} {item} AS {table}{m.group(3) or ''}"
        return f"{m.group(1)} {item}{m.group(3)}"

    return _TABLE_REF.sub(sub, sql)
