r AS (
    SELECT z.id AS k, ST_SimplifyPreserveTopology(ST_ClipByBox2D(z.geom, b.q), b.tol) AS g
    FROM b, zone z WHERE z.geom && b.q
), a AS (  -- figures per zone: sums over the stored per-grid figures, by membership
    SELECT g.zone_id, count(*) AS grids, coalesce(sum(st.population), 0)::bigint AS population,
           coalesce(sum(st.households), 0)::bigint AS households, coalesce(sum(st.incidents), 0)::bigint AS incidents
    FROM grid g LEFT JOIN tile_grid_stats st ON st.grid_id = g.id
    WHERE g.zone_id IN (SELECT k FROM r)
    GROUP BY g.zone_id
), zs AS (  -- class, workload, recommended officers of every zone under the current policy: the
           -- API's rule (analytics/report.py), stored under key $9 by jurisgrid/tiles/sizing.py
    SELECT u.* FROM tile_zone_sizing t,
        unnest(t.codes, t.classes, t.workloads, t.recommended) AS u(code, class, workload, recommended_officers)
    WHERE t.key = $9
), {shift}, f AS MATERIALIZED (  -- materialized: the outer filter must not compute the geometry twice
    SELECT z.code, z.name, z.kind, z.has_office, s.code AS station_code,
           coalesce(a.grids, 0) AS grids, coalesce(a.population, 0) AS population,
           coalesce(a.households, 0) AS households, coalesce(a.incidents, 0) AS incidents,
           round(a.incidents * 1000.0 / nullif(a.population, 0), 2)::float8 AS incidents_per_1000,
           zs.class, zs.workload, zs.recommended_officers,
           ST_AsMVTGeom(ST_Transform(sh.g, 3857), b.env, 4096, 64, true) AS geom
    FROM b, sh JOIN zone z ON z.id = sh.k JOIN station s ON s.id = z.station_id
    LEFT JOIN a ON a.zone_id = sh.k LEFT JOIN zs ON zs.code = z.code
)
-- not only in the buffer band (tiles_bounds.sql: near)
SELECT ST_AsMVT(f.*, 'zones', 4096, 'geom') FROM f, b
WHERE f.geom IS NOT NULL AND ST_Intersects(f.geom, b.near)
