"""Editing: revisions, per-table history with validity ranges, scheduled edits (issue 3).

The SQL (and the design, in its header) is in ``0003_editing.sql``.

Revision ID: 0003
"""

from importlib import resources

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

HISTORISED = ("community", "station", "zone", "grid", "person", "assignment")


def upgrade() -> None:
    sql = resources.files("jurisgrid.migrations").joinpath("versions/0003_editing.sql").read_text()
    op.execute(sql)


def downgrade() -> None:
    for t in HISTORISED:
        op.execute(f"DROP TRIGGER IF EXISTS {t}_history ON {t}")
        op.execute(f"DROP TRIGGER IF EXISTS {t}_history_truncate ON {t}")
        op.execute(f"DROP TABLE IF EXISTS {t}_history")
    op.execute("DROP FUNCTION IF EXISTS jg_history, jg_history_truncate")
    op.execute("DROP TABLE IF EXISTS scheduled_edit")
    op.execute("DROP TABLE IF EXISTS revision")
