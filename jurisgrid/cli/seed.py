"""``jurisgrid seed demo|sf``: generate and load the demo county, or San Francisco's block groups."""

from __future__ import annotations

import time

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from jurisgrid.cli.console import Typer, console, refuse
from jurisgrid.cli.console import engine as _engine
from jurisgrid.cli.console import fail as _fail
from jurisgrid.cli.sizing import seed_sf_cmd

seed_app = Typer(help="Load data.")
seed_app.command("sf")(seed_sf_cmd)


def _progress_bar() -> Progress:
    return Progress(TextColumn("{task.description:<28}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                    TimeElapsedColumn(), console=console)


def seed_demo_into(engine: Engine, scale: float, seed: int, replace: bool,
                   prefecture: str | None = None,
                   counties: list[str] | None = None) -> dict[str, int]:
    """Generate and load 渠县, or the county-level units of a prefecture (all, or ``counties``)."""
    from jurisgrid.seed import load as loader
    from jurisgrid.seed.generate import generate_counties
    from jurisgrid.seed.reference import prefecture_counties, qu_county

    try:
        refs = prefecture_counties(prefecture, counties) if prefecture else [qu_county()]
    except ValueError as exc:
        refuse(str(exc))

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

        demos = generate_counties(refs, scale=scale, seed=seed, progress=on_gen)
        bar.update(gen, completed=1, total=1, description="generated")
        counts = loader.load_counties(engine, demos, progress=on_load)
    for demo in demos:
        for msg in demo.repairs:
            console.print(f"[yellow]{demo.name} outline repaired:[/yellow] {msg}")
    return counts


@seed_app.command("demo")
def seed_demo(scale: float = typer.Option(1.0, help="population/incident scale (1 = real size)"),
              seed: int = typer.Option(0, help="random seed; same seed, same county"),
              replace: bool = typer.Option(False, help="replace a county already loaded"),
              prefecture: str | None = typer.Option(
                  None, help="generate every county-level unit of this prefecture instead "
                  "(5117: the seven of 达州, their real outlines, townships and villages)"),
              counties: str | None = typer.Option(
                  None, help="with --prefecture: only these counties (comma-separated codes, "
                  "e.g. 511702,511703)")) -> None:
    """Generate and load the demo county 渠县 (Qu County, Sichuan), or a whole prefecture."""
    if not 0 < scale <= 50:
        refuse("--scale must be > 0 and ≤ 50")
    if counties and not prefecture:
        refuse("--counties needs --prefecture")
    only = [c.strip() for c in counties.split(",") if c.strip()] if counties else None
    if prefecture:  # refuse unknown codes before touching the database
        from jurisgrid.seed.reference import prefecture_counties

        try:
            prefecture_counties(prefecture, only)
        except ValueError as exc:
            refuse(str(exc))
    from jurisgrid.models.migrate import upgrade

    engine = _engine()
    upgrade(engine)
    t0 = time.perf_counter()
    counts = seed_demo_into(engine, scale, seed, replace, prefecture, only)
    console.print(f"loaded in {time.perf_counter() - t0:.1f} s: "
                  + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
