-- Editing (issue 3): revisions, per-table history with validity ranges, scheduled edits.
--
-- Every committed change of the jurisdiction data is one row in `revision`. Writers open a
-- revision first (jurisgrid/editing/revisions.py), which sets the transaction-local settings
-- `jurisgrid.revision` (its id) and `jurisgrid.effective` (the instant it takes effect). Row
-- triggers on the historised tables then keep `<table>_history`: one row per version of a unit,
-- with the revision that created it (rev_from), the one that ended it (rev_to) and the time
-- range it was in force (valid, [from, to)). The current tables keep holding "now".
--
-- Writes made outside a revision (the demo seed, bulk maintenance) are not history events:
-- they rewrite the open history version in place, valid from -infinity under revision 0
-- ("initial state"), so that `asOf` any instant before the first edit sees the seeded state.

CREATE TABLE revision (
    id             bigserial PRIMARY KEY,
    actor          text NOT NULL,
    role           text,
    at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    effective_from timestamptz NOT NULL,
    reason         text,
    kind           text NOT NULL,
    summary        jsonb NOT NULL DEFAULT '{}',
    changed_area   geometry(Geometry, 4326),
    reverts        bigint REFERENCES revision(id),
    reverted_by    bigint REFERENCES revision(id)
);
INSERT INTO revision (id, actor, role, at, effective_from, reason, kind)
VALUES (0, 'system', 'admin', '-infinity', '-infinity', 'initial state', 'initial');
CREATE INDEX revision_changed_area_gist ON revision USING gist (changed_area);
CREATE INDEX revision_effective_idx ON revision (effective_from);

-- edits with a future effectiveFrom, applied by jurisgrid.editing.schedule.apply_due when due
CREATE TABLE scheduled_edit (
    id             bigserial PRIMARY KEY,
    operation      text NOT NULL,
    args           jsonb NOT NULL,
    actor          text NOT NULL,
    role           text,
    reason         text,
    effective_from timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    applied_revision bigint REFERENCES revision(id),
    cancelled_at   timestamptz,
    error          text
);
CREATE INDEX scheduled_edit_due_idx ON scheduled_edit (effective_from)
    WHERE applied_revision IS NULL AND cancelled_at IS NULL;

CREATE FUNCTION jg_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    hist  text := TG_TABLE_NAME || '_history';
    rev   bigint := nullif(current_setting('jurisgrid.revision', true), '')::bigint;
    eff   timestamptz;
    cols  text;
    open_rev bigint;
    open_from timestamptz;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute
    WHERE attrelid = hist::regclass AND attnum > 0 AND NOT attisdropped
      AND attname NOT IN ('hid', 'rev_from', 'rev_to', 'valid');

    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        EXECUTE format('SELECT rev_from, lower(valid) FROM %I WHERE id = $1 AND rev_to IS NULL', hist)
            INTO open_rev, open_from USING OLD.id;
    END IF;

    IF rev IS NULL THEN
        -- outside a revision: rewrite the open version in place (initial state, revision 0)
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            EXECUTE format('DELETE FROM %I WHERE id = $1 AND rev_to IS NULL', hist) USING OLD.id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            EXECUTE format('INSERT INTO %I (%s, rev_from, valid) SELECT %s, $2, $3 FROM (SELECT ($1).*) r',
                           hist, cols, cols)
                USING NEW, coalesce(open_rev, 0), tstzrange(coalesce(open_from, '-infinity'), NULL);
        END IF;
        RETURN NULL;
    END IF;

    eff := current_setting('jurisgrid.effective')::timestamptz;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF open_rev = rev THEN
            -- a second change in the same revision replaces the version it made
            EXECUTE format('DELETE FROM %I WHERE id = $1 AND rev_to IS NULL', hist) USING OLD.id;
        ELSE
            EXECUTE format('UPDATE %I SET rev_to = $2, valid = tstzrange(lower(valid), greatest(lower(valid), $3)) '
                           'WHERE id = $1 AND rev_to IS NULL', hist) USING OLD.id, rev, eff;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format('INSERT INTO %I (%s, rev_from, valid) SELECT %s, $2, $3 FROM (SELECT ($1).*) r',
                       hist, cols, cols)
            USING NEW, rev, tstzrange(greatest(eff, open_from), NULL);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION jg_history_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('TRUNCATE %I', TG_TABLE_NAME || '_history');
    RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['community', 'station', 'zone', 'grid', 'person', 'assignment'] LOOP
        EXECUTE format('CREATE TABLE %I (hid bigserial PRIMARY KEY, LIKE %I, '
                       'rev_from bigint NOT NULL, rev_to bigint, valid tstzrange NOT NULL)',
                       t || '_history', t);
        EXECUTE format('CREATE INDEX %I ON %I (id) WHERE rev_to IS NULL', t || '_history_open_idx', t || '_history');
        EXECUTE format('CREATE INDEX %I ON %I (rev_from)', t || '_history_rev_from_idx', t || '_history');
        EXECUTE format('CREATE INDEX %I ON %I (rev_to)', t || '_history_rev_to_idx', t || '_history');
        EXECUTE format('CREATE INDEX %I ON %I USING gist (valid)', t || '_history_valid_gist', t || '_history');
        IF t <> 'assignment' THEN
            EXECUTE format('CREATE INDEX %I ON %I (code)', t || '_history_code_idx', t || '_history');
        END IF;
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I '
                       'FOR EACH ROW EXECUTE FUNCTION jg_history()', t || '_history', t);
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION jg_history_truncate()', t || '_history_truncate', t);
        -- rows that already exist become the initial state
        EXECUTE format('INSERT INTO %I SELECT nextval(%L), t.*, 0, NULL, tstzrange(''-infinity'', NULL) FROM %I t',
                       t || '_history', t || '_history_hid_seq', t);
    END LOOP;
END $$;
CREATE INDEX grid_history_geom_gist ON grid_history USING gist (geom);
CREATE INDEX zone_history_geom_gist ON zone_history USING gist (geom);
