-- Address figures and area per unit, summed from the per-grid rollup (migration 0002) over the
-- stored memberships: {key} is the unit id of a grid at the asked level, {joins} reach it.
SELECT {key} AS unit_id,
       count(*)                        AS grids,
       coalesce(sum(s.addresses), 0)   AS addresses,
       coalesce(sum(s.households), 0)  AS households,
       coalesce(sum(s.population), 0)  AS population,
       coalesce(sum(s.houses), 0)      AS houses,
       coalesce(sum(s.units), 0)       AS units,
       coalesce(sum(s.area_m2), 0)     AS area_m2
FROM grid g
{joins}
LEFT JOIN sizing_grid_stats s ON s.grid_id = g.id
WHERE {key} = ANY(%(ids)s)
GROUP BY {key}
