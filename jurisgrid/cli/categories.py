"""``jurisgrid categories …``: incident (警情) categories as data — list, add, rename, weight,
and map a bureau's local category codes (models/categories.py; the same functions as the
GraphQL mutations). Acts as the local admin; ``--actor`` names who, on policy versions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from jurisgrid.cli.console import Typer
from jurisgrid.cli.console import out as console

app = Typer(help="Incident categories: list, add, rename, weight, map local codes.",
            no_args_is_help=True)


def _write(fn: Callable[[Any], Any]) -> None:
    from jurisgrid.cli.console import engine

    with engine().begin() as conn:
        c = fn(conn)
    _print([c])


def _print(cats: list[Any]) -> None:
    for c in cats:
        local = ", ".join(f"{a}" + (f" ({n})" if n else "") for a, n in c.aliases)
        console.print(f"{c.code:<16} {c.name:<12} weight {c.weight:<6g} incidents {c.incidents:<7}"
                      + (f" local codes: {local}" if local else ""), markup=False, soft_wrap=True)


@app.command("list")
def list_cmd() -> None:
    """Every category with its weight, incident count and local codes."""
    from jurisgrid.cli.console import engine
    from jurisgrid.models import categories

    with engine().connect() as conn:
        _print(categories.categories(conn))


@app.command("add")
def add_cmd(code: str, name: str,
            weight: float = typer.Option(None, help="its weight in the sizing policy"),
            actor: str = typer.Option("cli", help="who, on the policy version")) -> None:
    """Add category CODE called NAME."""
    from jurisgrid.models import categories

    _write(lambda conn: categories.create(conn, code, name, weight=weight, actor=actor))


@app.command("rename")
def rename_cmd(code: str, name: str) -> None:
    """Give category CODE the name NAME."""
    from jurisgrid.models import categories

    _write(lambda conn: categories.rename(conn, code, name))


@app.command("weight")
def weight_cmd(code: str, weight: float,
               actor: str = typer.Option("cli", help="who, on the policy version")) -> None:
    """Set category CODE's weight in the sizing policy (a new policy version)."""
    from jurisgrid.models import categories

    _write(lambda conn: categories.set_weight(conn, code, weight, actor=actor))


@app.command("map")
def map_cmd(local_code: str, code: str,
            name: str = typer.Option(None, help="what the local code means")) -> None:
    """Map the local 警情 code LOCAL_CODE to category CODE (imports then count it there)."""
    from jurisgrid.models import categories

    _write(lambda conn: categories.map_local(conn, local_code, code, name=name))


@app.command("unmap")
def unmap_cmd(local_code: str) -> None:
    """Remove LOCAL_CODE's mapping."""
    from jurisgrid.models import categories

    _write(lambda conn: categories.unmap_local(conn, local_code))
