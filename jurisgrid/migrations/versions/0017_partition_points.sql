-- 0017_partition_points: the functions behind the partitioned address_point and incident
-- (docs/design.md, "Scale", Partitioning). The tables themselves are converted by 0017's .py.

-- The county of a grid, as a table function PostgreSQL inlines into a join (set-based writers).
CREATE FUNCTION jg_grid_county() RETURNS TABLE (grid_id integer, county_code text)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.id, c.code FROM grid g JOIN community m ON m.id = g.community_id
    JOIN township t ON t.id = m.township_id JOIN county c ON c.id = t.county_id
$$;

-- A point in no grid: the county whose outline holds it (the smallest code on a shared border),
-- else '' — "no county", kept in the DEFAULT partition.
CREATE FUNCTION jg_outline_county(p geometry) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT c.code FROM county c WHERE ST_DWithin(c.geom, p, jg_tolerance())
                     ORDER BY c.code LIMIT 1), '')
$$;

-- The county of a point: its grid's county, else its outline's. Every writer sets
-- county_code = jg_point_county(grid_id, geom) (its partition key) before the row is inserted.
CREATE FUNCTION jg_point_county(grid integer, p geometry) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT gc.county_code FROM jg_grid_county() gc WHERE gc.grid_id = grid),
                    jg_outline_county(p))
$$;

-- Create ``part`` as a partition of ``parent`` FOR VALUES ``bound`` (sub-partitioned by
-- ``subpart`` with a DEFAULT ``subdefault`` when given). Rows of the default partition ``dflt``
-- that belong to the new one (``cond``) would block its creation: they are moved into it
-- (their ids, and every other column, kept; the parent's statement triggers do not fire — the
-- rows change partition, not content). Idempotent: false when ``part`` exists.
-- Writers may ask at once (tests/scale/test_partitions.py): one makes it and the others find it
-- (duplicate_table); a row of the range committed into the DEFAULT while this one waited for
-- its lock fails the check (check_violation): then again, moving it; and of two writers that
-- both inserted into the parent before asking, the one PostgreSQL picks (deadlock_detected)
-- gives way — its rows stay, correct, in the DEFAULT until the next writer or `jurisgrid db
-- partitions` moves them. The writer's own work stands in every case.
CREATE FUNCTION jg_add_partition(parent text, part text, bound text, dflt text, cond text,
                                 subpart text DEFAULT NULL, subdefault text DEFAULT NULL)
    RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    moving boolean;
BEGIN
    FOR attempt IN 1..3 LOOP
        IF to_regclass(quote_ident(part)) IS NOT NULL THEN
            RETURN false;
        END IF;
        BEGIN
            PERFORM pg_advisory_xact_lock(hashtext('jg_add_partition'), hashtext(part));
            moving := false;
            IF dflt IS NOT NULL AND to_regclass(quote_ident(dflt)) IS NOT NULL THEN
                EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %s)', dflt, cond) INTO moving;
            END IF;
            IF moving THEN
                EXECUTE format('CREATE TEMP TABLE jg_moving ON COMMIT DROP AS SELECT * FROM %I '
                               'WHERE %s', dflt, cond);
                EXECUTE format('DELETE FROM %I WHERE %s', dflt, cond);
            END IF;
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES %s %s', part, parent, bound,
                           coalesce('PARTITION BY ' || subpart, ''));
            IF subdefault IS NOT NULL THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', subdefault, part);
            END IF;
            IF moving THEN
                EXECUTE format('INSERT INTO %I SELECT * FROM jg_moving', part);
                DROP TABLE jg_moving;
            END IF;
            RETURN true;
        EXCEPTION
            WHEN duplicate_table OR deadlock_detected THEN
                RETURN false;
            WHEN check_violation THEN
                NULL;  -- a row of the range reached the DEFAULT meanwhile: again, moving it
        END;
    END LOOP;
    RETURN false;
END $$;

-- A county's partitions: address_point_<code>, incident_<code> (by month, with the DEFAULT
-- incident_<code>_default for months not made yet). Called when a county row is inserted.
CREATE FUNCTION jg_county_partitions(county text) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    IF county IS NULL OR county = '' THEN
        RETURN 0;
    END IF;
    RETURN jg_add_partition('address_point', 'address_point_' || county, format('IN (%L)', county),
                            'address_point_default', format('county_code = %L', county))::int
         + jg_add_partition('incident', 'incident_' || county, format('IN (%L)', county),
                            'incident_default', format('county_code = %L', county),
                            'RANGE (occurred_at)', 'incident_' || county || '_default')::int;
END $$;

CREATE FUNCTION jg_county_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM jg_county_partitions(NEW.code);
    RETURN NULL;
END $$;

CREATE TRIGGER county_partitions AFTER INSERT ON county
    FOR EACH ROW EXECUTE FUNCTION jg_county_created();

