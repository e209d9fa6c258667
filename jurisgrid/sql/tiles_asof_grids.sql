-- grids as of $9 (an instant ≤ now): the versions in force then (grid_history, migration 0003),
-- with their zone, station and community as of $9. No figures: address points and incidents
-- are not historised (see jurisgrid/tiles/asof.py).
r AS (
    SELECT g.id AS k, ST_SimplifyPreserveTopology(ST_ClipByBox2D(g.geom, b.q), b.tol) AS g
    FROM b, grid_history g WHERE g.geom && b.q AND g.valid @> $9::timestamptz
), {shift}, f AS MATERIALIZED (  -- materialized: the outer filter must not compute the geometry twice
    SELECT g.code, g.name, z.code AS zone_code, s.code AS station_code, c.code AS community_code,
           ST_AsMVTGeom(ST_Transform(sh.g, 3857), b.env, 4096, 64, true) AS geom
    FROM b, sh
    JOIN grid_history g ON g.id = sh.k AND g.valid @> $9::timestamptz
    LEFT JOIN zone_history z ON z.id = g.zone_id AND z.valid @> $9::timestamptz
    LEFT JOIN station_history s ON s.id = z.station_id AND s.valid @> $9::timestamptz
    LEFT JOIN community_history c ON c.id = g.community_id AND c.valid @> $9::timestamptz
)
-- not only in the buffer band (tiles_bounds.sql: near)
SELECT ST_AsMVT(f.*, 'grids', 4096, 'geom') FROM f, b
WHERE f.geom IS NOT NULL AND ST_Intersects(f.geom, b.near)
