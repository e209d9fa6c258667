"""Incident categories as data (issue 11 item 5): ``incident_category_alias`` maps a bureau's
local 警情 category codes (a 110 dispatch system's "0101", "盗窃", …) to a policy category of
``incident_category``; the import and ``jurisgrid load`` resolve them (models/categories.py).
Categories themselves stay in ``incident_category``; their weights in the sizing policy.

Revision ID: 0016
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE incident_category_alias (
    local_code text PRIMARY KEY CHECK (local_code <> ''),
    category   text NOT NULL REFERENCES incident_category(code) ON UPDATE CASCADE ON DELETE CASCADE,
    name       text,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX incident_category_alias_category_idx ON incident_category_alias (category);
""")


def downgrade() -> None:
    op.execute("DROP TABLE incident_category_alias")
