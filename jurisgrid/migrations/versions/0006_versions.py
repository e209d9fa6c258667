"""Bump data_version on every table a single-point answer reads, and announce each bump.

0001 bumped it for grid, zone and station only. The in-memory lookup (models/responsible.py)
also serves the rows of sectors, communities, townships and the officers (person, assignment),
so a change to any of them must invalidate it as well. Each bump now also sends
``pg_notify('jg_data_version', version)`` (delivered at commit), which the server's
VersionWatcher (models/versions.py) listens to instead of reading the version per request.

Revision ID: 0006
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("county", "sector", "township", "community", "person", "assignment")


BUMP_NOTIFY = """
CREATE OR REPLACE FUNCTION jg_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
    UPDATE data_version SET version = version + 1, changed_at = now() RETURNING version INTO v;
    PERFORM pg_notify('jg_data_version', v::text);
    RETURN NULL;
END $$;
"""

BUMP_ONLY = """
CREATE OR REPLACE FUNCTION jg_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE data_version SET version = version + 1, changed_at = now();
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.execute(BUMP_NOTIFY)
    for t in TABLES:
        op.execute(f"CREATE TRIGGER {t}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {t} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION jg_bump_version()")


def downgrade() -> None:
    for t in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {t}_version ON {t}")
    op.execute(BUMP_ONLY)