-- The month partition incident_<code>_<yyyymm> holding time ``t``: the county's local calendar
-- month (county.time_zone), so that retention drops a bureau's month as the bureau counts it.
CREATE FUNCTION jg_incident_month(county text, t timestamptz) RETURNS boolean
    LANGUAGE plpgsql AS $$
DECLARE
    tz text;
    lo timestamptz;
    hi timestamptz;
BEGIN
    SELECT c.time_zone INTO tz FROM county c WHERE c.code = county;
    IF tz IS NULL OR t IS NULL THEN
        RETURN false;  -- no such county: its rows stay in incident_default
    END IF;
    PERFORM jg_county_partitions(county);
    lo := date_trunc('month', t AT TIME ZONE tz) AT TIME ZONE tz;
    hi := (date_trunc('month', t AT TIME ZONE tz) + interval '1 month') AT TIME ZONE tz;
    RETURN jg_add_partition('incident_' || county,
                            'incident_' || county || '_' || to_char(lo AT TIME ZONE tz, 'YYYYMM'),
                            format('FROM (%L) TO (%L)', lo, hi), 'incident_' || county || '_default',
                            format('occurred_at >= %L AND occurred_at < %L', lo, hi));
END $$;

-- Month partitions for whatever sits in the counties' DEFAULT month partitions (one county, or
-- all when NULL): the incident writers call it after writing, and `jurisgrid db partitions`
-- runs it unattended. Returns the number of partitions made.
CREATE FUNCTION jg_incident_months(county text DEFAULT NULL) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    c record;
    t timestamptz;
    n integer := 0;
BEGIN
    FOR c IN SELECT k.code, k.time_zone FROM county k
             WHERE (county IS NULL OR k.code = county)
               AND to_regclass(quote_ident('incident_' || k.code || '_default')) IS NOT NULL
             ORDER BY k.code LOOP
        FOR t IN EXECUTE format('SELECT min(occurred_at) FROM %I GROUP BY date_trunc(''month'', '
                                'occurred_at AT TIME ZONE %L)', 'incident_' || c.code || '_default',
                                c.time_zone) LOOP
            n := n + jg_incident_month(c.code, t)::int;
        END LOOP;
    END LOOP;
    RETURN n;
END $$;

-- Month partitions for the (county_code, occurred_at) pairs of a staged table, made before a
-- bulk insert so that no row lands in a default partition only to be moved.
CREATE FUNCTION jg_stage_incident_months(stage text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    EXECUTE format('SELECT count(*) FILTER (WHERE jg_incident_month(s.county_code, v.t)) FROM ('
                   'SELECT county_code, min(occurred_at) AS a, max(occurred_at) AS b FROM %I '
                   'WHERE county_code <> '''' GROUP BY county_code, date_trunc(''day'', occurred_at)) s, '
                   'LATERAL (VALUES (s.a), (s.b)) v(t)', stage) INTO n;
    RETURN n;
END $$;

-- Membership (invariant 3) for the partitioned point tables: the grid as before (jg_set_grid);
-- a point moved to another county's grid takes its county along — an UPDATE may move a row to
-- another partition. An INSERT cannot (PostgreSQL routes the row before this trigger runs): a
-- county_code given that disagrees with the point's is refused; none given ('') is fixed by
-- jg_rehome_point right after the insert.
CREATE FUNCTION jg_set_point() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    placed boolean := NEW.grid_id IS NULL OR (TG_OP = 'UPDATE' AND NOT ST_Equals(NEW.geom, OLD.geom));
    c text;
BEGIN
    IF placed THEN
        NEW.grid_id := jg_grid_at(NEW.geom);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF placed OR NEW.grid_id IS DISTINCT FROM OLD.grid_id THEN
            NEW.county_code := jg_point_county(NEW.grid_id, NEW.geom);
        END IF;
    ELSIF placed AND NEW.county_code <> '' THEN
        c := jg_point_county(NEW.grid_id, NEW.geom);
        IF c <> NEW.county_code THEN
            RAISE EXCEPTION '% %: county_code % given, but the point lies in county %',
                TG_TABLE_NAME, NEW.code, quote_literal(NEW.county_code), quote_literal(c)
                USING ERRCODE = 'check_violation',
                      HINT = 'set county_code = jg_point_county(grid_id, geom), or leave it out';
        END IF;
    END IF;
    RETURN NEW;
END $$;

-- The safety net for writers that do not know the county (raw SQL, an operator's psql): a row
-- inserted without one lands in the DEFAULT partition and is moved to its county's at the end
-- of the statement, by an UPDATE (which, unlike an insert, may change partition).
CREATE FUNCTION jg_rehome_point() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c text;
BEGIN
    IF NEW.county_code = '' THEN
        c := jg_point_county(NEW.grid_id, NEW.geom);
        IF c <> '' THEN
            EXECUTE format('UPDATE %I SET county_code = $1 WHERE id = $2 AND county_code = ''''',
                           TG_ARGV[0]) USING c, NEW.id;
        END IF;
    END IF;
    RETURN NULL;
END $$;
