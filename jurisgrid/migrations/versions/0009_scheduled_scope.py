"""Scheduled edits remember what they were checked under, and say what became of them (issue 16).

A scheduled edit was validated once, by a dry run when it was scheduled, and then applied with
no station scope and over whatever had been committed in between. It now keeps:

- ``station_code`` — the scheduler's station scope (NULL: county-wide) and ``token_id`` — the
  token that scheduled it: checked again when it takes effect; revoking the token cancels it;
- ``base_revision`` — the revision its dry run saw: at take-effect, a later revision that
  changed the same units makes it a conflict instead of being overwritten (editing/schedule.py);
- ``status`` (pending, applied, cancelled, failed, conflict), ``error_code`` and ``conflicts``
  (the units and the revisions that changed them), shown by ``scheduledEdits``.

Rows from before keep NULL scope and base: they were checked when scheduled, as before.

Revision ID: 0009
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        ALTER TABLE scheduled_edit
            ADD COLUMN station_code text,
            ADD COLUMN token_id integer REFERENCES api_token(id) ON DELETE SET NULL,
            ADD COLUMN base_revision bigint REFERENCES revision(id),
            ADD COLUMN status text NOT NULL DEFAULT 'pending',
            ADD COLUMN error_code text,
            ADD COLUMN conflicts jsonb
    """)
    op.execute("""
        UPDATE scheduled_edit SET status = CASE
            WHEN applied_revision IS NOT NULL THEN 'applied'
            WHEN error IS NOT NULL THEN 'failed'
            WHEN cancelled_at IS NOT NULL THEN 'cancelled'
            ELSE 'pending' END,
          error_code = CASE WHEN error ~ '^[A-Z_]+: ' THEN split_part(error, ':', 1) END
    """)
    op.execute("ALTER TABLE scheduled_edit ADD CONSTRAINT scheduled_edit_status_check "
               "CHECK (status IN ('pending', 'applied', 'cancelled', 'failed', 'conflict'))")
    # revoking a token cancels its pending edits: find them without a scan
    op.execute("CREATE INDEX scheduled_edit_token_idx ON scheduled_edit (token_id) "
               "WHERE applied_revision IS NULL AND cancelled_at IS NULL")


def downgrade() -> None:
    op.execute("DROP INDEX scheduled_edit_token_idx")
    op.execute("ALTER TABLE scheduled_edit DROP COLUMN conflicts, DROP COLUMN error_code, "
               "DROP COLUMN status, DROP COLUMN base_revision, DROP COLUMN token_id, "
               "DROP COLUMN station_code")
