"""A read-only cache of what the pending scheduled edits will do, so that a future ``asOf`` reads
rows instead of applying the edits.

Scheduled edits are stored as operations, not rows. To answer ``asOf`` a future instant, the
server used to apply them inside every read (in a rolled-back transaction: the writers' lock,
the triggers, once per DataLoader batch). Now their effect on the historised tables is worked
out once per state of the data — the *future key*: the newest revision, ``data_version`` and
the pending edits — and kept here (editing/asof.py builds it; models/source.AsOf reads it):

- ``future_key`` — the keys built, and when;
- ``<table>_future`` — the versions the pending edits would write (like ``<table>_history``);
- ``future_closed`` — the versions already in ``<table>_history`` that they would close, with
  the validity they would then have.

The rows in force at T under key K are then the history versions valid at T that K does not
close by T, and K's own versions valid at T. ``jg_grids`` (the boundary rule's grids, migration
0010) takes the key as well, so the rule reads the same rows; the rule's functions are
recreated with a ``future`` argument (NULL: as before).

Revision ID: 0011
"""

from importlib import import_module

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

HISTORISED = ("community", "station", "zone", "grid", "person", "assignment")

RULE_FUNCTIONS = """
DROP FUNCTION jg_nearest_grid(geometry, timestamptz);
DROP FUNCTION jg_grid_at(geometry, timestamptz, integer[]);
DROP FUNCTION jg_grid_of(geometry, timestamptz, integer[]);
DROP FUNCTION jg_grids(timestamptz);

-- the grids in force: live (at NULL), as of an instant, or as of a future instant with the
-- pending scheduled edits of future key `future` (jurisgrid/models/source.py says the same for
-- every table)
CREATE FUNCTION jg_grids(at timestamptz DEFAULT NULL, future text DEFAULT NULL)
    RETURNS TABLE (id integer, code text, geom geometry)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.id, g.code, g.geom FROM grid g WHERE at IS NULL
    UNION ALL
    SELECT h.id, h.code, h.geom FROM grid_history h WHERE h.valid @> at
       AND (future IS NULL OR NOT EXISTS (
            SELECT 1 FROM future_closed c
            WHERE c.key = future AND c.tbl = 'grid' AND c.hid = h.hid AND NOT c.valid @> at))
    UNION ALL
    SELECT f.id, f.code, f.geom FROM grid_future f WHERE f.key = future AND f.valid @> at
$$;

-- The boundary rule (docs/design.md, invariant 4): the candidates for a point are the grids
-- within jg_tolerance() degrees (about 1 cm) of it; the candidate with the smallest code wins.
CREATE FUNCTION jg_grid_of(p geometry, at timestamptz DEFAULT NULL, future text DEFAULT NULL,
                           excluding integer[] DEFAULT NULL)
    RETURNS SETOF integer
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.id FROM jg_grids(at, future) g
    WHERE ST_DWithin(g.geom, p, jg_tolerance()) AND (excluding IS NULL OR g.id <> ALL (excluding))
    ORDER BY g.code LIMIT 1
$$;

CREATE FUNCTION jg_grid_at(p geometry, at timestamptz DEFAULT NULL, future text DEFAULT NULL,
                           excluding integer[] DEFAULT NULL)
    RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT w FROM jg_grid_of(p, at, future, excluding) w
$$;

CREATE FUNCTION jg_nearest_grid(p geometry, at timestamptz DEFAULT NULL, future text DEFAULT NULL)
    RETURNS TABLE (id integer, code text, metres double precision)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.id, g.code, ST_Distance(g.geom::geography, p::geography) AS metres
    FROM jg_grids(at, future) g,
         (SELECT ST_Distance(n.geom, p) AS deg FROM jg_grids(at, future) n
          ORDER BY n.geom <-> p LIMIT 1) d
    WHERE ST_DWithin(g.geom, p, d.deg * 1.01 / cos(radians(ST_Y(ST_PointOnSurface(p)))) + 1e-9)
    ORDER BY metres, g.code LIMIT 1
$$;
"""


def upgrade() -> None:
    op.execute("CREATE TABLE future_key (key text PRIMARY KEY, "
               "built_at timestamptz NOT NULL DEFAULT clock_timestamp())")
    op.execute("CREATE TABLE future_closed (key text NOT NULL REFERENCES future_key ON DELETE CASCADE, "
               "tbl text NOT NULL, hid bigint NOT NULL, valid tstzrange NOT NULL, "
               "PRIMARY KEY (key, tbl, hid))")
    for t in HISTORISED:
        op.execute(f"CREATE TABLE {t}_future (LIKE {t}_history, "
                   "key text NOT NULL REFERENCES future_key ON DELETE CASCADE)")
        op.execute(f"CREATE INDEX {t}_future_key_idx ON {t}_future (key, id)")
    op.execute(RULE_FUNCTIONS)


def downgrade() -> None:
    previous = import_module("jurisgrid.migrations.versions.0010_boundary_rule_source")
    op.execute("DROP FUNCTION jg_nearest_grid(geometry, timestamptz, text)")
    op.execute("DROP FUNCTION jg_grid_at(geometry, timestamptz, text, integer[])")
    op.execute("DROP FUNCTION jg_grid_of(geometry, timestamptz, text, integer[])")
    op.execute("DROP FUNCTION jg_grids(timestamptz, text)")
    op.execute("DROP FUNCTION jg_on_boundary(geometry, geometry)")  # 0010's upgrade makes it
    op.execute(previous.UPGRADE.replace("DROP FUNCTION jg_grid_at(geometry);", ""))
    for t in HISTORISED:
        op.execute(f"DROP TABLE {t}_future")
    op.execute("DROP TABLE future_closed")
    op.execute("DROP TABLE future_key")
