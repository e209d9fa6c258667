-- below zoom 15 (tiles.layers.LAYERS['addresses'].cluster_below) the points are clustered in
-- cells of 32 tile units: one point per cell at the mean position, with count and sums
p AS (
    SELECT a.code, a.address, a.population, a.households, a.grid_id,
           ST_Transform(ST_SetSRID(ST_MakePoint(s.x, s.y), 4326), 3857) AS m
    FROM b, address_point a, jg_shift_xy(ST_X(a.geom), ST_Y(a.geom), $4) s
    WHERE a.geom && b.q
), f AS MATERIALIZED (  -- materialized: the outer filter must not compute the geometry twice
    SELECT p.code, p.address, p.population, p.households, g.code AS grid_code, 1 AS count,
           ST_AsMVTGeom(p.m, b.env, 4096, 64, true) AS geom
    FROM b, p LEFT JOIN grid g ON g.id = p.grid_id
    WHERE $1 >= 15
    UNION ALL
    SELECT NULL, NULL, sum(p.population)::bigint, sum(p.households)::bigint, NULL, count(*),
           ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(avg(ST_X(p.m)), avg(ST_Y(p.m))), 3857),
                        (SELECT env FROM b), 4096, 64, true)
    FROM b, p
    WHERE $1 < 15
    GROUP BY floor(ST_X(p.m) / b.cell), floor(ST_Y(p.m) / b.cell)
)
SELECT ST_AsMVT(f.*, 'addresses', 4096, 'geom') FROM f WHERE f.geom IS NOT NULL
