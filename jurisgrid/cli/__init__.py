"""The ``jurisgrid`` command: one module per command group, assembled here.

    db      cli/db.py        the local cluster or JURISGRID_DATABASE_URL, migrations
    seed    cli/seed.py      the demo county, San Francisco
    serve   cli/serve.py     serve, up
    schema  cli/schema.py    the GraphQL SDL
    token   cli/token.py     API bearer tokens
    import  cli/transfer.py  files in (and export: files out)
    load    cli/load.py      whole counties from a bureau's files
    edit    cli/edit.py      any edit operation (the typed commands of editing/commands.py)
    edits   cli/edits.py     scheduled edits, the revision log, revert
    categories cli/categories.py  incident categories: add, rename, weight, map local codes
    sizing  cli/sizing.py    sizing reports as CSV
    plans   cli/plans.py     the planners' workbench: compare plans

Every module prints through the consoles of cli/console.py, and every command is registered
through its Typer: a refused input (a domain error) is one red line on stderr and exit status 2.
"""

from __future__ import annotations

from jurisgrid.cli.categories import app as categories_app
from jurisgrid.cli.console import Typer
from jurisgrid.cli.db import db_app
from jurisgrid.cli.edit import edit_cmd
from jurisgrid.cli.edits import app as edits_app
from jurisgrid.cli.load import load_cmd
from jurisgrid.cli.plans import app as plans_app
from jurisgrid.cli.schema import schema_app
from jurisgrid.cli.seed import seed_app
from jurisgrid.cli.serve import serve, up
from jurisgrid.cli.sizing import app as sizing_app
from jurisgrid.cli.token import app as token_app
from jurisgrid.cli.transfer import export_app, import_app

app = Typer(help="jurisgrid — police-station jurisdictions on a map.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(seed_app, name="seed")
app.add_typer(schema_app, name="schema")
app.add_typer(token_app, name="token")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(edits_app, name="edits")
app.add_typer(categories_app, name="categories")
app.add_typer(sizing_app, name="sizing")
app.add_typer(plans_app, name="plans")
app.command("load")(load_cmd)
app.command("edit")(edit_cmd)
app.command("serve")(serve)
app.command("up")(up)

__all__ = ["app"]
