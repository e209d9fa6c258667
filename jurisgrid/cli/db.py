"""``jurisgrid db start|stop|status|upgrade``: the project-local cluster (or
``JURISGRID_DATABASE_URL``) and the migrations."""

from __future__ import annotations

import typer

from jurisgrid.cli.console import Typer, console
from jurisgrid.cli.console import engine as _engine
from jurisgrid.cli.console import fail as _fail
from jurisgrid.config import get_settings
from jurisgrid.localdb import ClusterError, LocalCluster

db_app = Typer(help="The database: a project-local PostGIS cluster, or JURISGRID_DATABASE_URL.")


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
    except ClusterError as exc:
        _fail(str(exc))
    console.print(f"local cluster running: {c.url(s.db_name)}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the local cluster."""
    try:
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
