"""The boundary rule in one SQL function, over the grids of a *source*: now, or as of an instant.

Until now the rule (candidates within ``jg_tolerance()``, the smallest code wins) was written
out in ``jg_grid_at``, in the single-point query, the as-of queries, revert and the seed load.
Now:

- ``jg_grids(at)`` — the grids in force: the ``grid`` table when ``at`` is NULL, else the
  versions in ``grid_history`` valid at ``at``. The one place that says where grid rows come
  from in SQL (jurisgrid/models/source.py says it for every table in Python). A plan (a third
  kind of source) would add its overlay here.
- ``jg_grid_of(p, at, excluding)`` — **the rule**, as a set-returning SQL function (no row, or
  the winner's id). PostgreSQL inlines it into a ``FROM``/``LATERAL`` item, so set-based callers
  (seed load, imports, as-of points) keep one join plan; ``excluding`` leaves out grids about to
  be deleted (revert).
- ``jg_grid_at(p, at, excluding)`` — the same as a scalar (membership triggers, invariants,
  re-homing). Replaces ``jg_grid_at(p)``: called with one argument it answers as before.
- ``jg_on_boundary(area, p)`` — the on-boundary half of the rule.
- ``jg_nearest_grid(p, at)`` — for a point in no grid: the grid nearest *in metres* (geodesic)
  and the distance. ``<->`` orders by degrees, and a degree of longitude is 14 % shorter than a
  degree of latitude here; the grid nearest in metres lies within ``d / cos(lat)`` degrees of
  the point when the nearest in degrees is ``d`` away, so those are measured.

Revision ID: 0010
"""

from importlib import resources

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE FUNCTION jg_grids(at timestamptz DEFAULT NULL)
    RETURNS TABLE (id integer, code text, geom geometry)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.id, g.code, g.geom FROM grid g WHERE at IS NULL
    UNION ALL
    SELECT h.id, h.code, h.geom FROM grid_history h WHERE h.valid @> at
$$;

-- The boundary rule (docs/design.md, invariant 4): the candidates for a point are the grids
-- within jg_tolerance() degrees (about 1 cm) of it; the candidate with the smallest code wins.
CREATE FUNCTION jg_grid_of(p geometry, at timestamptz DEFAULT NULL,
                           excluding integer[] DEFAULT NULL)
    RETURNS SETOF integer
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.id FROM jg_grids(at) g
    WHERE ST_DWithin(g.geom, p, jg_tolerance()) AND (excluding IS NULL OR g.id <> ALL (excluding))
    ORDER BY g.code LIMIT 1
$$;

DROP FUNCTION jg_grid_at(geometry);
CREATE FUNCTION jg_grid_at(p geometry, at timestamptz DEFAULT NULL,
                           excluding integer[] DEFAULT NULL)
    RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT w FROM jg_grid_of(p, at, excluding) w
$$;

CREATE FUNCTION jg_on_boundary(area geometry, p geometry) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ST_DWithin(ST_Boundary(area), p, jg_tolerance())
$$;

CREATE FUNCTION jg_nearest_grid(p geometry, at timestamptz DEFAULT NULL)
    RETURNS TABLE (id integer, code text, metres double precision)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.id, g.code, ST_Distance(g.geom::geography, p::geography) AS metres
    FROM jg_grids(at) g,
         (SELECT ST_Distance(n.geom, p) AS deg FROM jg_grids(at) n ORDER BY n.geom <-> p LIMIT 1) d
    WHERE ST_DWithin(g.geom, p, d.deg * 1.01 / cos(radians(ST_Y(ST_PointOnSurface(p)))) + 1e-9)
    ORDER BY metres, g.code LIMIT 1
$$;
"""


def _initial_grid_at() -> str:
    """0001's ``CREATE FUNCTION jg_grid_at(p geometry)``, read from that migration (not copied)."""
    sql = resources.files("jurisgrid.migrations").joinpath("versions/0001_initial.sql").read_text()
    start = sql.index("CREATE FUNCTION jg_grid_at")
    return sql[start:sql.index("$$;", start) + 3]


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP FUNCTION jg_nearest_grid(geometry, timestamptz)")
    op.execute("DROP FUNCTION jg_on_boundary(geometry, geometry)")
    op.execute("DROP FUNCTION jg_grid_at(geometry, timestamptz, integer[])")
    op.execute("DROP FUNCTION jg_grid_of(geometry, timestamptz, integer[])")
    op.execute("DROP FUNCTION jg_grids(timestamptz)")
    op.execute(_initial_grid_at())
