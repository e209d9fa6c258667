-- zones as of $9 (an instant ≤ now): zone_history, with the station and the number of grids
-- as of $9. No figures and no class (see jurisgrid/tiles/asof.py).
r AS (
    SELECT z.id AS k, ST_SimplifyPreserveTopology(ST_ClipByBox2D(z.geom, b.q), b.tol) AS g
    FROM b, zone_history z WHERE z.geom && b.q AND z.valid @> $9::timestamptz
), a AS (
    SELECT g.zone_id, count(*) AS grids
    FROM grid_history g
    WHERE g.valid @> $9::timestamptz AND g.zone_id IN (SELECT k FROM r)
    GROUP BY g.zone_id
), {shift}, f AS MATERIALIZED (  -- materialized: the outer filter must not compute the geometry twice
    SELECT z.code, z.name, z.kind, z.has_office, s.code AS station_code, coalesce(a.grids, 0) AS grids,
           ST_AsMVTGeom(ST_Transform(sh.g, 3857), b.env, 4096, 64, true) AS geom
    FROM b, sh JOIN zone_history z ON z.id = sh.k AND z.valid @> $9::timestamptz
    LEFT JOIN station_history s ON s.id = z.station_id AND s.valid @> $9::timestamptz
    LEFT JOIN a ON a.zone_id = sh.k
)
-- not only in the buffer band (tiles_bounds.sql: near)
SELECT ST_AsMVT(f.*, 'zones', 4096, 'geom') FROM f, b
WHERE f.geom IS NOT NULL AND ST_Intersects(f.geom, b.near)
