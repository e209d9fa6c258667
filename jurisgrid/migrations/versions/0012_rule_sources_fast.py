"""The boundary rule's sources and ``nearest``, planned as cheaply as the rule was before 0010.

- ``jg_grids(at, future)``: each branch says when it applies in terms of its arguments only
  (``at IS NOT NULL``, ``future IS NOT NULL``), so the planner drops the branches a call does
  not need when the arguments are constants (prepared statements, inlined calls) and skips them
  with a one-time filter otherwise — a live lookup no longer probes the history and the cache.
- ``jg_nearest_grid``: the search radius comes from the nearest *live* grid found with the
  index (``<->``): every source's grids tile the same county, so that distance is the distance
  to the nearest grid of any source, and the grid nearest in metres lies within it divided by
  cos(latitude) (see 0010). A KNN ordering through ``jg_grids`` cannot use the index (it sorted
  every grid: 2–5 ms per outside point at full scale instead of about 1).

Revision ID: 0012
"""

from importlib import import_module

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

FUNCTIONS = """
CREATE OR REPLACE FUNCTION jg_grids(at timestamptz DEFAULT NULL, future text DEFAULT NULL)
    RETURNS TABLE (id integer, code text, geom geometry)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.id, g.code, g.geom FROM grid g WHERE at IS NULL
    UNION ALL
    SELECT h.id, h.code, h.geom FROM grid_history h WHERE at IS NOT NULL AND h.valid @> at
       AND (future IS NULL OR NOT EXISTS (
            SELECT 1 FROM future_closed c
            WHERE c.key = future AND c.tbl = 'grid' AND c.hid = h.hid AND NOT c.valid @> at))
    UNION ALL
    SELECT f.id, f.code, f.geom FROM grid_future f
    WHERE future IS NOT NULL AND at IS NOT NULL AND f.key = future AND f.valid @> at
$$;

CREATE OR REPLACE FUNCTION jg_nearest_grid(p geometry, at timestamptz DEFAULT NULL,
                                           future text DEFAULT NULL)
    RETURNS TABLE (id integer, code text, metres double precision)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.id, g.code, ST_Distance(g.geom::geography, p::geography) AS metres
    FROM jg_grids(at, future) g
    WHERE ST_DWithin(g.geom, p, (SELECT ST_Distance(n.geom, p) FROM grid n ORDER BY n.geom <-> p
                                 LIMIT 1) * 1.01 / cos(radians(ST_Y(ST_PointOnSurface(p)))) + 1e-9)
    ORDER BY metres, g.code LIMIT 1
$$;
"""


def upgrade() -> None:
    op.execute(FUNCTIONS)


def downgrade() -> None:
    previous = import_module("jurisgrid.migrations.versions.0011_future_cache").RULE_FUNCTIONS
    for name in ("jg_grids(", "jg_nearest_grid("):
        start = previous.index("CREATE FUNCTION " + name)
        body = previous[start:previous.index("$$;", previous.index("AS $$", start) + 5) + 3]
        op.execute(body.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
