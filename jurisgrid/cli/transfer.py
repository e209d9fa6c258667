"""``jurisgrid import grids|addresses|incidents FILE`` and ``jurisgrid export LAYER FILE``.

Formats by suffix: .geojson/.json, .gpkg, .shp, .csv (lon/lat columns for points, a wkt column
for areas). ``--crs`` says which coordinate system the file's numbers are in (or are to be in).
"""

from __future__ import annotations

import getpass
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from jurisgrid.cli.console import Typer, console, refuse
from jurisgrid.cli.console import engine as _engine
from jurisgrid.errors import JurisgridError
from jurisgrid.geo.crs import FileCrs

import_app = Typer(help="Load a file: grids (one revision, invariants checked), addresses, incidents.",
                         no_args_is_help=True)
export_app = Typer(help="Write a layer to a file (GeoJSON, GeoPackage, Shapefile or CSV).",
                         no_args_is_help=True)

CRS_HELP = ("coordinate system of the file's numbers: WGS84, CGCS2000, GCJ02 (AMap/Tencent), BD09 (Baidu) "
            "or any EPSG code (EPSG:4545); on import, default: the file's own (.prj / SRS), else WGS84")
MAX_LISTED = 1_000


def _crs(value: str | None) -> FileCrs | None:
    from jurisgrid.geo.crs import parse_file_crs

    # an unknown one raises UnknownCrs: refused (exit 2) by the command's error mapping
    return None if value is None else parse_file_crs(value)


class _Bars:
    """Rich progress bars, one per stage, driven by the (stage, advance, total) callbacks."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}
        self.labels = {"read": "reading file", "check": "checking features", "load": "loading",
                       "write": "writing file"}

    def __call__(self, stage: str, advance: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(self.labels.get(stage, stage), total=max(total, 1))
        t = self.tasks[stage]
        self.progress.update(t, total=max(total, 1))
        if stage in ("read", "write"):
            self.progress.update(t, completed=advance)
        else:
            self.progress.advance(t, advance)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def _print_problems(details: list[dict[str, object]]) -> None:
    table = Table("feature", "code", "field", "reason", title=f"{len(details)} problem(s)")
    for d in details[:MAX_LISTED]:
        table.add_row(str(d["index"]), str(d.get("code") or "—"), str(d.get("field") or "—"),
                      str(d["reason"]))
    console.print(table)
    if len(details) > MAX_LISTED:
        console.print(f"… and {len(details) - MAX_LISTED} more (fix these first)")


def _import(kind: str, path: Path, crs: str | None, partial: bool, dry_run: bool, reason: str | None,
            actor: str | None, expected_revision: int | None = None) -> None:
    from jurisgrid.io.transfer import ImportRefused, import_file

    engine = _engine()
    try:
        with _progress() as bar:
            report = import_file(engine, kind, path, crs=_crs(crs), partial=partial, dry_run=dry_run,
                                 actor=actor or f"cli:{getpass.getuser()}", reason=reason,
                                 expected_revision=expected_revision, progress=_Bars(bar))
    except ImportRefused as exc:
        _print_problems(exc.details)
        refuse(exc)
    except JurisgridError as exc:
        if exc.details:
            console.print(exc.details)
        refuse(f"{exc.message} — nothing was imported")
    if report.problems:
        _print_problems([p.as_dict() for p in report.problems])
        console.print(f"[yellow]--partial:[/yellow] skipped {report.skipped} bad feature(s)")
    if report.unknown_categories:
        console.print("unknown incident categories: "
                      + ", ".join(f"{c} ({n})" for c, n in report.unknown_categories.items())
                      + " — map them: jurisgrid categories map LOCAL_CODE CATEGORY", markup=False)
    r = report.result
    assert r is not None
    verb = "would load" if dry_run else "loaded"
    if report.nothing_changed:
        console.print(f"{path.name}: {report.total} features, all identical to the database — nothing to do")
        return
    rev = f"; revision {r.revision}" if r.revision and not dry_run else ""
    console.print(f"{path.name}: {verb} {kind}: {r.inserted} new, {r.updated} updated, "
                  f"{r.unchanged} unchanged{rev}" + (" (dry run: rolled back)" if dry_run else ""))
    if r.summary:
        zones, stations = ", ".join(r.summary["zones"]) or "—", ", ".join(r.summary["stations"]) or "—"
        console.print(f"changed: {len(r.summary['grids'])} grids, zones {zones}, stations {stations}; "
                      f"{r.summary['addressPoints']} address points re-homed")


def _import_command(kind: str) -> None:
    def command(path: Path = typer.Argument(..., help="the file (.geojson, .gpkg, .shp, .csv)"),
                crs: str | None = typer.Option(None, help=CRS_HELP),
                partial: bool = typer.Option(False, help="load the good features, skip the bad ones"),
                dry_run: bool = typer.Option(False, "--dry-run", help="check everything, write nothing"),
                reason: str | None = typer.Option(None, help="why (recorded with the revision)"),
                actor: str | None = typer.Option(None, help="who (default cli:<user>)")) -> None:
        _import(kind, path, crs, partial, dry_run, reason, actor)

    command.__doc__ = {"grids": "Update grids by code (name, zone, geometry) and add new ones, as one "
                                "revision; refused if the result would leave a gap or an overlap.",
                       "addresses": "Add or update address points by code (grids are set automatically).",
                       "incidents": "Add or update incidents by code (grids are set automatically)."}[kind]
    import_app.command(kind)(command)


def _export_command(layer: str) -> None:
    def command(path: Path = typer.Argument(..., help="the file to write (.geojson, .gpkg, .shp, .csv)"),
                crs: str = typer.Option("WGS84", help=CRS_HELP)) -> None:
        from jurisgrid.io.transfer import export_layer

        engine = _engine()
        with _progress() as bar:
            n = export_layer(engine, layer, path, crs=_crs(crs), progress=_Bars(bar))
        console.print(f"wrote {n} {layer} to {path} ({getattr(_crs(crs), 'value', 'WGS84')})")

    command.__doc__ = f"Write the {layer} to a file."
    export_app.command(layer)(command)


for _kind in ("grids", "addresses", "incidents"):
    _import_command(_kind)
for _layer in ("grids", "zones", "stations", "communities", "townships", "addresses", "incidents"):
    _export_command(_layer)
