-- stations as of $9 (an instant ≤ now): station_history, jurisdiction ('area') and seat
-- ('seat'), with the number of zones as of $9. Sectors are not historised: their code is read
-- from the current table. No figures (see jurisgrid/tiles/asof.py).
r AS (
    SELECT s.id AS k, ST_SimplifyPreserveTopology(ST_ClipByBox2D(s.geom, b.q), b.tol) AS g
    FROM b, station_history s WHERE s.geom && b.q AND s.valid @> $9::timestamptz
), a AS (
    SELECT z.station_id, count(*) AS zones
    FROM zone_history z WHERE z.valid @> $9::timestamptz
    GROUP BY z.station_id
), {shift}, shapes AS (
    SELECT sh.k, 'area' AS feature, sh.g FROM sh
    UNION ALL
    SELECT s.id, 'seat', ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)
    FROM b, station_history s, jg_shift_xy(ST_X(s.seat), ST_Y(s.seat), $4) p
    WHERE s.seat && b.q AND s.valid @> $9::timestamptz
), f AS MATERIALIZED (  -- materialized: the outer filter must not compute the geometry twice
    SELECT s.code, s.name, s.kind, s.phone, sec.code AS sector_code, shapes.feature,
           coalesce(a.zones, 0) AS zones,
           ST_AsMVTGeom(ST_Transform(shapes.g, 3857), b.env, 4096, 64, true) AS geom
    FROM b, shapes JOIN station_history s ON s.id = shapes.k AND s.valid @> $9::timestamptz
    LEFT JOIN sector sec ON sec.id = s.sector_id
    LEFT JOIN a ON a.station_id = s.id
)
-- areas: not only in the buffer band (tiles_bounds.sql: near)
SELECT ST_AsMVT(f.*, 'stations', 4096, 'geom') FROM f, b
WHERE f.geom IS NOT NULL AND (f.feature = 'seat' OR ST_Intersects(f.geom, b.near))
