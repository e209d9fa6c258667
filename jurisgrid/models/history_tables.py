"""Metadata of the editing tables (migration 0003): ``revision``, ``scheduled_edit`` and one
``<table>_history`` per historised unit table (its columns plus hid, rev_from, rev_to, valid)."""

from __future__ import annotations

from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, TSTZRANGE

HISTORISED = ("community", "station", "zone", "grid", "person", "assignment")


def define_history_tables(metadata: MetaData) -> None:
    Table(
        "revision", metadata,
        Column("id", BigInteger, primary_key=True),
        Column("actor", Text, nullable=False),
        Column("role", Text),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("effective_from", DateTime(timezone=True), nullable=False),
        Column("reason", Text),
        Column("kind", Text, nullable=False),
        Column("summary", JSONB, nullable=False),
        Column("changed_area", Geometry("GEOMETRY", srid=4326, spatial_index=False)),
        Column("reverts", BigInteger, ForeignKey("revision.id")),
        Column("reverted_by", BigInteger, ForeignKey("revision.id")),
    )
    Table(
        "scheduled_edit", metadata,
        Column("id", BigInteger, primary_key=True),
        Column("operation", Text, nullable=False),
        Column("args", JSONB, nullable=False),
        Column("actor", Text, nullable=False),
        Column("role", Text),
        Column("reason", Text),
        Column("effective_from", DateTime(timezone=True), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("applied_revision", BigInteger, ForeignKey("revision.id")),
        Column("cancelled_at", DateTime(timezone=True)),
        Column("error", Text),
        Column("cancelled_by", Text),   # migration 0007: 'system' when it failed when due
        Column("cancel_reason", Text),
    )
    for name in HISTORISED:
        base = metadata.tables[name]
        cols: list[Column[Any]] = [Column("hid", BigInteger, primary_key=True)]
        cols += [Column(c.name, c.type, nullable=c.nullable) for c in base.columns]
        cols += [Column("rev_from", BigInteger, nullable=False), Column("rev_to", BigInteger),
                 Column("valid", TSTZRANGE(), nullable=False)]
        Table(f"{name}_history", metadata, *cols)
