r AS (
    SELECT t.id AS k, ST_SimplifyPreserveTopology(ST_ClipByBox2D(t.geom, b.q), b.tol) AS g
    FROM b, township t WHERE t.geom && b.q
), a AS (
    SELECT c.township_id, count(DISTINCT c.id) AS communities,
           coalesce(sum(st.population), 0)::bigint AS population,
           coalesce(sum(st.households), 0)::bigint AS households, coalesce(sum(st.incidents), 0)::bigint AS incidents
    FROM community c JOIN grid g ON g.community_id = c.id
    LEFT JOIN tile_grid_stats st ON st.grid_id = g.id
    WHERE c.township_id IN (SELECT k FROM r)
    GROUP BY c.township_id
), {shift}, f AS MATERIALIZED (  -- materialized: the outer filter must not compute the geometry twice
    SELECT t.code, t.name, t.kind, coalesce(a.communities, 0) AS communities,
           coalesce(a.population, 0) AS population, coalesce(a.households, 0) AS households,
           coalesce(a.incidents, 0) AS incidents,
           ST_AsMVTGeom(ST_Transform(sh.g, 3857), b.env, 4096, 64, true) AS geom
    FROM b, sh JOIN township t ON t.id = sh.k LEFT JOIN a ON a.township_id = sh.k
)
-- not only in the buffer band (tiles_bounds.sql: near)
SELECT ST_AsMVT(f.*, 'townships', 4096, 'geom') FROM f, b
WHERE f.geom IS NOT NULL AND ST_Intersects(f.geom, b.near)
