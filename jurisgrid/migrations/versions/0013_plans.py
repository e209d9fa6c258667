"""Plans (scenarios, issue 12): stored drafts of the jurisdiction, read as if they were live.

- ``plan`` — a named draft over a scope (county, sector or station), branched from the live
  data, an instant or another plan; ``base_revision`` is the newest live revision it was last
  brought up to date with (optimistic locking at publish); its status is ``draft``,
  ``scheduled`` (read-only until its scheduled publish takes effect or is cancelled) or
  ``published``.
- ``plan_edit`` — the plan's own history: each edit made in it (operation, arguments, who, why,
  what it changed).
- ``plan_<table>`` for each historised unit table — the copy-on-write overlay: the rows the plan
  has that differ from the live ones (same columns as the live table), or ``deleted`` for a live
  row the plan removes. Under a plan the rows of a table are the live rows it does not override
  plus its own (models/plans_source.py).
- The boundary rule's functions take the plan too (``plan integer``, NULL: as before), so a
  plan that reshapes grids resolves points over its own grids: ``jg_grids(at, future, plan)``,
  ``jg_grid_of(p, at, future, plan, excluding)``, ``jg_grid_at(...)`` and
  ``jg_nearest_grid(p, at, future, plan)``. Existing calls (one to three positional arguments,
  ``excluding =>`` by name) answer as before.

Revision ID: 0013
"""

from importlib import import_module

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

PLANNED = ("community", "station", "zone", "grid", "person", "assignment")

TABLES = """
CREATE TABLE plan (
    id            serial PRIMARY KEY,
    name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    description   text,
    scope_kind    text NOT NULL CHECK (scope_kind IN ('county', 'sector', 'station')),
    scope_code    text,
    base_kind     text NOT NULL CHECK (base_kind IN ('live', 'asOf', 'plan')),
    base_at       timestamptz,
    base_plan     integer REFERENCES plan(id) ON DELETE SET NULL,
    base_revision bigint NOT NULL,
    reshapes      boolean NOT NULL DEFAULT false,
    status        text NOT NULL DEFAULT 'draft'
                  CHECK (status IN ('draft', 'scheduled', 'published')),
    scheduled_edit bigint REFERENCES scheduled_edit(id),
    published_revision bigint REFERENCES revision(id),
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((scope_kind = 'county') = (scope_code IS NULL))
);
CREATE UNIQUE INDEX plan_name_key ON plan (lower(name));

CREATE TABLE plan_edit (
    id        bigserial PRIMARY KEY,
    plan_id   integer NOT NULL REFERENCES plan(id) ON DELETE CASCADE,
    operation text NOT NULL,
    args      jsonb NOT NULL,
    actor     text NOT NULL,
    role      text,
    reason    text,
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    summary   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX plan_edit_plan_idx ON plan_edit (plan_id, id);
"""


def upgrade() -> None:
    op.execute(TABLES)
    for t in PLANNED:
        # the table's columns without its constraints: a plan row may name a unit (a new zone)
        # that exists only in the plan
        op.execute(f"CREATE TABLE plan_{t} (plan_id integer NOT NULL REFERENCES plan(id) "
                   f"ON DELETE CASCADE, deleted boolean NOT NULL DEFAULT false, LIKE {t})")
        op.execute(f"ALTER TABLE plan_{t} ADD PRIMARY KEY (plan_id, id)")
    op.execute("CREATE INDEX plan_grid_geom_gist ON plan_grid USING gist (geom)")
    op.execute(RULE_FUNCTIONS)


