-- Who is responsible for one point (docs/design.md, Invariants 4). Parameters: lon, lat (WGS 84).
-- The winner is the grid with the smallest code among the grids within jg_tolerance() of the
-- point (same rule as jg_grid_at() and geo/lookup.py). When there is none, the nearest grid
-- and its distance in metres are returned instead.
WITH p AS (
    SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g
), hit AS (
    SELECT gr.id, gr.geom
    FROM grid gr, p
    WHERE ST_DWithin(gr.geom, p.g, jg_tolerance())
    ORDER BY gr.code
    LIMIT 1
), near AS (
    SELECT gr.id, gr.code, ST_Distance(gr.geom::geography, p.g::geography) AS d
    FROM grid gr, p
    WHERE NOT EXISTS (SELECT 1 FROM hit)
    ORDER BY gr.geom <-> p.g
    LIMIT 1
)
SELECT
    ST_DWithin(ST_Boundary(hit.geom), p.g, jg_tolerance()) AS on_boundary,
    -- 0 on the boundary (by the rule); otherwise metres on the spheroid (a geodesic may pass a
    -- few cm from a planar lon/lat edge, so it is not used to decide onBoundary)
    CASE WHEN ST_DWithin(ST_Boundary(hit.geom), p.g, jg_tolerance()) THEN 0
         ELSE ST_Distance(ST_Boundary(hit.geom)::geography, p.g::geography) END AS boundary_m,
    near.id AS nearest_id,
    near.code AS nearest_code,
    near.d AS nearest_m,
    {columns},
    (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'id', pe.id, 'code', pe.code, 'name', pe.name, 'phone', pe.phone,
                'role', a.role, 'assignment_id', a.id) ORDER BY a.role, pe.code), '[]')
       FROM assignment a JOIN person pe ON pe.id = a.person_id
      WHERE a.valid_to IS NULL
        AND ((a.zone_id = z.id AND a.role = 'community_officer')
          OR (a.community_id = c.id AND a.role = 'auxiliary')
          OR (a.grid_id = gr.id AND a.role = 'grid_worker'))) AS officers
FROM p
LEFT JOIN hit ON true
LEFT JOIN near ON true
LEFT JOIN grid gr ON gr.id = hit.id
LEFT JOIN zone z ON z.id = gr.zone_id
LEFT JOIN station s ON s.id = z.station_id
LEFT JOIN sector se ON se.id = s.sector_id
LEFT JOIN community c ON c.id = gr.community_id
LEFT JOIN township t ON t.id = c.township_id
