"""The tables, as SQLAlchemy Core metadata (GeoAlchemy2 geometry columns, SRID 4326).

The DDL itself lives in the Alembic migrations; ``tests/models/test_schema.py`` fails when
this metadata and the migrated database drift apart.
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

SRID = 4326
metadata = MetaData()


def _area() -> Geometry:
    return Geometry("MULTIPOLYGON", srid=SRID, spatial_index=False)


def _point() -> Geometry:
    return Geometry("POINT", srid=SRID, spatial_index=False)


county = Table(
    "county", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("repairs", JSONB, nullable=False),
    Column("geom", _area(), nullable=False),
    Column("time_zone", Text, nullable=False),  # migration 0014: the county's local times
)

sector = Table(
    "sector", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("county_id", Integer, ForeignKey("county.id"), nullable=False),
)

township = Table(
    "township", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("county_id", Integer, ForeignKey("county.id"), nullable=False),
    Column("seat", _point()),
    Column("geom", _area(), nullable=False),
)

community = Table(
    "community", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("township_id", Integer, ForeignKey("township.id"), nullable=False),
    Column("geom", _area(), nullable=False),
)

station = Table(
    "station", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("sector_id", Integer, ForeignKey("sector.id"), nullable=False),
    Column("address", Text),
    Column("phone", Text),
    Column("seat", _point(), nullable=False),
    Column("geom", _area()),
)

zone = Table(
    "zone", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("has_office", Boolean, nullable=False),
    Column("station_id", Integer, ForeignKey("station.id"), nullable=False),
    Column("geom", _area()),
)

grid = Table(
    "grid", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("community_id", Integer, ForeignKey("community.id"), nullable=False),
    Column("zone_id", Integer, ForeignKey("zone.id"), nullable=False),
    Column("geom", _area(), nullable=False),
)

address_point = Table(
    "address_point", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("code", Text, nullable=False),  # unique with the partition key (migration 0017)
    Column("address", Text, nullable=False),
    Column("households", Integer, nullable=False),
    Column("population", Integer, nullable=False),
    Column("houses", Integer, nullable=False),
    Column("units", Integer, nullable=False),
    Column("grid_id", Integer, ForeignKey("grid.id")),
    Column("geom", _point(), nullable=False),
    # migration 0017: the partition key (LIST, one partition per county); '' = no county
    Column("county_code", Text, primary_key=True, server_default=""),
)

incident_category = Table(
    "incident_category", metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
)

# a bureau's local 警情 category codes → a category (migration 0016, models/categories.py)
incident_category_alias = Table(
    "incident_category_alias", metadata,
    Column("local_code", Text, primary_key=True),
    Column("category", Text, ForeignKey("incident_category.code", onupdate="CASCADE",
                                        ondelete="CASCADE"), nullable=False),
    Column("name", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

incident = Table(
    "incident", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("code", Text, nullable=False),  # unique with the partition keys (migration 0017)
    Column("category", Text, ForeignKey("incident_category.code"), nullable=False),
    # migration 0017: partitioned by county_code (LIST), then by occurred_at (RANGE, months)
    Column("occurred_at", DateTime(timezone=True), primary_key=True),
    Column("grid_id", Integer, ForeignKey("grid.id")),
    Column("geom", _point(), nullable=False),
    Column("county_code", Text, primary_key=True, server_default=""),
)

person = Table(
    "person", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("phone", Text),
)

assignment = Table(
    "assignment", metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", Integer, ForeignKey("person.id"), nullable=False),
    Column("role", Text, nullable=False),
    Column("station_id", Integer, ForeignKey("station.id"), nullable=False),
    Column("zone_id", Integer, ForeignKey("zone.id")),
    Column("community_id", Integer, ForeignKey("community.id")),
    Column("grid_id", Integer, ForeignKey("grid.id")),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True)),
)

data_version = Table(
    "data_version", metadata,
    Column("singleton", Boolean, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

api_token = Table(  # migration 0005; jurisgrid/auth/tokens.py reads and writes it
    "api_token", metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", Text, nullable=False, unique=True),
    Column("role", Text, nullable=False),
    Column("station_code", Text, ForeignKey("station.code")),
    Column("county_code", Text, ForeignKey("county.code")),  # migration 0014
    Column("label", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)

# migration 0003 (issue 3, EDIT): revisions, scheduled edits and <table>_history per unit table
from jurisgrid.models.history_tables import define_history_tables  # noqa: E402

define_history_tables(metadata)

# migration 0002 (issue 4, SIZING): the versioned sizing policy and the per-grid address rollup
from jurisgrid.models.aggregates_tables import define_sizing_tables  # noqa: E402

define_sizing_tables(metadata)

# migration 0004 (issue 5, TILES): the tile change log and the per-grid tile figures
from jurisgrid.tiles.tables import define_tile_tables  # noqa: E402

define_tile_tables(metadata)

# migration 0013 (issue 12, PLANS): plans, their edits and their overlay of the unit tables
from jurisgrid.models.plan_tables import define_plan_tables  # noqa: E402

define_plan_tables(metadata)

# migration 0015 (issue 12, balancing jobs): automatic balancing requests run in the background
from jurisgrid.models.balance_jobs import define_balance_job_table  # noqa: E402

define_balance_job_table(metadata)

# tables that carry a geometry column, and the name of that column
GEOMETRY_COLUMNS: dict[str, tuple[str, ...]] = {
    t.name: tuple(c.name for c in t.columns if isinstance(c.type, Geometry))
    for t in metadata.sorted_tables
}

__all__ = ["GEOMETRY_COLUMNS", "SRID", "metadata"]
