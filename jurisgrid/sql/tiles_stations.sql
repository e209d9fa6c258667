r AS (
    SELECT s.id AS k, ST_SimplifyPreserveTopology(ST_ClipByBox2D(s.geom, b.q), b.tol) AS g
    FROM b, station s WHERE s.geom && b.q
), a AS (
    SELECT z.station_id, count(DISTINCT z.id) AS zones, coalesce(sum(st.population), 0)::bigint AS population,
           coalesce(sum(st.households), 0)::bigint AS households, coalesce(sum(st.incidents), 0)::bigint AS incidents
    FROM zone z JOIN grid g ON g.zone_id = z.id LEFT JOIN tile_grid_stats st ON st.grid_id = g.id
    GROUP BY z.station_id
), {shift}, shapes AS (
    -- two kinds of feature per station: its jurisdiction ('area') and its seat ('seat')
    SELECT sh.k, 'area' AS feature, sh.g FROM sh
    UNION ALL
    SELECT s.id, 'seat', ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)
    FROM b, station s, jg_shift_xy(ST_X(s.seat), ST_Y(s.seat), $4) p
    WHERE s.seat && b.q
), f AS MATERIALIZED (  -- materialized: the outer filter must not compute the geometry twice
    SELECT s.code, s.name, s.kind, s.phone, sec.code AS sector_code, shapes.feature,
           coalesce(a.zones, 0) AS zones, coalesce(a.population, 0) AS population,
           coalesce(a.households, 0) AS households, coalesce(a.incidents, 0) AS incidents,
           ST_AsMVTGeom(ST_Transform(shapes.g, 3857), b.env, 4096, 64, true) AS geom
    FROM b, shapes JOIN station s ON s.id = shapes.k JOIN sector sec ON sec.id = s.sector_id
    LEFT JOIN a ON a.station_id = s.id
)
-- areas: not only in the buffer band (tiles_bounds.sql: near)
SELECT ST_AsMVT(f.*, 'stations', 4096, 'geom') FROM f, b
WHERE f.geom IS NOT NULL AND (f.feature = 'seat' OR ST_Intersects(f.geom, b.near))
