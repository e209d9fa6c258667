-- communities as of $9 (an instant ≤ now): community_history, with the number of grids as of
-- $9. Townships are not historised: their code is read from the current table. No figures.
r AS (
    SELECT c.id AS k, ST_SimplifyPreserveTopology(ST_ClipByBox2D(c.geom, b.q), b.tol) AS g
    FROM b, community_history c WHERE c.geom && b.q AND c.valid @> $9::timestamptz
), a AS (
    SELECT g.community_id, count(*) AS grids
    FROM grid_history g
    WHERE g.valid @> $9::timestamptz AND g.community_id IN (SELECT k FROM r)
    GROUP BY g.community_id
), {shift}, f AS MATERIALIZED (  -- materialized: the outer filter must not compute the geometry twice
    SELECT c.code, c.name, c.kind, t.code AS township_code, coalesce(a.grids, 0) AS grids,
           ST_AsMVTGeom(ST_Transform(sh.g, 3857), b.env, 4096, 64, true) AS geom
    FROM b, sh JOIN community_history c ON c.id = sh.k AND c.valid @> $9::timestamptz
    LEFT JOIN township t ON t.id = c.township_id
    LEFT JOIN a ON a.community_id = sh.k
)
-- not only in the buffer band (tiles_bounds.sql: near)
SELECT ST_AsMVT(f.*, 'communities', 4096, 'geom') FROM f, b
WHERE f.geom IS NOT NULL AND ST_Intersects(f.geom, b.near)
