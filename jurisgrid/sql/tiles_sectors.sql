r AS (  -- the stations meeting the tile, clipped, not simplified (see m)
    SELECT s.id AS k, ST_ClipByBox2D(s.geom, b.q) AS g FROM b, station s WHERE s.geom && b.q
), a AS (
    SELECT s.sector_id, count(DISTINCT s.id) AS stations, coalesce(sum(st.population), 0)::bigint AS population,
           coalesce(sum(st.households), 0)::bigint AS households, coalesce(sum(st.incidents), 0)::bigint AS incidents
    FROM station s JOIN zone z ON z.station_id = s.id JOIN grid g ON g.zone_id = z.id
    LEFT JOIN tile_grid_stats st ON st.grid_id = g.id
    GROUP BY s.sector_id
), {shift}, m AS (
    -- a sector is the union of its stations, dissolved in tile space: the stations' shared
    -- edges snap to the same tile units there, so they dissolve without slivers
    SELECT s.sector_id,
           ST_Union(ST_AsMVTGeom(ST_Transform(sh.g, 3857), b.env, 4096, 64, true), 1.0) AS geom
    FROM b, sh JOIN station s ON s.id = sh.k GROUP BY s.sector_id
), f AS MATERIALIZED (  -- materialized: the outer filter must not compute the geometry twice
    SELECT sec.code, sec.name, coalesce(a.stations, 0) AS stations,
           coalesce(a.population, 0) AS population, coalesce(a.households, 0) AS households,
           coalesce(a.incidents, 0) AS incidents, m.geom
    FROM m JOIN sector sec ON sec.id = m.sector_id LEFT JOIN a ON a.sector_id = m.sector_id
)
-- not only in the buffer band (tiles_bounds.sql: near)
SELECT ST_AsMVT(f.*, 'sectors', 4096, 'geom') FROM f, b
WHERE f.geom IS NOT NULL AND NOT ST_IsEmpty(f.geom) AND ST_Intersects(f.geom, b.near)
