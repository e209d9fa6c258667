-- 0002_sizing: what sizing and classifying zones needs from the database (issue 4).
--
-- 1. sizing_policy: the sizing policy, versioned. Every edit inserts a new row (a new version);
--    the current policy is the row with the highest version. No row = the built-in defaults of
--    docs/design.md, Sizing policy defaults (version 0, jurisgrid/analytics/policy.py).
-- 2. sizing_grid_stats: households, population, houses, units and the number of address points
--    per grid, kept current from the stored memberships (address_point.grid_id) by statement-level
--    triggers with transition tables, so every level sums ~13,000 grid rows with a GROUP BY on
--    ids instead of 1.3 million address points (scale 10).
--    Its area_m2 (geography, m²) is recomputed when a grid is inserted or reshaped.
-- 3. sizing_zone_incidents: incidents per zone, category and local calendar month (time zone in
--    sizing_settings, the policy's), kept current by statement-level triggers on incident (rows
--    added, removed, moved) and on grid (a grid moved to another zone takes its incidents along).
--    Zone, station, sector and county figures sum ~21,000 rows instead of 500,000 incidents;
--    a window's partial months at either end are counted from the incidents themselves.
-- 4. incident_grid_time_idx: incidents per grid and time window (grid, community, township levels).

CREATE TABLE sizing_policy (
    version    serial PRIMARY KEY,
    body       jsonb NOT NULL,
    actor      text NOT NULL,
    reason     text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sizing_grid_stats (
    grid_id    integer PRIMARY KEY REFERENCES grid(id) ON DELETE CASCADE,
    addresses  bigint NOT NULL DEFAULT 0,
    households bigint NOT NULL DEFAULT 0,
    population bigint NOT NULL DEFAULT 0,
    houses     bigint NOT NULL DEFAULT 0,
    units      bigint NOT NULL DEFAULT 0,
    area_m2    double precision NOT NULL DEFAULT 0   -- ST_Area(geom::geography) of the grid
);

INSERT INTO sizing_grid_stats (grid_id, addresses, households, population, houses, units, area_m2)
SELECT g.id, coalesce(a.n, 0), coalesce(a.hh, 0), coalesce(a.pop, 0), coalesce(a.ho, 0),
       coalesce(a.un, 0), ST_Area(g.geom::geography)
FROM grid g
LEFT JOIN (SELECT grid_id, count(*) AS n, sum(households) AS hh, sum(population) AS pop,
                  sum(houses) AS ho, sum(units) AS un
           FROM address_point WHERE grid_id IS NOT NULL GROUP BY grid_id) a ON a.grid_id = g.id;

CREATE TABLE sizing_settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    time_zone text NOT NULL          -- the calendar of sizing_zone_incidents.month
);
INSERT INTO sizing_settings (time_zone) VALUES ('Asia/Shanghai');

CREATE TABLE sizing_zone_incidents (
    zone_id  integer NOT NULL REFERENCES zone(id) ON DELETE CASCADE,
    category text NOT NULL,
    month    timestamptz NOT NULL,   -- the instant the local month begins
    n        integer NOT NULL,
    PRIMARY KEY (zone_id, category, month)
);

-- (re)build the whole zone rollup, e.g. after the policy's time zone changed
CREATE FUNCTION jg_sizing_rebuild_incidents() RETURNS void LANGUAGE sql AS $$
    DELETE FROM sizing_zone_incidents;
    INSERT INTO sizing_zone_incidents (zone_id, category, month, n)
    SELECT g.zone_id, i.category,
           date_trunc('month', i.occurred_at AT TIME ZONE c.time_zone) AT TIME ZONE c.time_zone, count(*)
    FROM incident i JOIN grid g ON g.id = i.grid_id CROSS JOIN sizing_settings c
    GROUP BY 1, 2, 3;
$$;
SELECT jg_sizing_rebuild_incidents();

-- add the new incident rows to the zone of their grid, subtract the old ones
CREATE FUNCTION jg_sizing_incident_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM sizing_zone_incidents;
        RETURN NULL;
    END IF;
    EXECUTE format($q$
        INSERT INTO sizing_zone_incidents AS s (zone_id, category, month, n)
        SELECT g.zone_id, d.category,
               date_trunc('month', d.occurred_at AT TIME ZONE c.time_zone) AT TIME ZONE c.time_zone,
               sum(d.k)
        FROM (%s) d JOIN grid g ON g.id = d.grid_id CROSS JOIN sizing_settings c
        GROUP BY 1, 2, 3 HAVING sum(d.k) <> 0
        ON CONFLICT (zone_id, category, month) DO UPDATE SET n = s.n + excluded.n $q$,
        CASE TG_OP
            WHEN 'INSERT' THEN 'SELECT grid_id, 1 AS k, category, occurred_at FROM n'
            WHEN 'DELETE' THEN 'SELECT grid_id, -1 AS k, category, occurred_at FROM o'
            ELSE 'SELECT grid_id, -1 AS k, category, occurred_at FROM o UNION ALL '
                 'SELECT grid_id, 1, category, occurred_at FROM n' END);
    RETURN NULL;
