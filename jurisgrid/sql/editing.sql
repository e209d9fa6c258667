-- Statements of jurisgrid/editing/revisions.py (close_revision). Parameter %(r)s = revision id.

-- name: changed_units
-- Units a revision changed (before = version it closed, after = version it opened).
SELECT 'grid' AS kind, coalesce(a.id, b.id) AS id, coalesce(a.code, b.code) AS code,
       b.zone_id AS before_parent, a.zone_id AS after_parent,
       (b.geom IS NULL OR a.geom IS NULL OR NOT ST_Equals(b.geom, a.geom)) AS reshaped
FROM (SELECT * FROM grid_history WHERE rev_to = %(r)s) b
FULL JOIN (SELECT * FROM grid_history WHERE rev_from = %(r)s) a ON a.id = b.id
UNION ALL
SELECT 'zone', coalesce(a.id, b.id), coalesce(a.code, b.code), b.station_id, a.station_id,
       (b.id IS NULL OR a.id IS NULL OR b.station_id IS DISTINCT FROM a.station_id)
FROM (SELECT * FROM zone_history WHERE rev_to = %(r)s) b
FULL JOIN (SELECT * FROM zone_history WHERE rev_from = %(r)s) a ON a.id = b.id
UNION ALL
SELECT 'station', coalesce(a.id, b.id), coalesce(a.code, b.code), b.sector_id, a.sector_id, false
FROM (SELECT * FROM station_history WHERE rev_to = %(r)s) b
FULL JOIN (SELECT * FROM station_history WHERE rev_from = %(r)s) a ON a.id = b.id
UNION ALL
SELECT 'community', coalesce(a.id, b.id), coalesce(a.code, b.code), b.township_id, a.township_id,
       (b.geom IS NULL OR a.geom IS NULL OR NOT ST_Equals(b.geom, a.geom))
FROM (SELECT * FROM community_history WHERE rev_to = %(r)s) b
FULL JOIN (SELECT * FROM community_history WHERE rev_from = %(r)s) a ON a.id = b.id;

-- name: refresh_zones
-- Zone and station outlines of the units an edit touched, as EXACT unions (no precision grid).
-- models/derived.py snaps unions to the 1e-7° grid, right for the seeded grids whose vertices all
-- lie on it; edits keep exact crossing points (geo/reshape.py), which a snapped union would move
-- by up to a grid cell along long edges (0.1–10 m² of drift per vertex). Shared edges are
-- identical in both grids, so the exact union dissolves them all the same.
UPDATE zone z SET geom = u.geom
FROM (SELECT zone_id, ST_Multi(ST_CollectionExtract(ST_Union(geom), 3)) AS geom FROM grid
      WHERE zone_id = ANY(%(z)s) GROUP BY zone_id) u
WHERE z.id = u.zone_id;

-- name: refresh_stations
UPDATE station s SET geom = u.geom
FROM (SELECT station_id, ST_Multi(ST_CollectionExtract(ST_Union(geom), 3)) AS geom FROM zone
      WHERE station_id = ANY(%(s)s) GROUP BY station_id) u
WHERE s.id = u.station_id;

-- name: empty_outlines
UPDATE zone z SET geom = NULL WHERE z.id = ANY(%(z)s) AND z.geom IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM grid g WHERE g.zone_id = z.id);
UPDATE station s SET geom = NULL WHERE s.id = ANY(%(s)s) AND s.geom IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM zone z WHERE z.station_id = s.id AND z.geom IS NOT NULL);

-- name: areas
-- reshaped: where grid geometry changed (points there may change grid);
-- changed: reshaped plus every grid or zone that changed hands (whole shapes).
WITH g AS (
    SELECT b.geom AS bg, a.geom AS ag,
           (b.zone_id IS DISTINCT FROM a.zone_id OR b.community_id IS DISTINCT FROM a.community_id) AS moved
    FROM (SELECT * FROM grid_history WHERE rev_to = %(r)s) b
    FULL JOIN (SELECT * FROM grid_history WHERE rev_from = %(r)s) a ON a.id = b.id
), pieces AS (
    SELECT CASE WHEN bg IS NULL OR ag IS NULL THEN coalesce(bg, ag)
                ELSE ST_SymDifference(bg, ag) END AS reshaped,
           CASE WHEN moved AND bg IS NOT NULL AND ag IS NOT NULL THEN ST_Union(bg, ag) END AS moved
    FROM g
), z AS (
    SELECT coalesce(a.geom, b.geom) AS geom
    FROM (SELECT * FROM zone_history WHERE rev_to = %(r)s) b
    JOIN (SELECT * FROM zone_history WHERE rev_from = %(r)s) a ON a.id = b.id
    WHERE b.station_id IS DISTINCT FROM a.station_id
), r AS (
    SELECT ST_Union(reshaped) FILTER (WHERE NOT ST_IsEmpty(reshaped)) AS reshaped FROM pieces
)
SELECT r.reshaped,
       ST_Union(ARRAY(SELECT x FROM (SELECT r.reshaped AS x UNION ALL SELECT moved FROM pieces
                                     UNION ALL SELECT geom FROM z) s
                      WHERE x IS NOT NULL AND NOT ST_IsEmpty(x))) AS changed
