-- Import and export (jurisgrid/io). Blocks are separated by "-- name: <name>" lines.

-- name: export_grids
SELECT g.code, g.name, c.code AS community, z.code AS zone, s.code AS station, ST_AsBinary(g.geom) AS wkb
FROM grid g JOIN community c ON c.id = g.community_id JOIN zone z ON z.id = g.zone_id
JOIN station s ON s.id = z.station_id ORDER BY g.code

-- name: export_zones
SELECT z.code, z.name, z.kind, z.has_office::int AS office, s.code AS station, ST_AsBinary(z.geom) AS wkb
FROM zone z JOIN station s ON s.id = z.station_id ORDER BY z.code

-- name: export_stations
SELECT s.code, s.name, s.kind, se.code AS sector, s.address, s.phone, ST_AsBinary(s.geom) AS wkb
FROM station s JOIN sector se ON se.id = s.sector_id ORDER BY s.code

-- name: export_communities
SELECT c.code, c.name, c.kind, t.code AS township, ST_AsBinary(c.geom) AS wkb
FROM community c JOIN township t ON t.id = c.township_id ORDER BY c.code

-- name: export_townships
SELECT t.code, t.name, t.kind, ST_AsBinary(t.geom) AS wkb FROM township t ORDER BY t.code

-- name: export_addresses
SELECT a.code, a.address, a.households, a.population, a.houses, a.units, g.code AS grid,
       ST_AsBinary(a.geom) AS wkb
FROM address_point a LEFT JOIN grid g ON g.id = a.grid_id ORDER BY a.code

-- name: export_incidents
-- Local time of the incident's county (county.time_zone, migration 0014) with its UTC offset;
-- an incident in no grid takes the first county's.
WITH x AS (
    SELECT i.code, i.category, i.occurred_at, g.code AS grid, i.geom,
           coalesce(c.time_zone, (SELECT time_zone FROM county ORDER BY code LIMIT 1),
                    'Asia/Shanghai') AS tz
    FROM incident i LEFT JOIN grid g ON g.id = i.grid_id
    LEFT JOIN community m ON m.id = g.community_id LEFT JOIN township t ON t.id = m.township_id
    LEFT JOIN county c ON c.id = t.county_id),
y AS (SELECT x.*, (occurred_at AT TIME ZONE tz) - (occurred_at AT TIME ZONE 'UTC') AS off FROM x)
SELECT code, category,
       to_char(occurred_at AT TIME ZONE tz, 'YYYY-MM-DD"T"HH24:MI:SS.US')
       || CASE WHEN off < interval '0' THEN '-' || to_char(-off, 'HH24:MI')
               ELSE '+' || to_char(off, 'HH24:MI') END AS occurred,
       grid, ST_AsBinary(geom) AS wkb
FROM y ORDER BY code

-- name: stage_addresses
CREATE TEMP TABLE import_addresses (code text, address text, households int, population int,
    houses int, units int, geom geometry(Point, 4326), grid_id int, county_code text) ON COMMIT DROP

-- name: update_addresses
-- by code, in whichever county the point is stored: the row moves to its new county's
-- partition when it moved there (migration 0017; an UPDATE may change partition)
UPDATE address_point a SET address = s.address, households = s.households,
    population = s.population, houses = s.houses, units = s.units, geom = s.geom,
    grid_id = s.grid_id, county_code = s.county_code
FROM import_addresses s
WHERE a.code = s.code
  AND (a.address, a.households, a.population, a.houses, a.units, ST_AsBinary(a.geom))
      IS DISTINCT FROM (s.address, s.households, s.population, s.houses, s.units, ST_AsBinary(s.geom))
RETURNING false AS inserted

-- name: insert_addresses
INSERT INTO address_point (code, address, households, population, houses, units, geom, grid_id,
                           county_code)
SELECT code, address, households, population, houses, units, geom, grid_id, county_code
FROM import_addresses s WHERE NOT EXISTS (SELECT 1 FROM address_point a WHERE a.code = s.code)
RETURNING true AS inserted

-- name: stage_incidents
CREATE TEMP TABLE import_incidents (code text, category text, occurred_at timestamptz,
    geom geometry(Point, 4326), grid_id int, county_code text) ON COMMIT DROP

-- name: update_incidents
-- by code: a new county or month moves the row to that partition
UPDATE incident i SET category = s.category, occurred_at = s.occurred_at, geom = s.geom,
    grid_id = s.grid_id, county_code = s.county_code
FROM import_incidents s
WHERE i.code = s.code
  AND (i.category, i.occurred_at, ST_AsBinary(i.geom))
      IS DISTINCT FROM (s.category, s.occurred_at, ST_AsBinary(s.geom))
RETURNING false AS inserted

-- name: insert_incidents
INSERT INTO incident (code, category, occurred_at, geom, grid_id, county_code)
SELECT code, category, occurred_at, geom, grid_id, county_code
FROM import_incidents s WHERE NOT EXISTS (SELECT 1 FROM incident i WHERE i.code = s.code)
RETURNING true AS inserted

-- name: assign_grids
-- membership for the staged points in one set-based statement, by the boundary rule
-- (jg_grid_of, migration 0010; inlined by the planner); the trigger then does nothing
UPDATE {table} t SET grid_id = s.id FROM (
    SELECT t.code, w AS id FROM {table} t, jg_grid_of(t.geom) w) s
WHERE s.code = t.code

-- name: assign_counties
-- the partition key (migration 0017): the county of the grid, else of the outline holding it
UPDATE {table} t SET county_code = coalesce(
    (SELECT gc.county_code FROM jg_grid_county() gc WHERE gc.grid_id = t.grid_id),
    jg_outline_county(t.geom))

-- name: stage_grids
CREATE TEMP TABLE import_grids (code text, name text, community text, zone text,
    geom geometry(MultiPolygon, 4326)) ON COMMIT DROP

-- name: update_grids
-- a file's shape within 1e-10° (0.01 mm) of the stored one, vertex for vertex, is the stored
-- shape (a stored geometry is never an edit of itself: GCJ-02/BD-09 and projections return
-- vertices within ~1e-12°); such a grid keeps its stored geometry
UPDATE grid g SET name = t.name, zone_id = z.id, geom = CASE WHEN s.same THEN g.geom ELSE t.geom END
FROM import_grids t JOIN zone z ON z.code = t.zone JOIN grid g0 ON g0.code = t.code,
LATERAL (SELECT ST_Equals(g0.geom, t.geom)
                OR (ST_NPoints(g0.geom) = ST_NPoints(t.geom)
                    AND ST_HausdorffDistance(g0.geom, t.geom) <= 1e-10) AS same) s
WHERE g.id = g0.id AND (g.name <> t.name OR g.zone_id <> z.id OR NOT s.same)
RETURNING g.code

-- name: insert_grids
INSERT INTO grid (code, name, community_id, zone_id, geom)
SELECT t.code, t.name, c.id, z.id, t.geom
FROM import_grids t JOIN community c ON c.code = t.community JOIN zone z ON z.code = t.zone
WHERE NOT EXISTS (SELECT 1 FROM grid g WHERE g.code = t.code)
RETURNING code
