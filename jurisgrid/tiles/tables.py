"""Metadata of the tile tables (migration 0004): the ``tile_change`` log the per-tile ETags are
derived from, and ``tile_grid_stats``, the per-grid figures tiles sum. Both are written only by
the statement triggers of 0004_tiles.sql; the tile SQL reads them. And (migration 0008)
``tile_zone_sizing``, the zone sizing zone tiles carry, written by tiles/sizing.py."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import ARRAY, BigInteger, Column, DateTime, Float, Integer, MetaData, Table, Text


def define_tile_tables(metadata: MetaData) -> None:
    Table(
        "tile_change", metadata,
        Column("id", BigInteger, primary_key=True),
        Column("layer", Text, nullable=False),
        Column("bbox", Geometry("GEOMETRY", srid=4326, spatial_index=False)),
        Column("at", DateTime(timezone=True), nullable=False),
    )
    Table(
        "tile_grid_stats", metadata,
        Column("grid_id", Integer, primary_key=True, autoincrement=False),
        Column("addresses", Integer, nullable=False),
        Column("households", BigInteger, nullable=False),
        Column("population", BigInteger, nullable=False),
        Column("incidents", Integer, nullable=False),
    )
    Table(
        "tile_zone_sizing", metadata,
        Column("key", Text, primary_key=True),
        Column("policy_version", Integer, nullable=False),
        Column("codes", ARRAY(Text), nullable=False),
        Column("classes", ARRAY(Text), nullable=False),
        Column("workloads", ARRAY(Float), nullable=False),
        Column("recommended", ARRAY(Integer), nullable=False),
        Column("computed_at", DateTime(timezone=True), nullable=False),
    )