FROM r;

-- name: rehome
-- Membership (invariant 3) of the points inside the reshaped area, under the boundary rule.
WITH cand AS (
    SELECT 'address_point' AS kind, p.id, p.grid_id AS old, jg_grid_at(p.geom) AS new
    FROM address_point p WHERE ST_DWithin(p.geom, %(area)s::geometry, 2e-7)
    UNION ALL
    SELECT 'incident', i.id, i.grid_id, jg_grid_at(i.geom)
    FROM incident i WHERE ST_DWithin(i.geom, %(area)s::geometry, 2e-7)
), ua AS (
    UPDATE address_point p SET grid_id = c.new FROM cand c
    WHERE c.kind = 'address_point' AND p.id = c.id AND c.old IS DISTINCT FROM c.new
    RETURNING p.id, c.old, c.new, p.population, p.households
), ui AS (
    UPDATE incident i SET grid_id = c.new FROM cand c
    WHERE c.kind = 'incident' AND i.id = c.id AND c.old IS DISTINCT FROM c.new
    RETURNING i.id, c.old, c.new
)
SELECT (SELECT count(*) FROM ua), (SELECT coalesce(sum(population), 0) FROM ua),
       (SELECT coalesce(sum(households), 0) FROM ua), (SELECT count(*) FROM ui),
       (SELECT array_agg(DISTINCT x) FROM (SELECT old AS x FROM ua UNION SELECT new FROM ua
                                           UNION SELECT old FROM ui UNION SELECT new FROM ui) s
        WHERE x IS NOT NULL);

-- name: moved_counts
-- Points whose zone changed because their grid changed zone.
SELECT (SELECT count(*) FROM address_point WHERE grid_id = ANY(%(g)s)),
       (SELECT coalesce(sum(population), 0) FROM address_point WHERE grid_id = ANY(%(g)s)),
       (SELECT coalesce(sum(households), 0) FROM address_point WHERE grid_id = ANY(%(g)s)),
       (SELECT count(*) FROM incident WHERE grid_id = ANY(%(g)s));

-- name: local_coverage
-- Invariant 1 inside the envelope of the reshaped area: gap, outside and overlap in m².
WITH env AS (SELECT ST_Expand(ST_Envelope(%(area)s::geometry), 1e-6) AS e),
     g AS (SELECT ST_Intersection(g.geom, env.e) AS geom FROM grid g, env WHERE g.geom && env.e),
     u AS (SELECT ST_Union(geom) AS geom, sum(ST_Area(geom::geography)) AS total FROM g),
     c AS (SELECT ST_Intersection(ST_Union(county.geom), env.e) AS geom FROM county, env GROUP BY env.e)
SELECT coalesce(ST_Area(ST_Difference(c.geom, u.geom)::geography), ST_Area(c.geom::geography)),
       coalesce(ST_Area(ST_Difference(u.geom, c.geom)::geography), 0),
       coalesce(u.total - ST_Area(u.geom::geography), 0)
FROM u, c;

-- name: local_gap_before
-- The gap of local_coverage before the open revision: the grids it reshaped (ids g) as they
-- were (their versions the revision closed), the others as they are.
WITH env AS (SELECT ST_Expand(ST_Envelope(%(area)s::geometry), 1e-6) AS e),
     g AS (SELECT ST_Intersection(g.geom, env.e) AS geom FROM grid g, env
            WHERE g.geom && env.e AND NOT (g.id = ANY(%(g)s))
           UNION ALL
           SELECT ST_Intersection(h.geom, env.e) FROM grid_history h, env
            WHERE h.rev_to = current_setting('jurisgrid.revision')::bigint AND h.id = ANY(%(g)s)
              AND h.geom && env.e),
     u AS (SELECT ST_Union(geom) AS geom FROM g),
     c AS (SELECT ST_Intersection(ST_Union(county.geom), env.e) AS geom FROM county, env GROUP BY env.e)
