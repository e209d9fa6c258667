"""API tokens and actors (issue 3).

Revision ID: 0005
"""

from importlib import resources

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sql = resources.files("jurisgrid.migrations").joinpath("versions/0005_auth.sql").read_text()
    op.execute(sql)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS api_token")
