-- {shift} of the polygon layers when ?crs= is gcj02 or bd09: every vertex of every feature in r(k, g)
-- moved exactly (jg_shift_xy, the per-vertex formula of geo/crs.py), set-based for the whole tile
sp0 AS MATERIALIZED (  -- materialized: the inlined formula then reads plain numbers, not ST_X() again and again
    SELECT r.k, d.path, ST_X(d.geom) AS lon, ST_Y(d.geom) AS lat
    FROM r, ST_DumpPoints(ST_Multi(ST_CollectionExtract(r.g, 3))) d
), sp AS (
    SELECT sp0.k, sp0.path, s.x, s.y FROM sp0, jg_shift_xy(sp0.lon, sp0.lat, $4) s
), sr AS (
    SELECT k, path[1] AS part, path[2] AS ring,
           ST_MakeLine(array_agg(ST_MakePoint(x, y) ORDER BY path[3])) AS line
    FROM sp GROUP BY 1, 2, 3
), spoly AS (
    SELECT k, part, ST_MakePolygon((array_agg(line ORDER BY ring))[1],
                                   coalesce((array_agg(line ORDER BY ring))[2:], ARRAY[]::geometry[])) AS g
    FROM sr GROUP BY 1, 2
), sh AS (
    SELECT k, ST_SetSRID(ST_Collect(g ORDER BY part), 4326) AS g FROM spoly GROUP BY k
)
