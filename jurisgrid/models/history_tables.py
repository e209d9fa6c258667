"""Metadata of the editing tables (migration 0003): ``revision``, ``scheduled_edit`` and one
``<table>_history`` per historised unit table (its columns plus hid, rev_from, rev_to, valid);
and the cache of what the pending scheduled edits will do (migration 0011): ``future_key``,
``future_closed`` and one ``<table>_future`` per historised table (its history columns plus
the key)."""

from __future__ import annotations

from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Integer, MetaData, Table, Text
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
        # migration 0009: the scheduler's scope and base, and the outcome
        Column("station_code", Text),
        Column("token_id", Integer, ForeignKey("api_token.id")),
        Column("base_revision", BigInteger, ForeignKey("revision.id")),
        Column("status", Text, nullable=False),
        Column("error_code", Text),
        Column("conflicts", JSONB),
    )
    for name in HISTORISED:
        base = metadata.tables[name]
        cols: list[Column[Any]] = [Column("hid", BigInteger, primary_key=True)]
        cols += [Column(c.name, c.type, nullable=c.nullable) for c in base.columns]
        cols += [Column("rev_from", BigInteger, nullable=False), Column("rev_to", BigInteger),
                 Column("valid", TSTZRANGE(), nullable=False)]
        Table(f"{name}_history", metadata, *cols)
    Table("future_key", metadata, Column("key", Text, primary_key=True),
          Column("built_at", DateTime(timezone=True), nullable=False))
    Table("future_closed", metadata,
          Column("key", Text, ForeignKey("future_key.key"), primary_key=True),
          Column("tbl", Text, primary_key=True), Column("hid", BigInteger, primary_key=True),
          Column("valid", TSTZRANGE(), nullable=False))
    for name in HISTORISED:
        hist = metadata.tables[f"{name}_history"]
        fcols: list[Column[Any]] = [Column(c.name, c.type, nullable=c.nullable) for c in hist.columns]
        fcols.append(Column("key", Text, ForeignKey("future_key.key"), nullable=False))
        Table(f"{name}_future", metadata, *fcols)
