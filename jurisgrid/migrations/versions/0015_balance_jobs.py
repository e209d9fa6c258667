"""Balancing jobs (issue 12 item 4): ``balance_job`` — one row per automatic-balancing request,
with its parameters, status, progress, heartbeat, cancel flag and answer (the plan it wrote,
the figures, what limits the balance). models/balance_jobs.py reads and writes it.

Revision ID: 0015
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE balance_job (
    id               serial PRIMARY KEY,
    actor            text NOT NULL,
    station_code     text,
    params           jsonb NOT NULL,
    status           text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    stage            text,
    fraction         double precision NOT NULL DEFAULT 0 CHECK (fraction BETWEEN 0 AND 1),
    cancel_requested boolean NOT NULL DEFAULT false,
    plan_id          integer REFERENCES plan(id) ON DELETE SET NULL,
    result           jsonb,
    error            jsonb,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at       timestamptz,
    finished_at      timestamptz,
    heartbeat_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX balance_job_station ON balance_job (station_code, id);
""")


def downgrade() -> None:
    op.execute("DROP TABLE balance_job")
