"""``jurisgrid load``: find the files, read them, build the plan, write it — all or nothing.

Steps: :func:`~jurisgrid.onboard.manifest.discover` the sources (manifest or names), read each
(:func:`~jurisgrid.onboard.readers.read_table`, in its coordinate system), build and repair
(:func:`~jurisgrid.onboard.build.build`), and — only when no feature is bad — write it in one
transaction (:func:`~jurisgrid.onboard.write.write_plan`). The :class:`Report` says what was
found, derived, repaired and refused; :class:`LoadRefused` carries it when nothing was written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from jurisgrid.auth.principal import Principal
from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import FileCrs, UnknownCrs, parse_file_crs
from jurisgrid.models import categories
from jurisgrid.onboard.build import build
from jurisgrid.onboard.columns import KINDS
from jurisgrid.onboard.manifest import Manifest, discover, read_manifest
from jurisgrid.onboard.plan import Bad, Report
from jurisgrid.onboard.readers import read_table
from jurisgrid.onboard.write import existing_counties, write_plan

DEFAULT_TOLERANCE_M = 0.5

# progress(stage, done, total): stages "read", "build", "write"
Progress = Callable[[str, int, int], None]


class LoadRefused(InvalidInput):
    """Bad features (or broken invariants): nothing was written; ``report`` says why."""

    def __init__(self, message: str, report: Report) -> None:
        super().__init__(message, details=[b.as_dict() for b in report.bad])
        self.report = report


def _crs(value: str | None, where: str) -> FileCrs | None:
    if value is None:
        return None
    try:
        return parse_file_crs(value)
    except UnknownCrs as exc:
        raise InvalidInput(f"{where}: {exc}") from None


def _categories(engine: Engine) -> dict[str, str]:
    """Codes, names and local 警情 codes → category (models/categories.py, as the import)."""
    with engine.connect() as conn:
        return categories.lookup(conn)


def load_jurisdiction(
    engine: Engine,
    source: Path,
    *,
    manifest_path: Path | None = None,
    crs: str | None = None,
    dry_run: bool = False,
    strict: bool = False,
    tolerance_m: float | None = None,
    progress: Progress = lambda s, d, t: None,
    principal: Principal | None = None,
    reason: str | None = None,
) -> Report:
    """Load the counties described by ``source`` (a directory of files or a GeoPackage).

    ``crs``: the files' coordinate system when they do not declare one (a manifest layer's own
    ``crs`` wins). The write is one revision of the ``loadJurisdiction`` edit operation, by
    ``principal`` (default: the local admin) with ``reason``. Raises :class:`LoadRefused`
    (with the report) when any feature is bad, and ``InvalidInput`` for a bad manifest, file
    or option.
    """
    t0 = time.perf_counter()
    clock = _StageClock(t0)
    manifest = read_manifest(manifest_path) if manifest_path is not None else Manifest()
    if manifest_path is None and source.is_dir() and (source / "manifest.toml").exists():
        manifest = read_manifest(source / "manifest.toml")
    tol = tolerance_m if tolerance_m is not None else manifest.tolerance_m
    tol = DEFAULT_TOLERANCE_M if tol is None else tol
    if not tol >= 0:
        raise InvalidInput(f"--tolerance-m must be ≥ 0, got {tol}")
    report = Report(source=str(source), tolerance_m=tol, strict=strict, dry_run=dry_run,
                    stage_seconds=clock.seconds)
    default_crs = _crs(crs, "--crs") or _crs(manifest.crs, "manifest crs")
    specs = discover(source, manifest)
    if not specs:
        raise InvalidInput(
            f"{source}: found no file of a known name (e.g. grids.shp, 网格.gpkg, stations.csv); "
            "name the files in a manifest (--manifest)"
        )
    tables = {}
    kinds = [k for k in KINDS if k in specs]
    for n, kind in enumerate(kinds):
        spec = specs[kind]
        progress("read", n, len(kinds))
        clock.start(f"read {kind}")
        table = read_table(spec, _crs(spec.crs, f"manifest [{kind}] crs") or default_crs)
        tables[kind] = table
        report.sources[kind] = spec.label
        report.columns[kind] = dict(table.columns)
        report.crs[kind] = table.crs.value if table.crs is not None else "WGS84"
    progress("read", len(kinds), len(kinds))
    stages = ["administrative units", "policing units", "grids", "points and personnel"]

    def on_build(stage: str) -> None:
        clock.start(f"build: {stage}")
        progress("build", stages.index(stage) if stage in stages else 0, len(stages))

    plan = build(
        tables,
        manifest,
        categories=_categories(engine),
        tolerance_m=tol,
        strict=strict,
        report=report,
        now=datetime.now(UTC),
        step=on_build,
    )
    progress("build", len(stages), len(stages))
    clock.start("checking the database")
    report.counts = plan.counts()
    taken = existing_counties(engine, [c.code for c in plan.counties])
    if taken:
        report.bad.append(_taken(taken))
    if report.bad:
        clock.stop()
        report.seconds = time.perf_counter() - t0
        n_feat = len({(b.source, b.index) for b in report.bad})
        raise LoadRefused(f"{n_feat} bad feature(s) or problem(s); nothing was written", report)
    wstages = [
        "counties, sectors, townships, communities",
        "stations, zones, grids",
        "address points",
        "incidents",
        "personnel",
        "zone and station outlines",
        "checking invariants",
        "closing the revision",
    ]

    def on_write(stage: str) -> None:
        clock.start(f"write: {stage}")
        progress("write", wstages.index(stage) if stage in wstages else 0, len(wstages))

    report.counts, report.revision = write_plan(engine, plan, repairs=report.repairs, dry_run=dry_run,
                                                step=on_write, principal=principal, reason=reason)
    clock.stop()
    progress("write", len(wstages), len(wstages))
    report.written = not dry_run
    report.seconds = time.perf_counter() - t0
    return report


class _StageClock:
    """Seconds per stage for the report: each ``start`` ends the stage before it."""

    def __init__(self, t0: float) -> None:
        self.seconds: dict[str, float] = {}
        self._stage: str | None = None
        self._t = t0

    def start(self, stage: str | None) -> None:
        now = time.perf_counter()
        if self._stage is not None:
            self.seconds[self._stage] = self.seconds.get(self._stage, 0.0) + now - self._t
        self._stage, self._t = stage, now

    def stop(self) -> None:
        self.start(None)


def _taken(codes: list[str]) -> Bad:
    return Bad("counties", None, f"the database already holds county {', '.join(codes)}", "code", codes[0])
