"""Where the rows of a read come from: the one parameter of the read layer.

Every read function (models/rows.py, listing.py, geometry.py, responsible.py) takes a
:class:`Source` and asks it for the rows of a table with :meth:`Source.rows` — a ``FROM`` item
with the live table's column names — instead of naming the table. So one implementation serves

- :data:`LIVE` — the current tables (assignments: those in force now, ``valid_to IS NULL``);
- :class:`AsOf` ``(at)`` — the versions in force at an instant: ``<table>_history WHERE valid
  @> at`` for the historised tables (assignments also within their own ``valid_from`` /
  ``valid_to``), the current table for the others (county, sector, township, points). After
  now, with ``future_key``: also what the pending scheduled edits will have done by then, from
  their cached effect (migration 0011, editing/asof.py) — still plain reads.

Point membership (which grid an address point or incident is in) is stored for the live data
(``grid_id``, kept by the triggers) and computed under any other source by the boundary rule,
``jg_grid_at(geom, at, future)`` (migrations 0010/0011) — :attr:`Source.stores_membership` says
which, :meth:`Source.rule_args` gives the rule's source arguments.

Rows read from a source other than :data:`LIVE` carry it under :data:`SOURCE`, so the relations
of a node built from such a row are read from the same source, to any depth
(:func:`source_of`). Live rows carry nothing: they are also shared with the in-memory index.

**Extension point.** A plan (the planning issue) is a third kind: a subclass whose
:meth:`rows` / :meth:`sql` yield, for each table, the plan's overlay over its base (live or an
instant) with the same column names, whose :attr:`stores_membership` is False, and whose
:meth:`rule_args` / :meth:`sql_args` tell ``jg_grids`` which plan's grids to use (it takes a
plan argument next to ``at`` and ``future`` then). Nothing else in the read layer changes.
That is :class:`jurisgrid.models.plan_source.PlanSource` (migration 0013).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    FromClause,
    Table,
    Text,
    bindparam,
    cast,
    exists,
    literal_column,
    or_,
    union_all,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql

from jurisgrid.models.history_tables import HISTORISED
from jurisgrid.models.tables import metadata

SOURCE = "_source"  # the key under which a row read from a non-live source names it

_TABLES: dict[str, Table] = {tb.name: tb for tb in metadata.sorted_tables}
_PG = postgresql.psycopg2.dialect()


class Source(ABC):
    """Where rows come from. Immutable and hashable: DataLoaders are keyed by it."""

    #: the point's grid is the stored ``grid_id`` (True) or the boundary rule's answer (False)
    stores_membership: bool = False

    @property
    @abstractmethod
    def key(self) -> Hashable:
        """What tells two sources apart (DataLoader keys, caches)."""

    @property
    def at(self) -> datetime | None:
        """The instant the SQL functions of migrations 0010/0011 take (None: the live tables)."""
        return None

    @property
    def future(self) -> str | None:
        """The future key (migration 0011) whose cached scheduled edits are part of the rows."""
        return None

    def rule_args(self) -> tuple[Any, ...]:
        """The source's arguments to ``jg_grids`` / ``jg_grid_at`` / ``jg_nearest_grid``
        (``at``, ``future`` and, for a plan, ``plan``: migration 0013)."""
        return self.at, self.future

    @abstractmethod
    def rows(self, table: str) -> FromClause:
        """The rows of ``table`` under this source, as a FROM item named ``table`` with the
        table's columns (geometry included)."""

    @abstractmethod
    def sql(self, table: str) -> str:
        """:meth:`rows` as a FROM expression (alias it) for raw statements
        (responsible_for.sql); its instant, if any, is the parameter ``%(at)s``
        (:meth:`sql_args`)."""

    def sql_args(self) -> dict[str, Any]:
        return {"at": self.at, "future": self.future, "plan": None, "rule_plan": None}

    def tag(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` marked as read from this source (live rows stay unmarked)."""
        return {**row, SOURCE: self}


@dataclass(frozen=True)
class Live(Source):
    stores_membership = True

    @property
    def key(self) -> Hashable:
        return "live"

    def rows(self, table: str) -> FromClause:
        if table == "assignment":
            return _in_force_now()
        return _TABLES[table]

    def sql(self, table: str) -> str:
        if table == "assignment":
            return f"({_compiled(_in_force_now())})"
        return table

    def tag(self, row: dict[str, Any]) -> dict[str, Any]:
        return row


LIVE = Live()


@dataclass(frozen=True)
class AsOf(Source):
    """The data in force at an instant (aware; a naive one is taken as UTC). For an instant
    after now, ``future_key`` names the cached effect of the scheduled edits pending then
    (migration 0011, built by editing/asof.py); without it a future instant reads the history
    as it stands (no scheduled edit)."""

    instant: datetime
    future_key: str | None = None

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            object.__setattr__(self, "instant", self.instant.replace(tzinfo=UTC))

    @property
    def key(self) -> Hashable:
        return ("as_of", self.instant, self.future_key)

    @property
    def at(self) -> datetime:
        return self.instant

    @property
    def future(self) -> str | None:
        return self.future_key

    @property
    def after_now(self) -> bool:
        """After now: scheduled edits due by then are part of the answer (editing/asof.py)."""
        return self.instant > datetime.now(UTC)

    def rows(self, table: str) -> FromClause:
        if table not in HISTORISED:
            return _TABLES[table]
        t = bindparam(None, self.instant, type_=DateTime(timezone=True))
        fk = None if self.future_key is None else bindparam(None, self.future_key, type_=Text)
        return _history_select(table, t, fk)

    def sql(self, table: str) -> str:
        if table not in HISTORISED:
            return table
        return f"({_history_sql(table, self.future_key is not None)})"


def source_of(row: dict[str, Any]) -> Source:
    """The source a row was read from (:data:`LIVE` when it carries none)."""
    src: Source | None = row.get(SOURCE)
    return LIVE if src is None else src


def _history_select(table: str, t: ColumnElement[Any],
                    future: ColumnElement[Any] | None = None) -> FromClause:
    """The versions of ``table`` in force at ``t``, with the live table's column names; with a
    future key, as the cached scheduled edits of that key would leave them (migration 0011):
    the history versions they do not close by ``t``, and their own versions."""
    h = _TABLES[f"{table}_history"]
    cols = [c.name for c in _TABLES[table].columns]
    q: Any = sa_select(*[h.c[c] for c in cols]).where(*_in_force(h, t))
    if future is not None:
        closed = _TABLES["future_closed"]
        f = _TABLES[f"{table}_future"]
        q = q.where(~exists().where(
            closed.c.key == future, closed.c.tbl == literal_column(f"'{table}'"), closed.c.hid == h.c.hid,
            ~closed.c.valid.op("@>", is_comparison=True)(t)))
        q = union_all(q, sa_select(*[f.c[c] for c in cols]).where(f.c.key == future,
                                                                   *_in_force(f, t)))
    return q.subquery(table)


def _in_force(h: Table, t: ColumnElement[Any]) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [h.c.valid.op("@>", is_comparison=True)(t)]
    if "valid_from" in h.c:  # assignments: also their own validity
        conds += [h.c.valid_from <= t, or_(h.c.valid_to.is_(None), h.c.valid_to > t)]
    return conds


@cache
def _history_sql(table: str, future: bool) -> str:
    t = cast(bindparam("at", type_=DateTime(timezone=True)), DateTime(timezone=True))
    fk = cast(bindparam("future", type_=Text), Text) if future else None
    return _compiled(_history_select(table, t, fk))


@cache
def _in_force_now() -> FromClause:
    a = _TABLES["assignment"]
    return sa_select(*a.columns).where(a.c.valid_to.is_(None)).subquery("assignment")


def _compiled(sub: Any) -> str:
    """The SQL of a subquery (a FROM item), compiled as it is inside a statement — there,
    geometry columns are not wrapped in ``ST_AsEWKB`` as they are at the top level."""
    outer = str(sa_select(sub.c.id).select_from(sub).compile(dialect=_PG))
    start = outer.index("FROM (") + len("FROM (")
    return outer[start:outer.rindex(f") AS {sub.name}")]
