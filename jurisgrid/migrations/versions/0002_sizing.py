"""Sizing (issue 4): the versioned sizing policy, per-grid address figures kept current by
triggers, incidents per zone, category and local month kept current by triggers, and an index
for incident counts per grid and time window.

Revision ID: 0002
"""

from importlib import resources

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sql = resources.files("jurisgrid.migrations").joinpath("versions/0002_sizing.sql").read_text()
    op.execute(sql)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS incident_grid_time_idx")
    for op_name in ("ins", "upd", "del", "trunc"):
        op.execute(f"DROP TRIGGER IF EXISTS address_point_sizing_{op_name} ON address_point")
    op.execute("DROP TRIGGER IF EXISTS grid_sizing_ins ON grid")
    op.execute("DROP TRIGGER IF EXISTS grid_sizing_upd ON grid")
    for op_name in ("ins", "upd", "del", "trunc"):
        op.execute(f"DROP TRIGGER IF EXISTS incident_sizing_{op_name} ON incident")
    op.execute(
        "DROP FUNCTION IF EXISTS jg_sizing_address_delta(), jg_sizing_grid_area(), "
        "jg_sizing_incident_delta(), jg_sizing_rebuild_incidents()"
    )
    op.execute("DROP TABLE IF EXISTS sizing_zone_incidents")
    op.execute("DROP TABLE IF EXISTS sizing_settings")
    op.execute("DROP TABLE IF EXISTS sizing_grid_stats")
    op.execute("DROP TABLE IF EXISTS sizing_policy")
