-- jurisgrid initial schema: a county's policing geography (docs/design.md, Domain model).
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE county (
    id       serial PRIMARY KEY,
    code     text NOT NULL UNIQUE,
    name     text NOT NULL,
    repairs  jsonb NOT NULL DEFAULT '[]',
    geom     geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);

CREATE TABLE sector (
    id        serial PRIMARY KEY,
    code      text NOT NULL UNIQUE,
    name      text NOT NULL,
    county_id integer NOT NULL REFERENCES county(id)
);

CREATE TABLE township (
    id        serial PRIMARY KEY,
    code      text NOT NULL UNIQUE CHECK (code ~ '^[0-9]{9}$'),
    name      text NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('street', 'town', 'township')),
    county_id integer NOT NULL REFERENCES county(id),
    seat      geometry(Point, 4326),
    geom      geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);

CREATE TABLE community (
    id          serial PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[0-9]{12}$'),
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('community', 'village')),
    township_id integer NOT NULL REFERENCES township(id),
    geom        geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);

CREATE TABLE station (
    id        serial PRIMARY KEY,
    code      text NOT NULL UNIQUE,
    name      text NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('urban', 'central', 'rural')),
    sector_id integer NOT NULL REFERENCES sector(id),
    address   text,
    phone     text,
    seat      geometry(Point, 4326) NOT NULL,
    geom      geometry(MultiPolygon, 4326)          -- derived: union of its zones
);

CREATE TABLE zone (
    id         serial PRIMARY KEY,
    code       text NOT NULL UNIQUE,
    name       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('urban', 'rural')),
    has_office boolean NOT NULL DEFAULT false,       -- 警务室
    station_id integer NOT NULL REFERENCES station(id),
    geom       geometry(MultiPolygon, 4326)          -- derived: union of its grids
);

CREATE TABLE grid (
    id           serial PRIMARY KEY,
    code         text NOT NULL UNIQUE CHECK (code ~ '^[0-9]{15}$'),
    name         text NOT NULL,
    community_id integer NOT NULL REFERENCES community(id),
    zone_id      integer NOT NULL REFERENCES zone(id),
    geom         geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);

CREATE TABLE address_point (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    address     text NOT NULL,
    households  integer NOT NULL CHECK (households >= 0),
    population  integer NOT NULL CHECK (population >= 0),
    houses      integer NOT NULL CHECK (houses >= 0),
    units       integer NOT NULL CHECK (units >= 0),
    grid_id     integer REFERENCES grid(id),
    geom        geometry(Point, 4326) NOT NULL
);

CREATE TABLE incident_category (
    code text PRIMARY KEY,
    name text NOT NULL
);
INSERT INTO incident_category (code, name) VALUES
    ('CRIMINAL', '刑事'), ('PUBLIC_ORDER', '治安'), ('DISPUTE', '纠纷'), ('TRAFFIC', '交通'),
    ('FIRE', '火灾'), ('ASSISTANCE', '求助'), ('OTHER', '其他');

CREATE TABLE incident (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    category    text NOT NULL REFERENCES incident_category(code),
    occurred_at timestamptz NOT NULL,
    grid_id     integer REFERENCES grid(id),
    geom        geometry(Point, 4326) NOT NULL
);

CREATE TABLE person (
    id    serial PRIMARY KEY,
    code  text NOT NULL UNIQUE,
    name  text NOT NULL,
    phone text
);

CREATE TABLE assignment (
    id           serial PRIMARY KEY,
    person_id    integer NOT NULL REFERENCES person(id),
    role         text NOT NULL CHECK (role IN ('chief', 'instructor', 'deputy_chief', 'officer',
                                               'community_officer', 'auxiliary', 'grid_worker')),
    station_id   integer NOT NULL REFERENCES station(id),
    zone_id      integer REFERENCES zone(id),
    community_id integer REFERENCES community(id),
    grid_id      integer REFERENCES grid(id),
    valid_from   timestamptz NOT NULL DEFAULT now(),
    valid_to     timestamptz,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);

-- spatial indexes
CREATE INDEX county_geom_gist ON county USING gist (geom);
CREATE INDEX township_geom_gist ON township USING gist (geom);
CREATE INDEX community_geom_gist ON community USING gist (geom);
CREATE INDEX station_geom_gist ON station USING gist (geom);
CREATE INDEX zone_geom_gist ON zone USING gist (geom);
CREATE INDEX grid_geom_gist ON grid USING gist (geom);
CREATE INDEX address_point_geom_gist ON address_point USING gist (geom);
CREATE INDEX incident_geom_gist ON incident USING gist (geom);
-- foreign keys and filters
CREATE INDEX sector_county_idx ON sector (county_id);
CREATE INDEX township_county_idx ON township (county_id);
CREATE INDEX community_township_idx ON community (township_id);
CREATE INDEX station_sector_idx ON station (sector_id);
CREATE INDEX zone_station_idx ON zone (station_id);
CREATE INDEX grid_zone_idx ON grid (zone_id);
CREATE INDEX grid_community_idx ON grid (community_id);
CREATE INDEX address_point_grid_idx ON address_point (grid_id);
CREATE INDEX incident_grid_idx ON incident (grid_id);
CREATE INDEX incident_occurred_idx ON incident (occurred_at);
CREATE INDEX assignment_person_idx ON assignment (person_id);
CREATE INDEX assignment_station_idx ON assignment (station_id);
CREATE INDEX assignment_zone_idx ON assignment (zone_id);
CREATE INDEX assignment_community_idx ON assignment (community_id);
CREATE INDEX assignment_grid_idx ON assignment (grid_id);

-- The boundary rule (docs/design.md, Invariants 4), in one place for SQL and documented in README:
-- the candidates for a point are the grids within jg_tolerance() degrees (about 1 cm) of it;
-- the candidate with the smallest code wins.
CREATE FUNCTION jg_tolerance() RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 1e-7::double precision $$;

CREATE FUNCTION jg_grid_at(p geometry) RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.id FROM grid g WHERE ST_DWithin(g.geom, p, jg_tolerance()) ORDER BY g.code LIMIT 1
$$;

-- membership (invariant 3): points get their grid on insert, and again when they move.
-- Bulk loads set grid_id themselves in one set-based statement; the trigger then does nothing.
CREATE FUNCTION jg_set_grid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.grid_id IS NULL OR (TG_OP = 'UPDATE' AND NOT ST_Equals(NEW.geom, OLD.geom)) THEN
        NEW.grid_id := jg_grid_at(NEW.geom);
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER address_point_grid BEFORE INSERT OR UPDATE OF geom, grid_id ON address_point
    FOR EACH ROW EXECUTE FUNCTION jg_set_grid();
CREATE TRIGGER incident_grid BEFORE INSERT OR UPDATE OF geom, grid_id ON incident
    FOR EACH ROW EXECUTE FUNCTION jg_set_grid();

-- data version: bumped by every statement that changes the policing geography, so that caches
-- (the in-process grid index, tile ETags) can tell cheaply whether they are still current.
CREATE TABLE data_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO data_version DEFAULT VALUES;

CREATE FUNCTION jg_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE data_version SET version = version + 1, changed_at = now();
    RETURN NULL;
END $$;

CREATE TRIGGER grid_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON grid
    FOR EACH STATEMENT EXECUTE FUNCTION jg_bump_version();
CREATE TRIGGER zone_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON zone
    FOR EACH STATEMENT EXECUTE FUNCTION jg_bump_version();
CREATE TRIGGER station_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON station
    FOR EACH STATEMENT EXECUTE FUNCTION jg_bump_version();