END $$;

CREATE TRIGGER incident_sizing_ins AFTER INSERT ON incident
    REFERENCING NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION jg_sizing_incident_delta();
CREATE TRIGGER incident_sizing_upd AFTER UPDATE ON incident
    REFERENCING OLD TABLE AS o NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION jg_sizing_incident_delta();
CREATE TRIGGER incident_sizing_del AFTER DELETE ON incident
    REFERENCING OLD TABLE AS o FOR EACH STATEMENT EXECUTE FUNCTION jg_sizing_incident_delta();
CREATE TRIGGER incident_sizing_trunc AFTER TRUNCATE ON incident
    FOR EACH STATEMENT EXECUTE FUNCTION jg_sizing_incident_delta();

-- grids: the area when inserted or reshaped; a grid moved to another zone takes its incidents along
CREATE FUNCTION jg_sizing_grid_area() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sizing_grid_stats AS s (grid_id, area_m2)
        SELECT id, ST_Area(geom::geography) FROM n
        ON CONFLICT (grid_id) DO UPDATE SET area_m2 = excluded.area_m2;
    ELSE
        UPDATE sizing_grid_stats s SET area_m2 = ST_Area(n.geom::geography)
        FROM n JOIN o ON o.id = n.id
        WHERE s.grid_id = n.id AND NOT ST_Equals(n.geom, o.geom);
        INSERT INTO sizing_zone_incidents AS s (zone_id, category, month, n)
        SELECT m.zone_id, i.category,
               date_trunc('month', i.occurred_at AT TIME ZONE c.time_zone) AT TIME ZONE c.time_zone,
               sum(m.k)
        FROM (SELECT n.id, o.zone_id, -1 AS k FROM n JOIN o ON o.id = n.id WHERE n.zone_id <> o.zone_id
              UNION ALL
              SELECT n.id, n.zone_id, 1 FROM n JOIN o ON o.id = n.id WHERE n.zone_id <> o.zone_id) m
        JOIN incident i ON i.grid_id = m.id CROSS JOIN sizing_settings c
        GROUP BY 1, 2, 3 HAVING sum(m.k) <> 0
        ON CONFLICT (zone_id, category, month) DO UPDATE SET n = s.n + excluded.n;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER grid_sizing_ins AFTER INSERT ON grid
    REFERENCING NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION jg_sizing_grid_area();
CREATE TRIGGER grid_sizing_upd AFTER UPDATE ON grid
    REFERENCING OLD TABLE AS o NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION jg_sizing_grid_area();

-- add the new rows, subtract the old ones (an UPDATE does both; unchanged rows cancel out)
CREATE FUNCTION jg_sizing_address_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM sizing_grid_stats;
        RETURN NULL;
    END IF;
    EXECUTE format($q$
        INSERT INTO sizing_grid_stats AS s (grid_id, addresses, households, population, houses, units)
        SELECT grid_id, sum(k), sum(k * households), sum(k * population), sum(k * houses),
               sum(k * units)
        FROM (%s) d WHERE grid_id IS NOT NULL GROUP BY grid_id
        HAVING sum(k) <> 0 OR sum(k * households) <> 0 OR sum(k * population) <> 0
            OR sum(k * houses) <> 0 OR sum(k * units) <> 0
        ON CONFLICT (grid_id) DO UPDATE SET
            addresses = s.addresses + excluded.addresses,
            households = s.households + excluded.households,
            population = s.population + excluded.population,
            houses = s.houses + excluded.houses,
            units = s.units + excluded.units $q$,
        CASE TG_OP
            WHEN 'INSERT' THEN 'SELECT grid_id, 1 AS k, households, population, houses, units FROM n'
            WHEN 'DELETE' THEN 'SELECT grid_id, -1 AS k, households, population, houses, units FROM o'
            ELSE 'SELECT grid_id, -1 AS k, households, population, houses, units FROM o UNION ALL '
                 'SELECT grid_id, 1, households, population, houses, units FROM n' END);
    RETURN NULL;
END $$;

CREATE TRIGGER address_point_sizing_ins AFTER INSERT ON address_point
    REFERENCING NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION jg_sizing_address_delta();
CREATE TRIGGER address_point_sizing_upd AFTER UPDATE ON address_point
    REFERENCING OLD TABLE AS o NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION jg_sizing_address_delta();
CREATE TRIGGER address_point_sizing_del AFTER DELETE ON address_point
    REFERENCING OLD TABLE AS o FOR EACH STATEMENT EXECUTE FUNCTION jg_sizing_address_delta();
CREATE TRIGGER address_point_sizing_trunc AFTER TRUNCATE ON address_point
    FOR EACH STATEMENT EXECUTE FUNCTION jg_sizing_address_delta();

CREATE INDEX incident_grid_time_idx ON incident (grid_id, occurred_at) INCLUDE (category);
