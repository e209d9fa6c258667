"""Point memberships under a plan that reshapes grids (split, merge, redraw, recode).

Live, a point's grid is stored (``address_point.grid_id``, ``incident.grid_id``, kept by the
triggers with the boundary rule ``jg_grid_at``) and summed per grid in ``sizing_grid_stats``
(migration 0002). Under a plan that keeps the live grids those hold as they are. Under a plan that
reshapes grids they hold everywhere except near the grids it reshapes, so only there are points
placed again — by the same rule, over the plan's grids (``jg_grid_of(geom, NULL, NULL, plan)``,
migration 0013: the rule itself, which ``jg_grid_at`` wraps; called in a LATERAL join PostgreSQL
inlines it, ~0.04 ms a point against ~0.9 ms for a call of ``jg_grid_at`` per point):

- *reshaped* grids: the plan's grid rows whose code or shape differ from the live row of the same
  id, that it deletes, or that it adds;
- the *area*: their live shapes and their shapes under the plan;
- *placed again*: the points within the rule's tolerance of the area (a point farther away has
  only unchanged grids among its candidates, so its stored membership is its answer under the
  plan too); every other point keeps its stored grid.

The statements here are FROM items with the live table's columns, for
:func:`jurisgrid.models.plan_source.under` to put in place of ``address_point``, ``incident`` and
``sizing_grid_stats`` in the aggregate statements, so stats, sizing, the reports and the analysis
cells answer for such a plan as they do for one that keeps the grids. Parameter: ``%(plan)s``.
"""

from __future__ import annotations

from functools import cache

from jurisgrid.models.tables import metadata

__all__ = ["MEMBERSHIP_TABLES", "membership_sql", "reshaped_sql"]

MEMBERSHIP_TABLES = ("address_point", "incident", "sizing_grid_stats")

_PLAN = "%(plan)s::integer"

# ids of the grids the plan reshapes (see the module's docstring)
_RESHAPED = f"""SELECT o.id FROM plan_grid o LEFT JOIN grid l ON l.id = o.id
WHERE o.plan_id = {_PLAN} AND (o.deleted OR l.id IS NULL OR o.code <> l.code
      OR NOT ST_OrderingEquals(o.geom, l.geom))"""

# their live shapes and their shapes under the plan
_AREA = f"""SELECT l.geom FROM grid l WHERE l.id IN ({_RESHAPED})
UNION ALL SELECT o.geom FROM plan_grid o
WHERE o.plan_id = {_PLAN} AND NOT o.deleted AND o.id IN ({_RESHAPED})"""


def reshaped_sql() -> str:
    """The ids of the grids a plan reshapes (parameter ``%(plan)s``)."""
    return _RESHAPED


@cache
def _placed(table: str) -> str:
    """The points of ``table`` placed again under the plan: id, stored grid (``old``), grid
    under the plan (``new``, NULL when in none of its grids)."""
    # current_schema() is PARALLEL UNSAFE: no parallel plan for the statement, whose workers
    # (each loading PostGIS) cost ~100 ms to start for the few hundred points placed here
    return (f"SELECT p.id, p.grid_id AS old, w.id AS new FROM {table} p "
            f"LEFT JOIN LATERAL jg_grid_of(p.geom, NULL, NULL, {_PLAN}) w(id) ON true "
            f"WHERE p.id IN (SELECT q.id FROM ({_AREA}) a JOIN {table} q "
            "ON ST_DWithin(q.geom, a.geom, jg_tolerance())) AND current_schema() IS NOT NULL")


@cache
def membership_sql(table: str) -> str:
    """``table`` (one of :data:`MEMBERSHIP_TABLES`) under the plan ``%(plan)s``, as a FROM
    expression (alias it) with the live columns."""
    if table == "sizing_grid_stats":
        return _grid_stats()
    cols = [c.name for c in metadata.tables[table].columns]
    out = ", ".join("CASE WHEN m.id IS NULL THEN p.grid_id ELSE m.new END AS grid_id"
                    if c == "grid_id" else f"p.{c}" for c in cols)
    return f"(SELECT {out} FROM {table} p LEFT JOIN ({_placed(table)}) m ON m.id = p.id)"


def _grid_stats() -> str:
    """Per grid under the plan: the live row of a grid it does not reshape, less the points
    placed again that it had and plus those placed into it (a point placed where it was counts
    −1 and +1); a reshaped grid: its area from its new shape and the points placed into it."""
    figures = ("addresses", "households", "population", "houses", "units")
    signed = ", ".join(["d.sign"] + [f"d.sign * coalesce(p.{f}, 0)" for f in figures[1:]])
    sums = ", ".join(f"sum(x.{f})::bigint AS {f}" for f in figures)
    return f"""(SELECT x.grid_id, {sums}, sum(x.area_m2) AS area_m2 FROM (
    SELECT s.grid_id, s.addresses, s.households, s.population, s.houses, s.units, s.area_m2
    FROM sizing_grid_stats s WHERE s.grid_id NOT IN ({_RESHAPED})
    UNION ALL
    SELECT o.id, 0, 0, 0, 0, 0, ST_Area(o.geom::geography) FROM plan_grid o
    WHERE o.plan_id = {_PLAN} AND NOT o.deleted AND o.id IN ({_RESHAPED})
    UNION ALL
    SELECT d.grid_id, {signed}, 0
    FROM ({_placed("address_point")}) m JOIN address_point p ON p.id = m.id
    CROSS JOIN LATERAL (VALUES (m.old, -1), (m.new, 1)) d(grid_id, sign)
    WHERE d.grid_id IS NOT NULL AND NOT (d.sign = -1 AND d.grid_id IN ({_RESHAPED}))
) x GROUP BY x.grid_id)"""
