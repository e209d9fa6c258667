"""Tables of migration 0002 (issue 4, sizing), registered on the shared metadata."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB


def define_sizing_tables(metadata: MetaData) -> None:
    Table(
        "sizing_policy",
        metadata,
        Column("version", Integer, primary_key=True),
        Column("body", JSONB, nullable=False),
        Column("actor", Text, nullable=False),
        Column("reason", Text),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )
    Table(
        "sizing_grid_stats",
        metadata,
        Column("grid_id", Integer, ForeignKey("grid.id", ondelete="CASCADE"), primary_key=True),
        Column("addresses", BigInteger, nullable=False),
        Column("households", BigInteger, nullable=False),
        Column("population", BigInteger, nullable=False),
        Column("houses", BigInteger, nullable=False),
        Column("units", BigInteger, nullable=False),
        Column("area_m2", Float, nullable=False),
    )
    Table(
        "sizing_settings",
        metadata,
        Column("singleton", Boolean, primary_key=True),
        Column("time_zone", Text, nullable=False),
    )
    Table(
        "sizing_zone_incidents",
        metadata,
        Column("zone_id", Integer, ForeignKey("zone.id", ondelete="CASCADE"), primary_key=True),
        Column("category", Text, primary_key=True),
        Column("month", DateTime(timezone=True), primary_key=True),
        Column("n", Integer, nullable=False),
    )
