"""``jurisgrid sizing report|compliance|balance|policy`` — sizing figures as CSV (or a table)."""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from jurisgrid.cli.console import Typer, console, engine, fail
from jurisgrid.cli.console import out as stdout_console
from jurisgrid.errors import InvalidInput

app = Typer(
    help="Sizing zones by population and incidents (issue 4): reports as CSV.", no_args_is_help=True
)

CsvOpt = typer.Option(None, "--csv", help="write CSV to this file ('-' = stdout)")
SinceOpt = typer.Option(None, help="window start, ISO 8601 with offset (default: policy window)")
UntilOpt = typer.Option(None, help="window end (exclusive), ISO 8601 with offset")


def _run(fn: Any) -> Any:
    with engine().connect() as conn:
        return fn(conn)


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"not an ISO 8601 time: {value!r}") from None
    if t.tzinfo is None:
        raise InvalidInput(f"{value!r} needs a UTC offset, e.g. 2026-01-01T00:00:00+08:00")
    return t


def _emit(header: list[str], rows: list[list[Any]], path: Path | None, title: str) -> None:
    if path is None:
        t = Table(*header, title=title)
        for r in rows:
            t.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r])
        stdout_console.print(t)
        return
    out = sys.stdout if str(path) == "-" else path.open("w", newline="", encoding="utf-8")
    try:
        w = csv.writer(out)
        w.writerow(header)
        w.writerows(rows)
    finally:
        if out is not sys.stdout:
            out.close()
            console.print(f"wrote {len(rows)} rows to {path}")


@app.command("report")
def report_cmd(
    scope: str = typer.Option(None, help="station, sector or county (default county)"),
    code: str = typer.Option(None, help="code of the station/sector/county"),
    since: str = SinceOpt,
    until: str = UntilOpt,
    csv_path: Path = CsvOpt,
) -> None:
    """Every zone: population, incidents, workload, class and recommended officers."""
    from jurisgrid.analytics.report import sizing_report

    version, window, rows = _run(
        lambda c: sizing_report(c, scope=scope, code=code, since=_time(since), until=_time(until))
    )
    header = [
        "zone",
        "name",
        "station",
        "kind",
        "has_office",
        "households",
        "population",
        "incidents",
        "community_officers",
        "workload",
        "incident_rate",
        "population_class",
        "incident_rate_class",
        "zone_class",
        "recommended_officers",
        "policy_version",
        "since",
        "until",
    ]
    _emit(
        header,
        [
            [
                r.code,
                r.name,
                r.station,
                r.kind,
                r.has_office,
                r.households,
                r.population,
                r.incidents,
                r.community_officers,
                round(r.sizing.workload, 6),
                round(r.sizing.incident_rate, 6),
                r.sizing.population_class,
                r.sizing.incident_rate_class,
                r.sizing.zone_class,
                r.sizing.recommended_officers,
                version,
                window.since.isoformat(),
                window.until.isoformat(),
            ]
            for r in rows
        ],
        csv_path,
        f"sizing (policy v{version})",
    )


@app.command("compliance")
def compliance_cmd(
    station: str = typer.Option(None, help="one station's code (default all)"), csv_path: Path = CsvOpt
) -> None:
    """Every breach of a staffing norm, with its rule."""
    from jurisgrid.analytics.compliance import compliance

    version, breaches = _run(lambda c: compliance(c, station=station))
    _emit(
        ["rule", "level", "code", "name", "station", "value", "limit", "message", "policy_version"],
        [
            [b.rule, b.level, b.code, b.name, b.station, b.value, b.limit, b.message, version]
            for b in breaches
        ],
        csv_path,
        f"compliance (policy v{version}): {len(breaches)} breaches",
    )


@app.command("balance")
def balance_cmd(
    scope: str = typer.Option(..., help="station, sector or county"),
    code: str = typer.Option(..., help="its code"),
    measure: str = typer.Option("population", help="population or workload"),
    since: str = SinceOpt,
    until: str = UntilOpt,
    csv_path: Path = CsvOpt,
) -> None:
    """Balance of a measure across the zones of a scope (summary row, then one row per zone)."""
    from jurisgrid.analytics.report import balance_report

    b = _run(
        lambda c: balance_report(
            c, scope=scope, code=code, measure=measure, since=_time(since), until=_time(until)
        )
    )
    rows: list[list[Any]] = [
        ["(summary)", b.total, b.ideal, b.worst_deviation, b.worst_relative, b.range_over_ideal, b.cv]
    ]
    rows += [[z, v, b.ideal, v - b.ideal, None, None, None] for z, v in b.values.items()]
    _emit(
        [
            "zone",
            "value",
            "ideal",
            "deviation",
            "worst_relative_deviation",
            "range_over_ideal",
            "coefficient_of_variation",
        ],
        rows,
        csv_path,
        f"balance of {measure} over {scope} {code}",
    )


def seed_sf_cmd(seed: int = typer.Option(0, help="random seed for the incident points")) -> None:
    """Load the real San Francisco block groups (population, crime counts) into an empty database."""
    import time

    from jurisgrid.models.migrate import upgrade
    from jurisgrid.seed.sf import load_sf

    eng = engine()
    upgrade(eng)
    t0 = time.perf_counter()
    try:
        counts = load_sf(eng, seed=seed)
    except RuntimeError as exc:
        fail(f"{exc} (use a fresh database, e.g. JURISGRID_DB_NAME=jurisgrid_sf)")
    console.print(
        f"loaded San Francisco in {time.perf_counter() - t0:.1f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
    )