RULE_FUNCTIONS = """
DROP FUNCTION jg_nearest_grid(geometry, timestamptz, text);
DROP FUNCTION jg_grid_at(geometry, timestamptz, text, integer[]);
DROP FUNCTION jg_grid_of(geometry, timestamptz, text, integer[]);
DROP FUNCTION jg_grids(timestamptz, text);

-- the grids in force: live (at NULL), as of an instant (with the cached scheduled edits of
-- future key `future`), or live as a plan has them (its overlay over the live grids)
CREATE FUNCTION jg_grids(at timestamptz DEFAULT NULL, future text DEFAULT NULL,
                         plan integer DEFAULT NULL)
    RETURNS TABLE (id integer, code text, geom geometry)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.id, g.code, g.geom FROM grid g WHERE at IS NULL
       AND (plan IS NULL OR NOT EXISTS (
            SELECT 1 FROM plan_grid o WHERE o.plan_id = plan AND o.id = g.id))
    UNION ALL
    SELECT h.id, h.code, h.geom FROM grid_history h WHERE at IS NOT NULL AND h.valid @> at
       AND (future IS NULL OR NOT EXISTS (
            SELECT 1 FROM future_closed c
            WHERE c.key = future AND c.tbl = 'grid' AND c.hid = h.hid AND NOT c.valid @> at))
    UNION ALL
    SELECT f.id, f.code, f.geom FROM grid_future f
    WHERE future IS NOT NULL AND at IS NOT NULL AND f.key = future AND f.valid @> at
    UNION ALL
    SELECT o.id, o.code, o.geom FROM plan_grid o
    WHERE plan IS NOT NULL AND at IS NULL AND o.plan_id = plan AND NOT o.deleted
$$;

-- The boundary rule (docs/design.md, invariant 4): the candidates for a point are the grids
-- within jg_tolerance() degrees (about 1 cm) of it; the candidate with the smallest code wins.
CREATE FUNCTION jg_grid_of(p geometry, at timestamptz DEFAULT NULL, future text DEFAULT NULL,
                           plan integer DEFAULT NULL, excluding integer[] DEFAULT NULL)
    RETURNS SETOF integer
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.id FROM jg_grids(at, future, plan) g
    WHERE ST_DWithin(g.geom, p, jg_tolerance()) AND (excluding IS NULL OR g.id <> ALL (excluding))
    ORDER BY g.code LIMIT 1
$$;

CREATE FUNCTION jg_grid_at(p geometry, at timestamptz DEFAULT NULL, future text DEFAULT NULL,
                           plan integer DEFAULT NULL, excluding integer[] DEFAULT NULL)
    RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT w FROM jg_grid_of(p, at, future, plan, excluding) w
$$;

CREATE FUNCTION jg_nearest_grid(p geometry, at timestamptz DEFAULT NULL, future text DEFAULT NULL,
                                plan integer DEFAULT NULL)
    RETURNS TABLE (id integer, code text, metres double precision)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.id, g.code, ST_Distance(g.geom::geography, p::geography) AS metres
    FROM jg_grids(at, future, plan) g
    WHERE ST_DWithin(g.geom, p, (SELECT ST_Distance(n.geom, p) FROM grid n ORDER BY n.geom <-> p
                                 LIMIT 1) * 1.01 / cos(radians(ST_Y(ST_PointOnSurface(p)))) + 1e-9)
    ORDER BY metres, g.code LIMIT 1
$$;
"""


def downgrade() -> None:
    op.execute("DROP FUNCTION jg_nearest_grid(geometry, timestamptz, text, integer)")
    op.execute("DROP FUNCTION jg_grid_at(geometry, timestamptz, text, integer, integer[])")
    op.execute("DROP FUNCTION jg_grid_of(geometry, timestamptz, text, integer, integer[])")
    op.execute("DROP FUNCTION jg_grids(timestamptz, text, integer)")
    previous = import_module("jurisgrid.migrations.versions.0011_future_cache").RULE_FUNCTIONS
    op.execute(previous[previous.index("CREATE FUNCTION jg_grids"):])
    later = import_module("jurisgrid.migrations.versions.0012_rule_sources_fast")
    later.upgrade()
    for t in PLANNED:
        op.execute(f"DROP TABLE plan_{t}")
    op.execute("DROP TABLE plan_edit")
    op.execute("DROP TABLE plan")
