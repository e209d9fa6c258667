"""Each rule is written once (issue 14): the boundary rule's SQL — candidates within the
tolerance, the smallest code wins — only in the migration that defines ``jg_grid_of``, and in
memory only in geo/lookup.py; metres per degree only in geo/earth.py; the pending-scheduled-edit
predicate only in models/scheduled.py. A guard against the copies creeping back."""

from __future__ import annotations

import re
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "jurisgrid"
# migrations are history: each keeps the definition it introduced
SOURCES = [p for p in PKG.rglob("*") if p.suffix in (".py", ".sql")
           and "migrations" not in p.parts and "vendor" not in p.parts]

RULE_SQL = re.compile(r"ST_DWithin\([^;]{0,400}?ORDER BY\s+\w+\.code\s+LIMIT\s+1", re.S | re.I)
PENDING_SQL = re.compile(r"applied_revision\s+IS\s+NULL\s+AND\s+cancelled_at\s+IS\s+NULL", re.I)
METRES = re.compile(r"\b111[_,]?3[12]\d(\.\d+)?\b")


def _hits(pattern: re.Pattern[str]) -> list[str]:
    return sorted(str(p.relative_to(PKG)) for p in SOURCES if pattern.search(p.read_text()))


def test_the_boundary_rule_is_one_sql_function() -> None:
    assert _hits(RULE_SQL) == []
    text = "\n".join(p.read_text() for p in SOURCES)
    assert "jg_grid_at(" in text and "jg_grid_of(" in text  # what the copies call instead


def test_pending_predicate_and_metres_per_degree_once() -> None:
    assert _hits(PENDING_SQL) == ["models/scheduled.py"]
    assert _hits(METRES) == ["geo/earth.py"]
