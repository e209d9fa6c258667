"""What every module of the ``jurisgrid`` command shares: the console, failing, the engine.

Kept apart from :mod:`jurisgrid.cli` (the package), which imports the command modules: they
import these helpers from here, never from the package itself.
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from sqlalchemy import Engine

console = Console(stderr=True)


def fail(msg: str) -> NoReturn:
    """Print ``error: msg`` on stderr and exit with status 1."""
    console.print(f"[red]error:[/red] {msg}")
    raise typer.Exit(1)


def engine() -> Engine:
    """The configured engine; a local cluster that cannot be reached is a clean CLI error."""
    from jurisgrid.db import get_engine
    from jurisgrid.localdb import ClusterError

    try:
        return get_engine()
    except ClusterError as exc:
        fail(str(exc))
