"""Tables of migration 0013 (issue 12, plans), registered on the shared metadata: ``plan``,
``plan_edit`` and the overlay ``plan_<table>`` of each historised unit table (its columns, plus
``plan_id`` and ``deleted``). models/plans.py reads and writes them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, DateTime, ForeignKey, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from jurisgrid.models.history_tables import HISTORISED

PLANNED = HISTORISED  # the tables a plan overlays: the historised unit tables


def define_plan_tables(metadata: MetaData) -> None:
    Table(
        "plan", metadata,
        Column("id", Integer, primary_key=True),
        Column("name", Text, nullable=False),
        Column("description", Text),
        Column("scope_kind", Text, nullable=False),
        Column("scope_code", Text),
        Column("base_kind", Text, nullable=False),
        Column("base_at", DateTime(timezone=True)),
        Column("base_plan", Integer, ForeignKey("plan.id")),
        Column("base_revision", BigInteger, nullable=False),
        Column("reshapes", Boolean, nullable=False),
        Column("status", Text, nullable=False),
        Column("scheduled_edit", BigInteger, ForeignKey("scheduled_edit.id")),
        Column("published_revision", BigInteger, ForeignKey("revision.id")),
        Column("created_by", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    Table(
        "plan_edit", metadata,
        Column("id", BigInteger, primary_key=True),
        Column("plan_id", Integer, ForeignKey("plan.id"), nullable=False),
        Column("operation", Text, nullable=False),
        Column("args", JSONB, nullable=False),
        Column("actor", Text, nullable=False),
        Column("role", Text),
        Column("reason", Text),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("summary", JSONB, nullable=False),
    )
    for name in PLANNED:
        base = metadata.tables[name]
        cols: list[Column[Any]] = [
            Column("plan_id", Integer, ForeignKey("plan.id"), primary_key=True),
            Column("deleted", Boolean, nullable=False),
        ]
        cols += [Column(c.name, c.type, nullable=c.nullable, primary_key=c.name == "id")
                 for c in base.columns]
        Table(f"plan_{name}", metadata, *cols)
