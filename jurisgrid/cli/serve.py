"""``jurisgrid serve`` and ``jurisgrid up`` (database, migrations, demo county when empty, serve)."""

from __future__ import annotations

import typer

from jurisgrid.cli.console import console
from jurisgrid.cli.console import engine as _engine
from jurisgrid.cli.seed import seed_demo_into
from jurisgrid.config import get_settings


def serve(host: str | None = None, port: int | None = None,
          workers: int | None = None) -> None:
    """Serve GraphQL at /graphql (GraphiQL in a browser), /healthz and /api."""
    from jurisgrid.serving import ServeOptions
    from jurisgrid.serving import serve as run_server

    s = get_settings().server
    _engine()  # start the local cluster before the workers need it
    run_server(ServeOptions(host=host or s.host, port=port or s.port, workers=workers or s.workers,
                            access_log=s.access_log))


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
