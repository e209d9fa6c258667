r AS (  -- the features meeting the tile: clipped to it (plus buffer), generalised to one tile unit
    SELECT g.id AS k, ST_SimplifyPreserveTopology(ST_ClipByBox2D(g.geom, b.q), b.tol) AS g
    FROM b, grid g WHERE g.geom && b.q
), {shift}, f AS MATERIALIZED (  -- materialized: the outer filter must not compute the geometry twice
    SELECT g.code, g.name, z.code AS zone_code, s.code AS station_code, c.code AS community_code,
           coalesce(st.population, 0) AS population, coalesce(st.households, 0) AS households,
           coalesce(st.addresses, 0) AS addresses, coalesce(st.incidents, 0) AS incidents,
           round(st.incidents * 1000.0 / nullif(st.population, 0), 2)::float8 AS incidents_per_1000,
           ST_AsMVTGeom(ST_Transform(sh.g, 3857), b.env, 4096, 64, true) AS geom
    FROM b, sh
    JOIN grid g ON g.id = sh.k
    JOIN zone z ON z.id = g.zone_id
    JOIN station s ON s.id = z.station_id
    JOIN community c ON c.id = g.community_id
    LEFT JOIN tile_grid_stats st ON st.grid_id = g.id
)
-- not only in the buffer band (tiles_bounds.sql: near)
SELECT ST_AsMVT(f.*, 'grids', 4096, 'geom') FROM f, b
WHERE f.geom IS NOT NULL AND ST_Intersects(f.geom, b.near)
