"""Initial schema: county, sector, township, community, station, zone, grid, address points,
incidents, personnel and assignments, with GiST indexes, the boundary rule and membership triggers.

Revision ID: 0001
"""

from importlib import resources

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = ("data_version", "assignment", "person", "incident", "incident_category", "address_point", "grid",
          "zone", "station", "community", "township", "sector", "county")


def upgrade() -> None:
    sql = resources.files("jurisgrid.migrations").joinpath("versions/0001_initial.sql").read_text()
    op.execute(sql)


def downgrade() -> None:
    for t in TABLES:
        op.execute(f"DROP TABLE IF EXISTS {t} CASCADE")
    op.execute("DROP FUNCTION IF EXISTS jg_set_grid, jg_grid_at, jg_tolerance, jg_bump_version")
