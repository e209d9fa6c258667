-- 0004_tiles: what vector tiles and OGC API - Features need from the database (issue 5).
--
-- 1. tile_change: a change log for per-tile cache validation. STATEMENT-level triggers with
--    transition tables write one row per statement and tile layer, holding the extent of the old
--    and new rows (and of every unit whose tile attributes depend on them). A tile's ETag is
--    derived from count(*) and max(id) of the rows of its layer whose bbox meets the tile — so an
--    edit changes the ETag of the tiles it touched only. A NULL bbox means "everywhere".
-- 2. tile_grid_stats: address and incident figures per grid, kept current by the same triggers
--    from the stored memberships (grid_id), so tiles sum per unit with a GROUP BY on ids.
-- 3. jg_gcj_offset / jg_wgs84_to_gcj02 / jg_gcj02_to_bd09 / jg_wgs84_to_bd09 / jg_tile_shift:
--    the exact GCJ-02 and BD-09 forward transforms of jurisgrid/geo/crs.py, per vertex.

CREATE TABLE tile_change (
    id    bigserial PRIMARY KEY,
    layer text NOT NULL,
    bbox  geometry(Geometry, 4326),
    at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tile_change_layer_idx ON tile_change (layer, id);
CREATE INDEX tile_change_bbox_gist ON tile_change USING gist (bbox);

CREATE TABLE tile_grid_stats (
    grid_id    integer PRIMARY KEY,
    addresses  integer NOT NULL DEFAULT 0,
    households bigint NOT NULL DEFAULT 0,
    population bigint NOT NULL DEFAULT 0,
    incidents  integer NOT NULL DEFAULT 0
);

INSERT INTO tile_grid_stats (grid_id, addresses, households, population, incidents)
SELECT g.id, coalesce(a.n, 0), coalesce(a.hh, 0), coalesce(a.pop, 0), coalesce(i.n, 0)
FROM grid g
LEFT JOIN (SELECT grid_id, count(*) AS n, sum(households) AS hh, sum(population) AS pop
           FROM address_point GROUP BY grid_id) a ON a.grid_id = g.id
LEFT JOIN (SELECT grid_id, count(*) AS n FROM incident GROUP BY grid_id) i ON i.grid_id = g.id;

-- every layer starts with one change, so ETags of existing databases are well defined
INSERT INTO tile_change (layer, bbox)
SELECT l, NULL FROM unnest(ARRAY['sectors', 'stations', 'zones', 'grids', 'communities',
                                 'townships', 'addresses', 'incidents']) AS l;

-- one row for each layer; nothing when no rows changed; NULL bbox when the rows have no extent
CREATE FUNCTION jg_tile_note(layers text[], box geometry, any_rows boolean) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO tile_change (layer, bbox)
    SELECT l, CASE WHEN box IS NULL THEN NULL ELSE ST_SetSRID(box, 4326) END
    FROM unnest(layers) AS l WHERE any_rows
$$;

-- the layers whose attributes (population, incidents, member counts) are sums over grids:
-- each gets the extent of the units that contain the given grids, zones, communities, stations
CREATE FUNCTION jg_tile_note_units(grid_ids integer[], zone_ids integer[], community_ids integer[],
                                   station_ids integer[]) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    zs integer[];
    cs integer[];
    ss integer[];
    sec integer[];
BEGIN
    grid_ids := array_remove(grid_ids, NULL);
    SELECT array_agg(DISTINCT z) INTO zs FROM (
        SELECT unnest(zone_ids) AS z UNION SELECT zone_id FROM grid WHERE id = ANY(grid_ids)) q
        WHERE z IS NOT NULL;
    SELECT array_agg(DISTINCT c) INTO cs FROM (
        SELECT unnest(community_ids) AS c UNION SELECT community_id FROM grid WHERE id = ANY(grid_ids)) q
        WHERE c IS NOT NULL;
    SELECT array_agg(DISTINCT s) INTO ss FROM (
        SELECT unnest(station_ids) AS s UNION SELECT station_id FROM zone WHERE id = ANY(zs)) q
        WHERE s IS NOT NULL;
    SELECT array_agg(DISTINCT sector_id) INTO sec FROM station WHERE id = ANY(ss);
    PERFORM jg_tile_note(ARRAY['grids'], (SELECT ST_Extent(geom)::geometry FROM grid WHERE id = ANY(grid_ids)),
                         cardinality(grid_ids) > 0);
    PERFORM jg_tile_note(ARRAY['zones'], (SELECT ST_Extent(geom)::geometry FROM zone WHERE id = ANY(zs)),
                         coalesce(cardinality(zs), 0) > 0);
    PERFORM jg_tile_note(ARRAY['communities'],
                         (SELECT ST_Extent(geom)::geometry FROM community WHERE id = ANY(cs)),
                         coalesce(cardinality(cs), 0) > 0);
    PERFORM jg_tile_note(ARRAY['townships'],
                         (SELECT ST_Extent(t.geom)::geometry FROM township t
                          WHERE t.id IN (SELECT township_id FROM community WHERE id = ANY(cs))),
                         coalesce(cardinality(cs), 0) > 0);
    PERFORM jg_tile_note(ARRAY['stations'],
                         (SELECT ST_Extent(ST_Collect(geom, seat))::geometry FROM station WHERE id = ANY(ss)),
                         coalesce(cardinality(ss), 0) > 0);
    PERFORM jg_tile_note(ARRAY['sectors'],
                         (SELECT ST_Extent(ST_Collect(geom, seat))::geometry FROM station
                          WHERE sector_id = ANY(sec)),
                         coalesce(cardinality(sec), 0) > 0);
END $$;

-- The statement trigger. TG_ARGV[0] names the table; the changed rows are the transition
-- tables o (old) and n (new), visible to the dynamic SQL below.
CREATE FUNCTION jg_tile_log() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rows text := CASE TG_OP WHEN 'INSERT' THEN '(SELECT * FROM n)'
                            WHEN 'DELETE' THEN '(SELECT * FROM o)'
                            ELSE '(SELECT * FROM o UNION ALL SELECT * FROM n)' END;
    tbl text := TG_ARGV[0];
    ext geometry;
    cnt bigint;
    a integer[];
    b integer[];
    c integer[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM jg_tile_note(ARRAY['sectors', 'stations', 'zones', 'grids', 'communities',
                                   'townships', 'addresses', 'incidents'], NULL, true);
        IF tbl = 'address_point' THEN
            UPDATE tile_grid_stats SET addresses = 0, households = 0, population = 0;
        ELSIF tbl = 'incident' THEN
            UPDATE tile_grid_stats SET incidents = 0;
        ELSIF tbl = 'grid' THEN
            DELETE FROM tile_grid_stats;
        END IF;
        RETURN NULL;
    END IF;

    IF tbl = 'grid' THEN
        EXECUTE format('SELECT ST_Extent(geom)::geometry, count(*), array_agg(DISTINCT id), '
                       'array_agg(DISTINCT zone_id), array_agg(DISTINCT community_id) FROM %s r', rows)
            INTO ext, cnt, a, b, c;
        PERFORM jg_tile_note(ARRAY['grids', 'addresses', 'incidents'], ext, cnt > 0);
        PERFORM jg_tile_note_units(a, b, c, NULL);
        IF TG_OP = 'INSERT' THEN
            INSERT INTO tile_grid_stats (grid_id) SELECT id FROM n ON CONFLICT DO NOTHING;
        ELSIF TG_OP = 'DELETE' THEN
            DELETE FROM tile_grid_stats s USING o WHERE s.grid_id = o.id;
        END IF;
    ELSIF tbl = 'zone' THEN
        -- grids carry zone_code and station_code
        EXECUTE format('SELECT ST_Extent(geom)::geometry, count(*), array_agg(DISTINCT station_id) '
                       'FROM %s r', rows) INTO ext, cnt, a;
        PERFORM jg_tile_note(ARRAY['zones', 'grids'], ext, cnt > 0);
        PERFORM jg_tile_note_units(NULL, NULL, NULL, a);
    ELSIF tbl = 'station' THEN
        -- zones and grids carry station_code; sectors are unions of stations
        EXECUTE format('SELECT ST_Extent(ST_Collect(geom, seat))::geometry, count(*), '
                       'array_agg(DISTINCT sector_id) FROM %s r', rows) INTO ext, cnt, a;
        PERFORM jg_tile_note(ARRAY['stations', 'zones', 'grids'], ext, cnt > 0);
        PERFORM jg_tile_note(ARRAY['sectors'],
                             (SELECT ST_Extent(ST_Collect(geom, seat))::geometry FROM station
                              WHERE sector_id = ANY(a)) , cnt > 0);
    ELSIF tbl = 'sector' THEN
        EXECUTE format('SELECT count(*), array_agg(DISTINCT id) FROM %s r', rows) INTO cnt, a;
        PERFORM jg_tile_note(ARRAY['sectors', 'stations'],
                             (SELECT ST_Extent(ST_Collect(geom, seat))::geometry FROM station
                              WHERE sector_id = ANY(a)), cnt > 0);
    ELSIF tbl = 'community' THEN
        EXECUTE format('SELECT ST_Extent(geom)::geometry, count(*), array_agg(DISTINCT township_id) '
                       'FROM %s r', rows) INTO ext, cnt, a;
        PERFORM jg_tile_note(ARRAY['communities', 'grids'], ext, cnt > 0);
        PERFORM jg_tile_note(ARRAY['townships'],
                             (SELECT ST_Extent(geom)::geometry FROM township WHERE id = ANY(a)), cnt > 0);
    ELSIF tbl = 'township' THEN
        EXECUTE format('SELECT ST_Extent(ST_Collect(geom, seat))::geometry, count(*) FROM %s r', rows)
            INTO ext, cnt;
        PERFORM jg_tile_note(ARRAY['townships', 'communities'], ext, cnt > 0);
    ELSIF tbl IN ('address_point', 'incident') THEN
        EXECUTE format('SELECT ST_Extent(geom)::geometry, count(*), array_agg(DISTINCT grid_id) '
                       'FROM %s r', rows) INTO ext, cnt, a;
        PERFORM jg_tile_note(ARRAY[CASE tbl WHEN 'incident' THEN 'incidents' ELSE 'addresses' END],
                             ext, cnt > 0);
        PERFORM jg_tile_note_units(a, NULL, NULL, NULL);
        -- per-grid figures: subtract the old rows, add the new ones
        IF tbl = 'address_point' THEN
            EXECUTE format($q$
                INSERT INTO tile_grid_stats AS s (grid_id, addresses, households, population)
                SELECT grid_id, sum(k), sum(k * households), sum(k * population) FROM (%s) d
                WHERE grid_id IS NOT NULL GROUP BY grid_id
                ON CONFLICT (grid_id) DO UPDATE SET addresses = s.addresses + excluded.addresses,
                    households = s.households + excluded.households,
                    population = s.population + excluded.population $q$,
                CASE TG_OP
                    WHEN 'INSERT' THEN 'SELECT grid_id, 1 AS k, households, population FROM n'
                    WHEN 'DELETE' THEN 'SELECT grid_id, -1 AS k, households, population FROM o'
                    ELSE 'SELECT grid_id, -1 AS k, households, population FROM o UNION ALL '
                         'SELECT grid_id, 1, households, population FROM n' END);
        ELSE
            EXECUTE format($q$
                INSERT INTO tile_grid_stats AS s (grid_id, incidents)
                SELECT grid_id, sum(k) FROM (%s) d WHERE grid_id IS NOT NULL GROUP BY grid_id
                ON CONFLICT (grid_id) DO UPDATE SET incidents = s.incidents + excluded.incidents $q$,
                CASE TG_OP
                    WHEN 'INSERT' THEN 'SELECT grid_id, 1 AS k FROM n'
                    WHEN 'DELETE' THEN 'SELECT grid_id, -1 AS k FROM o'
                    ELSE 'SELECT grid_id, -1 AS k FROM o UNION ALL SELECT grid_id, 1 FROM n' END);
        END IF;
    END IF;
    RETURN NULL;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['grid', 'zone', 'station', 'sector', 'community', 'township',
                             'address_point', 'incident'] LOOP
        EXECUTE format('CREATE TRIGGER %1$s_tile_ins AFTER INSERT ON %1$s REFERENCING NEW TABLE AS n '
                       'FOR EACH STATEMENT EXECUTE FUNCTION jg_tile_log(%1$L)', t);
        EXECUTE format('CREATE TRIGGER %1$s_tile_upd AFTER UPDATE ON %1$s '
                       'REFERENCING OLD TABLE AS o NEW TABLE AS n '
                       'FOR EACH STATEMENT EXECUTE FUNCTION jg_tile_log(%1$L)', t);
        EXECUTE format('CREATE TRIGGER %1$s_tile_del AFTER DELETE ON %1$s REFERENCING OLD TABLE AS o '
                       'FOR EACH STATEMENT EXECUTE FUNCTION jg_tile_log(%1$L)', t);
        EXECUTE format('CREATE TRIGGER %1$s_tile_trunc AFTER TRUNCATE ON %1$s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION jg_tile_log(%1$L)', t);
    END LOOP;
END $$;

-- GCJ-02 offset (degrees) of a WGS 84 point: the formula of geo/crs.py::_gcj_offset, term by
-- term in the same order, on the Krasovsky ellipsoid (a = 6378245, ee = 0.00669342162296594323).
-- SQL set-returning functions without STRICT, so the planner inlines them into callers.
CREATE FUNCTION jg_gcj_offset(lon double precision, lat double precision)
    RETURNS TABLE (dlon double precision, dlat double precision)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (dlo * 180.0::float8) / (6378245.0::float8 / sqrt(magic) * cos(radlat) * pi()),
           (dla * 180.0::float8) / ((6378245.0::float8 * (1.0::float8 - 0.00669342162296594323::float8))
                                    / (magic * sqrt(magic)) * pi())
    FROM (SELECT radlat, 1.0::float8 - 0.00669342162296594323::float8 * sin(radlat) ^ 2 AS magic,
                 -100.0::float8 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(abs(x))
                   + common
                   + (20.0 * sin(y * pi()) + 40.0 * sin(y / 3.0::float8 * pi())) * 2.0 / 3.0
                   + (160.0 * sin(y / 12.0::float8 * pi()) + 320.0 * sin(y * pi() / 30.0::float8))
                     * 2.0 / 3.0 AS dla,
                 300.0::float8 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(abs(x))
                   + common
                   + (20.0 * sin(x * pi()) + 40.0 * sin(x / 3.0::float8 * pi())) * 2.0 / 3.0
                   + (150.0 * sin(x / 12.0::float8 * pi()) + 300.0 * sin(x / 30.0::float8 * pi()))
                     * 2.0 / 3.0 AS dlo
          FROM (SELECT lon - 105.0::float8 AS x, lat - 35.0::float8 AS y,
                       lat / 180.0::float8 * pi() AS radlat,
                       (20.0 * sin(6.0 * (lon - 105.0::float8) * pi())
                        + 20.0 * sin(2.0 * (lon - 105.0::float8) * pi())) * 2.0 / 3.0 AS common) i) j
$$;

-- geo/crs.py's "inside China" rectangle (bounds inclusive); outside it the transforms are identity
CREATE FUNCTION jg_in_china(lon double precision, lat double precision) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lon >= 72.004 AND lon <= 137.8347 AND lat >= 0.8293 AND lat <= 55.8271
$$;

-- one vertex WGS 84 -> crs 'gcj02' or 'bd09' (anything else: unchanged), as geo/crs.py's
-- from_wgs84: GCJ-02 when the WGS 84 point is in China, then BD-09 when the GCJ-02 point is
CREATE FUNCTION jg_shift_xy(lon double precision, lat double precision, crs text)
    RETURNS TABLE (x double precision, y double precision)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN b THEN (sqrt(gx * gx + gy * gy) + 0.00002 * sin(gy * xpi))
                            * cos(atan2(gy, gx) + 0.000003 * cos(gx * xpi)) + 0.0065::float8
                ELSE gx END,
           CASE WHEN b THEN (sqrt(gx * gx + gy * gy) + 0.00002 * sin(gy * xpi))
                            * sin(atan2(gy, gx) + 0.000003 * cos(gx * xpi)) + 0.006::float8
                ELSE gy END
    FROM (SELECT gx, gy, pi() * 3000.0::float8 / 180.0::float8 AS xpi,
                 crs = 'bd09' AND jg_in_china(gx, gy) AS b
          FROM (SELECT CASE WHEN a THEN lon + o.dlon ELSE lon END AS gx,
                       CASE WHEN a THEN lat + o.dlat ELSE lat END AS gy
                FROM (SELECT crs IN ('gcj02', 'bd09') AND jg_in_china(lon, lat) AS a) q,
                     jg_gcj_offset(lon, lat) o) r) s
$$;

-- a geometry WGS 84 -> 'gcj02' / 'bd09', vertex by vertex (exact, not an affine approximation);
-- 'wgs84' returns it unchanged. Points, lines, polygons and their multi- forms.
CREATE FUNCTION jg_tile_shift(g geometry, crs text) RETURNS geometry
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    t text := GeometryType(g);
    poly boolean := GeometryType(g) IN ('POLYGON', 'MULTIPOLYGON');
    res geometry;
BEGIN
    IF crs NOT IN ('gcj02', 'bd09') OR ST_IsEmpty(g) THEN
        RETURN g;
    END IF;
    IF t = 'POINT' THEN
        SELECT ST_SetSRID(ST_MakePoint(s.x, s.y), ST_SRID(g)) INTO res
        FROM jg_shift_xy(ST_X(g), ST_Y(g), crs) s;
        RETURN res;
    END IF;
    IF t NOT IN ('MULTIPOINT', 'LINESTRING', 'MULTILINESTRING', 'POLYGON', 'MULTIPOLYGON') THEN
        RAISE EXCEPTION 'jg_tile_shift: unsupported geometry type %', t;
    END IF;
    WITH pts AS (
        SELECT d.path, s.x, s.y
        FROM ST_DumpPoints(ST_Multi(g)) d, jg_shift_xy(ST_X(d.geom), ST_Y(d.geom), crs) s
    ), parts AS (
        SELECT path[1] AS part, CASE WHEN poly THEN path[2] ELSE 0 END AS ring,
               CASE WHEN t = 'MULTIPOINT' THEN ST_MakePoint(min(x), min(y))
                    ELSE ST_MakeLine(array_agg(ST_MakePoint(x, y) ORDER BY path)) END AS line
        FROM pts GROUP BY 1, 2
    ), geoms AS (
        SELECT part,
               CASE WHEN t IN ('POLYGON', 'MULTIPOLYGON')
                    THEN ST_MakePolygon((array_agg(line ORDER BY ring))[1],
                                        coalesce((array_agg(line ORDER BY ring))[2:], ARRAY[]::geometry[]))
                    ELSE (array_agg(line))[1] END AS geom
        FROM parts GROUP BY part
    )
    SELECT ST_SetSRID(ST_Collect(geom ORDER BY part), ST_SRID(g)) INTO res FROM geoms;
    IF t IN ('LINESTRING', 'POLYGON') THEN
        res := ST_GeometryN(res, 1);
    END IF;
    RETURN res;
END $$;
