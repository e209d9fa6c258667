"""The zone sizing that zone tiles carry, stored once per data and policy version.

Zone tiles show each zone's class, workload and recommended officers under the current policy
(tiles/sizing.py). The server computes them with the API's rule and, until now, sent the
figures of every zone as four array parameters with every zone tile; building and parsing
those arrays cost more server CPU than the rest of the tile. Now the figures are stored here
once per key (the policy version and the newest tile_change id, tiles/sizing.KEY_SQL), and the
tile statements read them by key.

Also: the per-tile ETag lookup counted ``tile_change`` rows with ``bbox IS NULL OR bbox && box``,
which no index answers, so it would scan the whole append-only log once that grows. It now
counts both sides separately (tiles/store.changes_sql); the rows without a bbox get a partial
index of their own.

Revision ID: 0008
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE tile_zone_sizing (
            key text PRIMARY KEY,                 -- tiles/sizing.KEY_SQL as read before computing
            policy_version integer NOT NULL,
            codes text[] NOT NULL,                -- zone codes, and in the same order:
            classes text[] NOT NULL,
            workloads float8[] NOT NULL,
            recommended integer[] NOT NULL,
            computed_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    op.execute("CREATE INDEX tile_change_layer_nobbox_idx ON tile_change (layer, id) WHERE bbox IS NULL")


def downgrade() -> None:
    op.execute("DROP INDEX tile_change_layer_nobbox_idx")
    op.execute("DROP TABLE tile_zone_sizing")
