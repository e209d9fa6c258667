"""``python -m jurisgrid.seed [--scale S] [--seed N]``: generate the demo county and summarise it.

A development aid (timings, counts); loading into the database is ``jurisgrid.seed.load``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .generate import STAGES, generate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jurisgrid.seed", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    console = Console()
    started = time.perf_counter()
    with Progress(TextColumn("{task.description:<12}"), BarColumn(), TextColumn("{task.fields[n]}"),
                  TimeElapsedColumn(), console=console) as bar:
        tasks = {s: bar.add_task(s, total=1, n="", start=False) for s in STAGES}

        def progress(stage: str, done: int, total: int) -> None:
            bar.start_task(tasks[stage])
            bar.update(tasks[stage], completed=done, total=total, n=f"{done}/{total}")

        county = generate(args.scale, args.seed, progress)
    elapsed = time.perf_counter() - started
    a, i = county.addresses, county.incidents
    table = Table(title=f"{county.name} scale={args.scale:g} seed={args.seed} in {elapsed:.1f} s")
    table.add_column("what")
    table.add_column("count", justify="right")
    for what, n in [
        ("sectors", len(county.sectors)), ("stations", len(county.stations)),
        ("zones", len(county.zones)), ("townships", len(county.townships)),
        ("communities", len(county.communities)), ("grids", len(county.grids)),
        ("address points", len(a)), ("households", int(a.households.sum())),
        ("population", int(a.population.sum())), ("houses", int(a.houses.sum())),
        ("units", int(a.units.sum())), ("incidents", len(i)), ("persons", len(county.persons)),
    ]:
        table.add_row(what, f"{n:,}")
    console.print(table)
    hh = np.bincount(a.grid_idx, weights=a.households, minlength=len(county.grids))
    console.print(f"households per grid: median {np.median(hh):.0f}, "
                  f"{np.mean((hh >= 150) & (hh <= 500)):.1%} within 150–500")
    for line in county.repairs:
        console.print(f"outline: {line}")


if __name__ == "__main__":
    main()
