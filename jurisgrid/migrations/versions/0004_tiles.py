"""Tile-cache change log, per-grid tile figures and the GCJ-02 / BD-09 SQL transforms (issue 5).

The SQL lives in 0004_tiles.sql (see its header).

Revision ID: 0004
"""

from importlib import resources

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TRIGGER_TABLES = ("grid", "zone", "station", "sector", "community", "township", "address_point",
                   "incident")
_FUNCTIONS = ("jg_tile_shift(geometry, text)", "jg_shift_xy(double precision, double precision, text)",
              "jg_in_china(double precision, double precision)",
              "jg_gcj_offset(double precision, double precision)", "jg_tile_log()",
              "jg_tile_note_units(integer[], integer[], integer[], integer[])",
              "jg_tile_note(text[], geometry, boolean)")


def upgrade() -> None:
    sql = resources.files("jurisgrid.migrations").joinpath("versions/0004_tiles.sql").read_text()
    op.execute(sql)


def downgrade() -> None:
    for t in _TRIGGER_TABLES:
        for suffix in ("ins", "upd", "del", "trunc"):
            op.execute(f"DROP TRIGGER IF EXISTS {t}_tile_{suffix} ON {t}")
    for f in _FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {f}")
    op.execute("DROP TABLE IF EXISTS tile_grid_stats")
    op.execute("DROP TABLE IF EXISTS tile_change")
