"""Scheduled edits can be cancelled by people, not only by failing when due: who cancelled one
and why.

Revision ID: 0007
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE scheduled_edit ADD COLUMN cancelled_by text, "
               "ADD COLUMN cancel_reason text")
    # a cancelled edit names who cancelled it; one that failed when due names its error instead
    op.execute("UPDATE scheduled_edit SET cancelled_by = 'system' WHERE cancelled_at IS NOT NULL")


def downgrade() -> None:
    op.execute("ALTER TABLE scheduled_edit DROP COLUMN cancel_reason, DROP COLUMN cancelled_by")
