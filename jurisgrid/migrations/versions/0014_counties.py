"""Many counties in one deployment (issue 11): a time zone per county, tokens scoped to a county.

- ``county.time_zone`` — the IANA zone of the county's local times (exports of incidents, the
  web map's times); existing counties get Asia/Shanghai, San Francisco's seed America/Los_Angeles.
- ``api_token.county_code`` — a token scoped to one county reads and edits only that county
  (auth/). It goes with the county as a station-scoped token goes with its station (ON DELETE
  CASCADE: never silently widened to the whole deployment); a token is scoped to a county or to
  a station, not both (the station already names its county).

Revision ID: 0014
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE county ADD COLUMN time_zone text NOT NULL DEFAULT 'Asia/Shanghai' "
               "CHECK (time_zone <> '')")
    op.execute("ALTER TABLE api_token ADD COLUMN county_code text "
               "REFERENCES county(code) ON UPDATE CASCADE ON DELETE CASCADE, "
               "ADD CONSTRAINT api_token_one_scope CHECK (station_code IS NULL OR county_code IS NULL)")
    op.execute("CREATE INDEX api_token_county_idx ON api_token (county_code)")


def downgrade() -> None:
    op.execute("ALTER TABLE api_token DROP COLUMN county_code")
    op.execute("ALTER TABLE county DROP COLUMN time_zone")
