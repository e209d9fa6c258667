"""``jurisgrid db start|stop|status|upgrade``: the project-local cluster (or
``JURISGRID_DATABASE_URL``) and the migrations; ``jurisgrid db replica add|status|start|stop|
remove``: streaming read replicas of the local cluster (issue 17)."""

from __future__ import annotations

import typer
from rich.table import Table

from jurisgrid.cli.console import Typer, console, out
from jurisgrid.cli.console import engine as _engine
from jurisgrid.cli.console import fail as _fail
from jurisgrid.cli.partitions import db_partitions
from jurisgrid.config import get_settings
from jurisgrid.localdb import ClusterError, LocalCluster, ReplicaCluster, parse_lsn, replicas_of

db_app = Typer(help="The database: a project-local PostGIS cluster, or JURISGRID_DATABASE_URL.")
db_app.command("partitions")(db_partitions)  # the point tables' partitions (cli/partitions.py)


def _cluster() -> LocalCluster:
    return LocalCluster(get_settings().db.home.resolve())


@db_app.command("start")
def db_start() -> None:
    """Create (initdb) and start the local cluster, and create the database."""
    s = get_settings().db
    if s.database_url:
        console.print("JURISGRID_DATABASE_URL is set: nothing to start.")
        return
    c = _cluster()
    try:
        c.start()
        c.ensure_database(s.db_name)
        for r in replicas_of(c):  # its read replicas too (issue 17)
            r.start()
            console.print(f"replica {r.index} running: {r.url(s.db_name)}")
    except ClusterError as exc:
        _fail(str(exc))
    console.print(f"local cluster running: {c.url(s.db_name)}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the local cluster (and its read replicas)."""
    try:
        for r in replicas_of(_cluster()):
            r.stop()
        _cluster().stop()
    except ClusterError as exc:
        _fail(str(exc))
    console.print("local cluster stopped")


@db_app.command("status")
def db_status() -> None:
    """Say where the database is and whether it runs (exit 1 if not)."""
    s = get_settings().db
    if s.database_url:
        console.print(f"using JURISGRID_DATABASE_URL ({s.database_url.split('@')[-1]})")
        return
    c = _cluster()
    if not c.initialised:
        console.print(f"no local cluster yet in {c.pgdata} (run: jurisgrid db start)")
        raise typer.Exit(1)
    up = c.running()
    console.print(f"local cluster in {c.pgdata}: {'running' if up else 'stopped'}"
                  + (f" — {c.url(s.db_name)}" if up else ""))
    if not up:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the Alembic migrations."""
    from jurisgrid.models.migrate import current_revision, upgrade

    engine = _engine()
    upgrade(engine, revision)
    console.print(f"database at migration {current_revision(engine)}")


replica_app = Typer(help="Streaming read replicas of the local cluster (pg_basebackup; issue 17).")
db_app.add_typer(replica_app, name="replica")


def _local_primary() -> LocalCluster:
    if get_settings().db.database_url:
        _fail("JURISGRID_DATABASE_URL is set: replicas of that server are made with its own tools "
              "(pg_basebackup -R); name them in JURISGRID_REPLICA_URLS")
    return _cluster()


def _replica(index: int) -> ReplicaCluster:
    found = {r.index: r for r in replicas_of(_local_primary())}
    if index not in found:
        _fail(f"no replica {index} (jurisgrid db replica status lists them)")
    return found[index]


@replica_app.command("add")
def replica_add() -> None:
    """Copy the running local cluster into .jurisgrid/replica-N (pg_basebackup -R, a replication
    slot) and start it streaming on a port of its own; print its URL."""
    s = get_settings().db
    primary = _local_primary()
    try:
        r = ReplicaCluster.make(primary)
    except ClusterError as exc:
        _fail(str(exc))
    urls = [x.url(s.db_name) for x in replicas_of(primary) if x.running()]
    console.print(f"replica {r.index} streaming from the primary: {r.url(s.db_name)}")
    console.print("serve reads from the running replicas with:\n"
                  f"  JURISGRID_REPLICA_URLS={','.join(urls)}")


@replica_app.command("status")
def replica_status() -> None:
    """Each replica: running, port, replayed WAL position and lag behind the primary."""
    import psycopg2

    from jurisgrid.localdb import DB_USER, slot_name
    from jurisgrid.replicas import format_lsn

    primary = _local_primary()
    found = replicas_of(primary)
    if not found:
        out.print("no replicas (add one with: jurisgrid db replica add)")
        return
    sent: dict[str, tuple] = {}
    primary_pos = None
    if primary.running():
        conn = psycopg2.connect(dbname="postgres", user=DB_USER, host=str(primary.rundir.resolve()),
                                port=primary.port)
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_current_wal_insert_lsn()::text")
            primary_pos = parse_lsn(cur.fetchone()[0])
            cur.execute("""
                SELECT s.slot_name, s.active, r.state, r.replay_lsn::text,
                       extract(epoch FROM r.replay_lag)
                FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid""")
            sent = {row[0]: row[1:] for row in cur.fetchall()}
        conn.close()
    table = Table("replica", "running", "port", "state", "replayed", "behind (bytes)", "replay lag (s)")
    for r in found:
        up = r.running()
        replayed = None
        if up:
            conn = psycopg2.connect(dbname="postgres", user=DB_USER, host=str(r.rundir.resolve()),
                                    port=r.port)
            with conn, conn.cursor() as cur:
                cur.execute("SELECT pg_last_wal_replay_lsn()::text")
                got = cur.fetchone()[0]
                replayed = parse_lsn(got) if got else None
            conn.close()
        _active, state, _lsn, lag = sent.get(slot_name(r.index), (None, None, None, None))
        table.add_row(
            str(r.index), "yes" if up else "no", str(r.port), state or "-",
            format_lsn(replayed) if replayed is not None else "-",
            str(max(0, primary_pos - replayed)) if primary_pos is not None and replayed is not None
            else "-",
            f"{lag:.3f}" if lag is not None else "-")
    out.print(table)
    if primary_pos is not None:
        out.print(f"primary at {format_lsn(primary_pos)}")


@replica_app.command("remove")
def replica_remove(index: int = typer.Argument(..., help="the replica's number")) -> None:
    """Stop replica N, delete its folder and drop its replication slot on the primary."""
    try:
        _replica(index).remove(_local_primary())
    except ClusterError as exc:
        _fail(str(exc))
    console.print(f"replica {index} removed")


@replica_app.command("stop")
def replica_stop(index: int = typer.Argument(..., help="the replica's number")) -> None:
    """Stop replica N (its slot keeps the WAL it needs to catch up when started again)."""
    try:
        _replica(index).stop()
    except ClusterError as exc:
        _fail(str(exc))
    console.print(f"replica {index} stopped")


@replica_app.command("start")
def replica_start(index: int = typer.Argument(..., help="the replica's number")) -> None:
    """Start replica N again; it catches up from its slot."""
    try:
        _replica(index).start()
    except ClusterError as exc:
        _fail(str(exc))
    console.print(f"replica {index} running on port {_replica(index).port}")
