"""``jurisgrid schema export``: the GraphQL SDL, committed as jurisgrid/schema.graphql."""

from __future__ import annotations

from pathlib import Path

import typer

from jurisgrid.cli.console import Typer, console

schema_app = Typer(help="The GraphQL schema.")


@schema_app.command("export")
def schema_export(path: Path = typer.Argument(Path("jurisgrid/schema.graphql"))) -> None:
    """Write the GraphQL SDL (committed; a test fails when it drifts)."""
    from jurisgrid.gql.schema import export_sdl

    path.write_text(export_sdl())
    console.print(f"wrote {path}")
