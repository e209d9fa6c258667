"""What every module of the ``jurisgrid`` command shares: the consoles, the one error mapping,
the engine.

Exit statuses:

- 0 — done.
- 1 — the command could not run: no database or local cluster, a database that already holds a
  county, … (:func:`fail`).
- 2 — the input was refused and nothing was written: a domain error (``jurisgrid.errors``), an
  unknown coordinate system or bad coordinates, like click's own usage errors. Every command is
  registered through :class:`Typer`, whose commands turn such an error into one red line on
  stderr (:func:`refuse`) — commands do not catch domain errors themselves, except to print
  details (a table of bad features) before calling :func:`refuse`.

Kept apart from :mod:`jurisgrid.cli` (the package), which imports the command modules: they
import these helpers from here, never from the package itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from jurisgrid.errors import JurisgridError
from jurisgrid.geo.crs import CoordinateError, UnknownCrs

console = Console(stderr=True)  # messages, progress bars, errors
out = Console()  # a command's result: tables and listings on stdout

EXIT_FAILED = 1
EXIT_REFUSED = 2
# errors that mean "the input was refused": jurisgrid's domain errors and geo/'s input errors
# (geo/ imports nothing of the project, so its errors are not JurisgridErrors)
REFUSED = (JurisgridError, CoordinateError, UnknownCrs)

F = TypeVar("F", bound=Callable[..., Any])


def fail(msg: str) -> NoReturn:
    """Print ``error: msg`` on stderr and exit with status 1 (the command could not run)."""
    console.print(f"[red]error:[/red] {msg}")
    raise typer.Exit(EXIT_FAILED)


def refuse(exc: BaseException | str) -> NoReturn:
    """Print the refusal as one red line on stderr and exit with status 2."""
    msg = exc.message if isinstance(exc, JurisgridError) else str(exc)
    console.print(f"[red]error:[/red] {escape(' '.join(msg.split()))}", soft_wrap=True)
    raise typer.Exit(EXIT_REFUSED)


def refusing(fn: F) -> F:
    """``fn`` with a refused input mapped to :func:`refuse` (the one error mapping)."""

    @functools.wraps(fn)
    def command(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except REFUSED as exc:
            refuse(exc)

    return command  # type: ignore[return-value]


class Typer(typer.Typer):
    """typer.Typer whose commands map refused input to exit status 2 (see :func:`refusing`)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(fn: F) -> F:
            register(refusing(fn))
            return fn  # callers in Python (``up`` calls ``serve``) get the function itself

        return decorator


def engine() -> Engine:
    """The configured engine; a local cluster that cannot be reached is a clean CLI error."""
    from jurisgrid.db import get_engine
    from jurisgrid.localdb import ClusterError

    try:
        return get_engine()
    except ClusterError as exc:
        fail(str(exc))
