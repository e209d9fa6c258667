-- below zoom 14 (tiles.layers.LAYERS['incidents'].cluster_below) the points are clustered in
-- cells of 32 tile units: one point per cell at the mean position, with the count
p AS (
    SELECT i.code, i.category, i.occurred_at, i.grid_id,
           ST_Transform(ST_SetSRID(ST_MakePoint(s.x, s.y), 4326), 3857) AS m
    FROM b, incident i, jg_shift_xy(ST_X(i.geom), ST_Y(i.geom), $4) s
    WHERE i.geom && b.q
), f AS MATERIALIZED (  -- materialized: the outer filter must not compute the geometry twice
    SELECT p.code, p.category, to_char(p.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
               AS occurred_at, g.code AS grid_code, 1 AS count,
           ST_AsMVTGeom(p.m, b.env, 4096, 64, true) AS geom
    FROM b, p LEFT JOIN grid g ON g.id = p.grid_id
    WHERE $1 >= 14
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, count(*),
           ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(avg(ST_X(p.m)), avg(ST_Y(p.m))), 3857),
                        (SELECT env FROM b), 4096, 64, true)
    FROM b, p
    WHERE $1 < 14
    GROUP BY floor(ST_X(p.m) / b.cell), floor(ST_Y(p.m) / b.cell)
)
SELECT ST_AsMVT(f.*, 'incidents', 4096, 'geom') FROM f WHERE f.geom IS NOT NULL
