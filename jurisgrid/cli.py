"""The ``jurisgrid`` command: database lifecycle, migrations, seeding, serving."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from jurisgrid.cli_common import console
from jurisgrid.cli_common import engine as _engine
from jurisgrid.cli_common import fail as _fail
from jurisgrid.cli_io import export_app, import_app
from jurisgrid.cli_load import load_cmd
from jurisgrid.cli_sizing import app as sizing_app
from jurisgrid.cli_sizing import seed_sf_cmd
from jurisgrid.cli_token import app as token_app
from jurisgrid.config import get_settings
from jurisgrid.editing.cli import app as edits_app
from jurisgrid.localdb import ClusterError, LocalCluster

app = typer.Typer(help="jurisgrid — police-station jurisdictions on a map.", no_args_is_help=True)
db_app = typer.Typer(help="The database: a project-local PostGIS cluster, or JURISGRID_DATABASE_URL.")
seed_app = typer.Typer(help="Load data.")
schema_app = typer.Typer(help="The GraphQL schema.")
app.add_typer(db_app, name="db")
app.add_typer(seed_app, name="seed")
app.add_typer(schema_app, name="schema")
app.add_typer(token_app, name="token")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(edits_app, name="edits")
app.add_typer(sizing_app, name="sizing")
seed_app.command("sf")(seed_sf_cmd)
app.command("load")(load_cmd)


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


def _progress_bar() -> Progress:
    return Progress(TextColumn("{task.description:<28}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                    TimeElapsedColumn(), console=console)


def seed_demo_into(engine: Engine, scale: float, seed: int, replace: bool) -> dict[str, int]:
    from jurisgrid.seed import load as loader
    from jurisgrid.seed.generate import generate

    if not loader.database_is_empty(engine):
        if not replace:
            _fail("the database already holds a county; use --replace to start over")
        loader.clear(engine)
    with _progress_bar() as bar:
        gen = bar.add_task("generating", total=1)
        ld = bar.add_task("loading", total=1)

        def on_gen(stage: str, done: int, total: int) -> None:
            bar.update(gen, description=f"generating: {stage}"[:28], completed=done, total=total)

        def on_load(stage: str, done: int, total: int) -> None:
            bar.update(ld, description=f"loading: {stage}"[:28], completed=done, total=total)

        demo = generate(scale=scale, seed=seed, progress=on_gen)
        bar.update(gen, completed=1, total=1, description="generated")
        counts = loader.load(engine, demo, progress=on_load)
    for msg in demo.repairs:
        console.print(f"[yellow]outline repaired:[/yellow] {msg}")
    return counts


@seed_app.command("demo")
def seed_demo(scale: float = typer.Option(1.0, help="population/incident scale (1 = real size)"),
              seed: int = typer.Option(0, help="random seed; same seed, same county"),
              replace: bool = typer.Option(False, help="replace a county already loaded")) -> None:
    """Generate and load the demo county 渠县 (Qu County, Sichuan)."""
    if not 0 < scale <= 50:
        _fail("--scale must be > 0 and ≤ 50")
    from jurisgrid.models.migrate import upgrade

    engine = _engine()
    upgrade(engine)
    t0 = time.perf_counter()
    counts = seed_demo_into(engine, scale, seed, replace)
    console.print(f"loaded in {time.perf_counter() - t0:.1f} s: "
                  + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


@app.command("serve")
def serve(host: str | None = None, port: int | None = None,
          workers: int | None = None) -> None:
    """Serve GraphQL at /graphql (GraphiQL in a browser), /healthz and /api."""
    from jurisgrid.serving import ServeOptions
    from jurisgrid.serving import serve as run_server

    s = get_settings().server
    _engine()  # start the local cluster before the workers need it
    run_server(ServeOptions(host=host or s.host, port=port or s.port, workers=workers or s.workers,
                            access_log=s.access_log))


@app.command("up")
def up(scale: float = typer.Option(1.0, help="demo scale when the database is empty"),
       host: str | None = None, port: int | None = None) -> None:
    """Everything at once: start the database, migrate, load the demo county if empty, serve."""
    from jurisgrid.models.migrate import upgrade
    from jurisgrid.seed.load import database_is_empty

    engine = _engine()
    upgrade(engine)
    if database_is_empty(engine):
        console.print("empty database: loading the demo county")
        seed_demo_into(engine, scale, 0, replace=False)
    serve(host=host, port=port, workers=None)


@schema_app.command("export")
def schema_export(path: Path = typer.Argument(Path("jurisgrid/schema.graphql"))) -> None:
    """Write the GraphQL SDL (committed; a test fails when it drifts)."""
    from jurisgrid.gql.schema import export_sdl

    path.write_text(export_sdl())
    console.print(f"wrote {path}")


if __name__ == "__main__":
    app()
