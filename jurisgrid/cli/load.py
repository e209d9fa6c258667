"""``jurisgrid load DIR|FILE.gpkg``: load whole counties from a bureau's files (jurisgrid/onboard)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from jurisgrid.auth.principal import Principal, Role
from jurisgrid.cli.console import console, refuse
from jurisgrid.cli.console import engine as _engine
from jurisgrid.errors import JurisgridError

MAX_LISTED = 200
LABELS = {
    "read": "reading files",
    "build": "checking, deriving, repairing",
    "write": "writing (one transaction)",
}


def _print_report(report: object, *, refused: bool) -> None:
    from jurisgrid.onboard.plan import Report

    assert isinstance(report, Report)
    if report.sources:
        t = Table("kind", "source", "crs", "columns", title="sources")
        for kind, src in report.sources.items():
            cols = ", ".join(f"{f}←{c}" for f, c in report.columns.get(kind, {}).items())
            t.add_row(kind, src, report.crs.get(kind, ""), cols)
        console.print(t)
    for d in report.derived:
        console.print(f"[cyan]derived:[/cyan] {d}")
    if report.repairs:
        t = Table(
            "layer", "repair", "units", "gained by", "m²", "where", title=f"{len(report.repairs)} repair(s)"
        )
        for r in report.repairs[:MAX_LISTED]:
            where = f"{r['lon']:.6f}, {r['lat']:.6f}" if r.get("lon") is not None else "—"
            t.add_row(
                r["layer"],
                r["kind"],
                ", ".join(r["units"]),
                str(r.get("gainedBy") or "—"),
                f"{r['areaM2']:.2f}",
                where,
            )
        console.print(t)
        if len(report.repairs) > MAX_LISTED:
            console.print(f"… and {len(report.repairs) - MAX_LISTED} more (all in --report FILE)")
    for u in report.unknown_categories:
        console.print(
            f"[yellow]unknown incident category[/yellow] {u['category']!r} in {u['file']}: "
            f"{u['count']} incident(s), {u['action']}"
        )
    if report.bad:
        t = Table("file", "feature", "code", "field", "reason", title=f"{len(report.bad)} problem(s)")
        for b in report.bad[:MAX_LISTED]:
            t.add_row(
                b.source, "—" if b.index is None else str(b.index), b.code or "—", b.field or "—", b.reason
            )
        console.print(t)
        if len(report.bad) > MAX_LISTED:
            console.print(f"… and {len(report.bad) - MAX_LISTED} more (all in --report FILE)")
    if not refused and report.counts:
        console.print(", ".join(f"{k} {v:,}" for k, v in report.counts.items() if v))


def load_cmd(
    source: Path = typer.Argument(
        ..., help="a directory of files (grids.shp, 网格.xlsx …) or one GeoPackage"
    ),
    manifest: Path | None = typer.Option(
        None, help="TOML manifest: files, layers, columns, crs (default: SOURCE/manifest.toml when present)"
    ),
    crs: str | None = typer.Option(
        None,
        help="the files' coordinate system when they declare none: "
        "EPSG:4545 (any EPSG), WGS84, CGCS2000, GCJ02, BD09",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="check, repair and write in a transaction that is rolled back"
    ),
    strict: bool = typer.Option(
        False, "--strict", help="refuse any overlap, gap or sliver instead of repairing it"
    ),
    tolerance_m: float | None = typer.Option(
        None, "--tolerance-m", help="snapping distance and sliver width in metres (default 0.5)"
    ),
    report_file: Path | None = typer.Option(None, "--report", help="write the report as JSON to this file"),
    actor: str = typer.Option("cli", help="who, on the load's revision (acts as the local admin)"),
    reason: str | None = typer.Option(None, help="why, on the load's revision"),
) -> None:
    """Load whole counties from files: outline, townships, communities, sectors, stations, zones,
    grids, address points, incidents, persons and assignments — all or nothing."""
    from jurisgrid.models.migrate import upgrade
    from jurisgrid.onboard.pipeline import LoadRefused, load_jurisdiction

    engine = _engine()
    upgrade(engine)
    report = None
    refused: str | None = None
    try:
        with Progress(
            TextColumn("{task.description:<30}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(LABELS.get(stage, stage), total=max(total, 1))
                bar.update(tasks[stage], completed=done, total=max(total, 1))

            report = load_jurisdiction(
                engine,
                source,
                manifest_path=manifest,
                crs=crs,
                dry_run=dry_run,
                strict=strict,
                tolerance_m=tolerance_m,
                progress=progress,
                principal=Principal(actor=actor, role=Role.ADMIN, station_code=None),
                reason=reason,
            )
    except LoadRefused as exc:
        report, refused = exc.report, exc.message
    except JurisgridError as exc:
        if exc.details:
            console.print(exc.details)
        refuse(f"{exc.message} — nothing was written")
    assert report is not None
    _print_report(report, refused=refused is not None)
    if report_file is not None:
        report_file.write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
        console.print(f"report written to {report_file}")
    if refused is not None:
        refuse(refused)
    verb = "checked (dry run: rolled back)" if dry_run else "loaded"
    groups: dict[str, float] = {}
    for stage, sec in report.stage_seconds.items():
        head = stage.split(":")[0].split(" ")[0]
        groups[head] = groups.get(head, 0.0) + sec
    console.print("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in groups.items()))
    rev = f" as revision {report.revision}" if report.revision is not None else ""
    console.print(f"{verb} {source}{rev} in {report.seconds:.1f} s")
