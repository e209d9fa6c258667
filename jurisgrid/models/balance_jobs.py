"""Balancing jobs (issue 12 item 4): the ``balance_job`` table and its plain reads and writes.

A job is run by a thread of the server process that accepted it (planning/jobs.py); its state
lives here so every process answers ``balanceJob`` / ``balanceJobs`` and takes
``cancelBalancing`` alike: the runner writes its stage and progress (at most twice a second, with
a heartbeat — also for the jobs waiting in its queue), reads the cancel flag as often, and writes
the answer (the plan it made, the figures and what limits the balance) or the error at the end. A
queued or running job whose heartbeat is older than ``STALE_S`` lost its process (a restart) and
reads as ``failed``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

from jurisgrid.errors import NotFound

STATUSES = ("queued", "running", "done", "failed", "cancelled")
ACTIVE = ("queued", "running")
STALE_S = 120.0


def define_balance_job_table(metadata: MetaData) -> None:
    Table(
        "balance_job", metadata,
        Column("id", Integer, primary_key=True),
        Column("actor", Text, nullable=False),
        Column("station_code", Text),  # the scope: a station, NULL = the county
        Column("params", JSONB, nullable=False),
        Column("status", Text, nullable=False),
        Column("stage", Text),
        Column("fraction", Float, nullable=False),
        Column("cancel_requested", Boolean, nullable=False),
        Column("plan_id", Integer, ForeignKey("plan.id", ondelete="SET NULL")),
        Column("result", JSONB),
        Column("error", JSONB),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("started_at", DateTime(timezone=True)),
        Column("finished_at", DateTime(timezone=True)),
        Column("heartbeat_at", DateTime(timezone=True), nullable=False),
    )


_COLS = ("id, actor, station_code, params, stage, fraction, cancel_requested, plan_id, result, "
         "created_at, started_at, finished_at, heartbeat_at, "
         "CASE WHEN status IN ('queued', 'running') AND heartbeat_at < clock_timestamp() "
         f"- interval '{int(STALE_S)} seconds' THEN 'failed' ELSE status END AS status, "
         "CASE WHEN status IN ('queued', 'running') AND heartbeat_at < clock_timestamp() "
         f"- interval '{int(STALE_S)} seconds' THEN '{{\"code\": \"LOST\", \"message\": \"the server "
         "process running the job stopped\"}'::jsonb ELSE error END AS error")


def insert_job(conn: Connection, *, actor: str, station: str | None, params: dict[str, Any]) -> int:
    return int(conn.exec_driver_sql(
        "INSERT INTO balance_job (actor, station_code, params, status, fraction, cancel_requested, "
        "created_at, heartbeat_at) VALUES (%(a)s, %(s)s, %(p)s::jsonb, 'queued', 0, false, "
        "clock_timestamp(), clock_timestamp()) RETURNING id",
        {"a": actor, "s": station, "p": json.dumps(params)}).scalar_one())


def get_job(conn: Connection, job_id: int) -> dict[str, Any]:
    row = conn.exec_driver_sql(f"SELECT {_COLS} FROM balance_job WHERE id = %(i)s",
                               {"i": job_id}).mappings().first()
    if row is None:
        raise NotFound(f"no balancing job {job_id}", details=[{"kind": "balanceJob", "id": job_id}])
    return dict(row)


def list_jobs(conn: Connection, *, station: str | None = None, only_station: bool = False,
              status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first; ``only_station``: the jobs of ``station`` only (a station-scoped caller)."""
    rows = conn.exec_driver_sql(
        f"SELECT * FROM (SELECT {_COLS} FROM balance_job "
        "WHERE (NOT %(only)s OR station_code = %(s)s)) j "
        "WHERE %(st)s::text IS NULL OR j.status = %(st)s ORDER BY j.id DESC LIMIT %(n)s",
        {"only": only_station, "s": station, "st": status, "n": limit}).mappings()
    return [dict(r) for r in rows]


def mark_running(conn: Connection, job_id: int) -> bool:
    """queued → running; False when the job is no longer queued (cancelled meanwhile)."""
    return conn.exec_driver_sql(
        "UPDATE balance_job SET status = 'running', started_at = clock_timestamp(), "
        "heartbeat_at = clock_timestamp() WHERE id = %(i)s AND status = 'queued' AND NOT cancel_requested",
        {"i": job_id}).rowcount == 1


def progress(conn: Connection, job_id: int, stage: str, fraction: float, *,
             waiting: Iterable[int] = ()) -> bool:
    """Write the stage and progress (and the heartbeat), and the heartbeat of the jobs ``waiting``
    in the same process's queue; returns whether a cancel was asked."""
    ids = sorted(waiting)
    if ids:
        conn.exec_driver_sql("UPDATE balance_job SET heartbeat_at = clock_timestamp() "
                             "WHERE id = ANY(%(ids)s) AND status = 'queued'", {"ids": ids})
    return bool(conn.exec_driver_sql(
        "UPDATE balance_job SET stage = %(st)s, fraction = %(f)s, heartbeat_at = clock_timestamp() "
        "WHERE id = %(i)s RETURNING cancel_requested",
        {"i": job_id, "st": stage, "f": fraction}).scalar())


def finish(conn: Connection, job_id: int, status: str, *, result: dict[str, Any] | None = None,
           error: dict[str, Any] | None = None, plan_id: int | None = None) -> None:
    conn.exec_driver_sql(
        "UPDATE balance_job SET status = %(s)s, result = %(r)s::jsonb, error = %(e)s::jsonb, "
        "plan_id = %(p)s, fraction = CASE WHEN %(s)s = 'done' THEN 1 ELSE fraction END, "
        "finished_at = clock_timestamp(), heartbeat_at = clock_timestamp() WHERE id = %(i)s",
        {"i": job_id, "s": status, "r": None if result is None else json.dumps(result),
         "e": None if error is None else json.dumps(error), "p": plan_id})


def request_cancel(conn: Connection, job_id: int) -> dict[str, Any]:
    """Ask a job to stop: a queued one is cancelled at once, a running one at its next check
    (within about half a second); a finished one is left as it is."""
    conn.exec_driver_sql("UPDATE balance_job SET cancel_requested = true WHERE id = %(i)s "
                         "AND status IN ('queued', 'running')", {"i": job_id})
    conn.exec_driver_sql("UPDATE balance_job SET status = 'cancelled', finished_at = clock_timestamp() "
                         "WHERE id = %(i)s AND status = 'queued'", {"i": job_id})
    return get_job(conn, job_id)
