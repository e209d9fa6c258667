"""jg_add_partition moves the rows of a new partition out of the DEFAULT in one statement.

Migration 0017 copied them to a temporary table and then deleted them from the DEFAULT in a
second statement. Under READ COMMITTED each statement sees the rows committed before it began,
so an incident another writer committed into the DEFAULT between the two was deleted without
being copied: lost. tests/scale/test_partitions.py (three writers of one new month at once)
caught it on a CI run. Now ``DELETE … RETURNING`` feeds the copy in one statement.

Revision ID: 0018
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_ADD_PARTITION = r"""
CREATE OR REPLACE FUNCTION jg_add_partition(parent text, part text, bound text, dflt text, cond text,
                                 subpart text DEFAULT NULL, subdefault text DEFAULT NULL)
    RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    moving boolean;
BEGIN
    FOR attempt IN 1..3 LOOP
        IF to_regclass(quote_ident(part)) IS NOT NULL THEN
            RETURN false;
        END IF;
        BEGIN
            PERFORM pg_advisory_xact_lock(hashtext('jg_add_partition'), hashtext(part));
            moving := false;
            IF dflt IS NOT NULL AND to_regclass(quote_ident(dflt)) IS NOT NULL THEN
                EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %s)', dflt, cond) INTO moving;
            END IF;
            IF moving THEN
                -- one statement, one snapshot: a row another writer commits meanwhile is
                -- either moved or left (then the check below fails and the loop moves it),
                -- never deleted without being copied
                EXECUTE format('CREATE TEMP TABLE jg_moving ON COMMIT DROP AS SELECT * FROM %I '
                               'LIMIT 0', dflt);
                EXECUTE format('WITH d AS (DELETE FROM %I WHERE %s RETURNING *) '
                               'INSERT INTO jg_moving SELECT * FROM d', dflt, cond);
            END IF;
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES %s %s', part, parent, bound,
                           coalesce('PARTITION BY ' || subpart, ''));
            IF subdefault IS NOT NULL THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', subdefault, part);
            END IF;
            IF moving THEN
                EXECUTE format('INSERT INTO %I SELECT * FROM jg_moving', part);
                DROP TABLE jg_moving;
            END IF;
            RETURN true;
        EXCEPTION
            WHEN duplicate_table OR deadlock_detected THEN
                RETURN false;
            WHEN check_violation THEN
                NULL;  -- a row of the range reached the DEFAULT meanwhile: again, moving it
        END;
    END LOOP;
    RETURN false;
END $$;
"""


def upgrade() -> None:
    op.execute(_ADD_PARTITION)


def downgrade() -> None:
    # the function keeps the fix: 0017's schema with a jg_add_partition that loses no row
    pass
