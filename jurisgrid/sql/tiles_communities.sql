r AS (
    SELECT c.id AS k, ST_SimplifyPreserveTopology(ST_ClipByBox2D(c.geom, b.q), b.tol) AS g
    FROM b, community c WHERE c.geom && b.q
), a AS (
    SELECT g.community_id, count(*) AS grids, coalesce(sum(st.population), 0)::bigint AS population,
           coalesce(sum(st.households), 0)::bigint AS households, coalesce(sum(st.incidents), 0)::bigint AS incidents
    FROM grid g LEFT JOIN tile_grid_stats st ON st.grid_id = g.id
    WHERE g.community_id IN (SELECT k FROM r)
    GROUP BY g.community_id
), {shift}, f AS MATERIALIZED (  -- materialized: the outer filter must not compute the geometry twice
    SELECT c.code, c.name, c.kind, t.code AS township_code,
           coalesce(a.grids, 0) AS grids, coalesce(a.population, 0) AS population,
           coalesce(a.households, 0) AS households, coalesce(a.incidents, 0) AS incidents,
           ST_AsMVTGeom(ST_Transform(sh.g, 3857), b.env, 4096, 64, true) AS geom
    FROM b, sh JOIN community c ON c.id = sh.k JOIN township t ON t.id = c.township_id
    LEFT JOIN a ON a.community_id = sh.k
)
-- not only in the buffer band (tiles_bounds.sql: near)
SELECT ST_AsMVT(f.*, 'communities', 4096, 'geom') FROM f, b
WHERE f.geom IS NOT NULL AND ST_Intersects(f.geom, b.near)