SELECT coalesce(ST_Area(ST_Difference(c.geom, u.geom)::geography), ST_Area(c.geom::geography))
FROM u, c;

-- name: reshaped_area_change
-- Invariant 1 on the sphere: the grids a revision reshaped (ids g, new and removed ones
-- included) cover together the same area after it as before it — the land only changed hands —
-- in m² (geography), after minus before. The envelope measures above overlay in the plane and
-- then measure on the sphere, so they miss a vertex left exactly on an edge of the county (a
-- T-junction: planar overlay finds nothing, yet the grid's broken geodesic edge no longer
-- follows the county's); this sum sees it. A revert restores versions that tiled before, and
-- may repair such a defect of the revision it reverts: not measured.
SELECT CASE WHEN r.kind = 'revert' THEN 0 ELSE
         coalesce((SELECT sum(ST_Area(geom::geography)) FROM grid_history
                   WHERE rev_from = r.id AND id = ANY(%(g)s)), 0)
       - coalesce((SELECT sum(ST_Area(geom::geography)) FROM grid_history
                   WHERE rev_to = r.id AND id = ANY(%(g)s)), 0) END
FROM revision r WHERE r.id = current_setting('jurisgrid.revision')::bigint;

-- name: grids_outside_community
SELECT g.code, ST_Area(ST_Difference(g.geom, c.geom)::geography) AS m2
FROM grid g JOIN community c ON c.id = g.community_id
WHERE g.id = ANY(%(g)s) AND ST_Area(ST_Difference(g.geom, c.geom)::geography) > %(tol)s;

-- name: codes_of
SELECT 'zone', code FROM zone WHERE id = ANY(%(z)s)
UNION ALL SELECT 'station', code FROM station WHERE id = ANY(%(s)s);

-- name: outline_changed
SELECT 'zone' AS kind, coalesce(a.code, b.code) FROM
  (SELECT * FROM zone_history WHERE rev_to = %(r)s) b
  FULL JOIN (SELECT * FROM zone_history WHERE rev_from = %(r)s) a ON a.id = b.id
WHERE b.geom IS DISTINCT FROM a.geom AND NOT coalesce(ST_Equals(b.geom, a.geom), false)
UNION ALL
SELECT 'station', coalesce(a.code, b.code) FROM
  (SELECT * FROM station_history WHERE rev_to = %(r)s) b
  FULL JOIN (SELECT * FROM station_history WHERE rev_from = %(r)s) a ON a.id = b.id
WHERE b.geom IS DISTINCT FROM a.geom AND NOT coalesce(ST_Equals(b.geom, a.geom), false);

-- name: zone_pieces
-- Zones whose outline a revision changed, with their number of parts before and after it
-- (a zone cut into pieces by an edit is worth a warning: its grids no longer hang together).
SELECT coalesce(a.code, b.code) AS code, coalesce(ST_NumGeometries(b.geom), 0) AS before,
       coalesce(ST_NumGeometries(a.geom), 0) AS after
FROM (SELECT * FROM zone_history WHERE rev_to = %(r)s) b
FULL JOIN (SELECT * FROM zone_history WHERE rev_from = %(r)s) a ON a.id = b.id
WHERE NOT coalesce(ST_Equals(b.geom, a.geom), false);

-- name: station_moves
-- Grids and zones a revision put under another station: (kind, code, from station, to station).
SELECT 'grid' AS kind, g.code, sb.code AS from_station, sa.code AS to_station
FROM (SELECT * FROM grid_history WHERE rev_to = %(r)s) b
JOIN (SELECT * FROM grid_history WHERE rev_from = %(r)s) g ON g.id = b.id
JOIN zone zb ON zb.id = b.zone_id JOIN station sb ON sb.id = zb.station_id
JOIN zone za ON za.id = g.zone_id JOIN station sa ON sa.id = za.station_id
WHERE zb.station_id <> za.station_id
UNION ALL
SELECT 'zone', a.code, sb.code, sa.code
FROM (SELECT * FROM zone_history WHERE rev_to = %(r)s) b
JOIN (SELECT * FROM zone_history WHERE rev_from = %(r)s) a ON a.id = b.id
JOIN station sb ON sb.id = b.station_id JOIN station sa ON sa.id = a.station_id
WHERE b.station_id <> a.station_id
ORDER BY 1, 2;
