"""``jurisgrid plans compare A B [live] --csv out.csv`` — plans side by side (issue 12 item 3).

The same figures as GraphQL ``comparePlans`` (planning/compare.py): one row per plan and zone,
then a summary row per plan (zone ``*``). ``live`` names today's assignment; plans are stored
plans' ids. Without ``--csv`` a summary table is printed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.table import Table

from jurisgrid.cli.console import Typer, console, engine
from jurisgrid.cli.console import out as stdout_console
from jurisgrid.cli.sizing import _time
from jurisgrid.errors import InvalidInput
from jurisgrid.models import plans as store
from jurisgrid.planning import compare as cmp
from jurisgrid.planning.source import read_context
from jurisgrid.planning.stored import plan_alternative, plans_scope

app = Typer(help="Planners' workbench (issue 12): compare plans.", no_args_is_help=True)


def _ids(names: list[str]) -> list[int | None]:
    """Each name as a plan id, ``live`` as None."""
    out: list[int | None] = []
    for n in names:
        if n.lower() == "live":
            out.append(None)
            continue
        try:
            out.append(int(n))
        except ValueError:
            raise InvalidInput(f"not a plan id or 'live': {n!r}") from None
    if len(set(out)) != len(out):
        raise InvalidInput("each plan may be compared once")
    return out


@app.command("compare")
def compare_cmd(
    plans: list[str] = typer.Argument(..., help="plan ids, and `live` for today's assignment, in order"),
    station: str = typer.Option(None, help="the station to compare over (default: the plans' station "
                                           "when all are of one, else the county)"),
    since: str = typer.Option(None, help="incidents from (ISO 8601 with offset; default: policy window)"),
    until: str = typer.Option(None, help="incidents until (exclusive)"),
    csv_path: Path = typer.Option(None, "--csv", help="write CSV to this file ('-' = stdout)"),
) -> None:
    """Plans (and the live state) side by side: per zone and per plan."""
    ids = _ids(plans)
    with engine().connect() as conn:
        stored = [store.get_plan(conn, i) for i in ids if i is not None]
        scope = station if station is not None or not stored else plans_scope(stored)
        ctx = read_context(conn, scope, since=_time(since), until=_time(until))
        by_id = {p["id"]: plan_alternative(conn, ctx, p) for p in stored}
    alts = [ctx.base if i is None else by_id[i] for i in ids]
    c = cmp.compare(ctx, alts)
    if csv_path is not None:
        text = cmp.comparison_csv(c)
        if str(csv_path) == "-":
            sys.stdout.write(text)
        else:
            csv_path.write_text(text, encoding="utf-8")
            console.print(f"wrote {len(cmp.comparison_rows(c))} rows to {csv_path}")
        return
    t = Table("plan", "name", "moved", "station changes", "worst population", "worst incidents",
              "worst workload", "pieces", "Polsby–Popper", "officer gap", "breaches",
              title=f"{ctx.scope or 'county'}: {len(c.zones)} zones, {len(c.changed)} grids differ")
    for r in c.reports:
        m = r.metrics
        mv = m.moves
        t.add_row(r.alternative.key, r.alternative.name, str(mv.units if mv else 0),
                  str(mv.parent_changes if mv else 0),
                  *(f"{100 * m.measures[x].worst:.1f} %" for x in ("population", "incidents", "workload")),
                  str(sum(d.pieces for d in m.districts)), f"{m.polsby_popper_mean:.3f}",
                  str(sum(s.officer_gap for s in r.staffing)), str(len(r.breaches)))
    stdout_console.print(t)
