-- Who is responsible for one point (docs/design.md, invariant 4), under a source
-- (models/source.py): the braced names are the rows in force of those tables — the live tables,
-- or the versions valid at the instant `at` (NULL for the live data) with, for a future instant,
-- the cached scheduled edits of the key `future` (migration 0011). Parameters: lon, lat (WGS 84),
-- at, future, plan (a plan's overlay, migration 0013; NULL otherwise) and rule_plan (the plan
-- whose grids the boundary rule uses: NULL when its grids are the live ones).
-- The grid is the boundary rule's, jg_grid_of(); a point in no grid gets the grid nearest in
-- metres, jg_nearest_grid() (migrations 0010, 0011). Officers: models/responsible.officer_rule().
WITH p AS (
    SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g
), hit AS (
    -- jg_grid_of in a FROM item: inlined, so the rule is planned with the statement
    SELECT (SELECT w FROM jg_grid_of(p.g, %(at)s::timestamptz, %(future)s::text, %(rule_plan)s::integer) w) AS id FROM p
), near AS (
    SELECT n.id, n.code, n.metres
    FROM jg_nearest_grid((SELECT g FROM p), %(at)s::timestamptz, %(future)s::text,
                           %(rule_plan)s::integer) n
    WHERE (SELECT id FROM hit) IS NULL
)
SELECT
    jg_on_boundary(gr.geom, p.g) AS on_boundary,
    -- 0 on the boundary (by the rule); otherwise metres on the spheroid (a geodesic may pass a
    -- few cm from a planar lon/lat edge, so it is not used to decide onBoundary)
    CASE WHEN jg_on_boundary(gr.geom, p.g) THEN 0
         ELSE ST_Distance(ST_Boundary(gr.geom)::geography, p.g::geography) END AS boundary_m,
    near.id AS nearest_id,
    near.code AS nearest_code,
    near.metres AS nearest_m,
    {columns},
    (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'id', pe.id, 'code', pe.code, 'name', pe.name, 'phone', pe.phone,
                'role', a.role, 'assignment_id', a.id) ORDER BY a.role, pe.code), '[]')
       FROM {assignment} a JOIN {person} pe ON pe.id = a.person_id
      WHERE {officers}) AS officers
FROM p
CROSS JOIN hit
LEFT JOIN near ON true
LEFT JOIN {grid} gr ON gr.id = hit.id
LEFT JOIN {zone} z ON z.id = gr.zone_id
LEFT JOIN {station} s ON s.id = z.station_id
LEFT JOIN {sector} se ON se.id = s.sector_id
LEFT JOIN {community} c ON c.id = gr.community_id
LEFT JOIN {township} t ON t.id = c.township_id
