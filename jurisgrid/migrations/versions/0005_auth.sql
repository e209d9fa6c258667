-- API tokens (issue 3): bearer secrets are never stored, only their SHA-256 (hex).
-- A token scoped to a station goes with it: deleting the station deletes its tokens, so a
-- scoped editor can never silently widen to the whole county (ON DELETE SET NULL would).
CREATE TABLE api_token (
    id           serial PRIMARY KEY,
    token_hash   text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    role         text NOT NULL CHECK (role IN ('viewer', 'editor', 'planner', 'admin')),
    station_code text REFERENCES station(code) ON UPDATE CASCADE ON DELETE CASCADE,
    label        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_token_station_idx ON api_token (station_code);
