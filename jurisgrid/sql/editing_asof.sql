-- name: responsible_as_of
-- responsibleFor as of %(t)s from the history tables (same boundary rule as jg_grid_at).
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS p),
g AS (
    SELECT h.* FROM grid_history h, p
    WHERE h.valid @> %(t)s::timestamptz AND ST_DWithin(h.geom, p.p, jg_tolerance())
    ORDER BY h.code LIMIT 1
)
SELECT g.id AS grid_id, z.id AS zone_id, s.id AS station_id, c.id AS community_id,
       ST_DWithin(ST_Boundary(g.geom), p.p, jg_tolerance()) AS on_boundary,
       ST_Distance(ST_Boundary(g.geom)::geography, p.p::geography) AS boundary_m
FROM g CROSS JOIN p
LEFT JOIN zone_history z ON z.id = g.zone_id AND z.valid @> %(t)s::timestamptz
LEFT JOIN station_history s ON s.id = z.station_id AND s.valid @> %(t)s::timestamptz
LEFT JOIN community_history c ON c.id = g.community_id AND c.valid @> %(t)s::timestamptz;

-- name: officers_as_of
SELECT a.role, pe.id, pe.code, pe.name, pe.phone
FROM assignment_history a
JOIN person_history pe ON pe.id = a.person_id AND pe.valid @> %(t)s::timestamptz
WHERE a.valid @> %(t)s::timestamptz
  AND a.valid_from <= %(t)s::timestamptz AND (a.valid_to IS NULL OR a.valid_to > %(t)s::timestamptz)
  AND ((a.role = 'community_officer' AND a.zone_id = %(zone)s)
       OR (a.role = 'auxiliary' AND a.community_id = %(community)s)
       OR (a.role = 'grid_worker' AND a.grid_id = %(grid)s))
ORDER BY a.role, pe.code;
