-- name: coverage_gap_overlap
-- Invariant 1: grids tile the county outline. Gap = outline minus union of grids; overlap =
-- sum of grid areas minus the area of their union. Both in m² (geography).
WITH u AS (SELECT ST_Union(geom, 1e-9) AS geom, sum(ST_Area(geom::geography)) AS total FROM grid),
     c AS (SELECT ST_Union(geom) AS geom FROM county)
SELECT coalesce(ST_Area(ST_Difference(c.geom, u.geom)::geography), ST_Area(c.geom::geography)) AS gap_m2,
       coalesce(ST_Area(ST_Difference(u.geom, c.geom)::geography), 0) AS outside_m2,
       coalesce(u.total - ST_Area(u.geom::geography), 0) AS overlap_m2
FROM u, c;

-- name: zone_outline_drift
-- Invariant 2: a zone's stored outline is the union of its grids (m² of difference per zone).
SELECT z.code, ST_Area(ST_SymDifference(coalesce(z.geom, 'MULTIPOLYGON EMPTY'::geometry),
                                        coalesce(u.geom, 'MULTIPOLYGON EMPTY'::geometry))::geography) AS m2
FROM zone z LEFT JOIN (SELECT zone_id, ST_Union(geom) AS geom FROM grid GROUP BY zone_id) u
  ON u.zone_id = z.id
WHERE ST_Area(ST_SymDifference(coalesce(z.geom, 'MULTIPOLYGON EMPTY'::geometry),
                               coalesce(u.geom, 'MULTIPOLYGON EMPTY'::geometry))::geography) > %(tol)s;

-- name: station_outline_drift
SELECT s.code, ST_Area(ST_SymDifference(coalesce(s.geom, 'MULTIPOLYGON EMPTY'::geometry),
                                        coalesce(u.geom, 'MULTIPOLYGON EMPTY'::geometry))::geography) AS m2
FROM station s LEFT JOIN (SELECT station_id, ST_Union(geom) AS geom FROM zone GROUP BY station_id) u
  ON u.station_id = s.id
WHERE ST_Area(ST_SymDifference(coalesce(s.geom, 'MULTIPOLYGON EMPTY'::geometry),
                               coalesce(u.geom, 'MULTIPOLYGON EMPTY'::geometry))::geography) > %(tol)s;

-- name: grid_outside_community
-- A grid belongs to exactly one community: it lies inside it.
SELECT g.code, ST_Area(ST_Difference(g.geom, c.geom)::geography) AS m2
FROM grid g JOIN community c ON c.id = g.community_id
WHERE ST_Area(ST_Difference(g.geom, c.geom)::geography) > %(tol)s;

-- name: membership_stale
-- Invariant 3: every address point and incident knows its grid, under the boundary rule
-- (jg_grid_of in a FROM item: inlined, a set-based join — half the time of a call per point).
SELECT 'address_point' AS kind, a.code FROM address_point a
WHERE a.grid_id IS DISTINCT FROM (SELECT w FROM jg_grid_of(a.geom) w)
UNION ALL
SELECT 'incident', i.code FROM incident i
WHERE i.grid_id IS DISTINCT FROM (SELECT w FROM jg_grid_of(i.geom) w)
LIMIT 100;
