"""Import a file into the database, or export a layer to a file (the CLI's entry points).

Import reads the whole file, checks every feature, and refuses the lot — listing every bad
feature by index and reason — unless ``partial`` is set (points only). Loading is one
transaction; ``dry_run`` rolls it back after the checks a real import makes (for grids: the
revision's invariant checks included).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import shapely
from sqlalchemy import Engine

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import Crs, FileCrs
from jurisgrid.io.formats import FeatureProblem, read_layer, write_layer
from jurisgrid.io.kinds import EXPORT_FIELDS, IMPORT_KINDS, POINT_KINDS, check
from jurisgrid.io.load import SQL, LoadResult, NothingChanged, load_grids, load_points, load_refs

# progress(stage, advance, total): stage is "read", "check", "load" or "write"
Progress = Callable[[str, int, int], None]


class ImportRefused(InvalidInput):
    """Bad features: ``details`` lists every one as {index, field, code, reason}."""


@dataclass
class ImportReport:
    kind: str
    total: int
    result: LoadResult | None = None
    problems: list[FeatureProblem] = field(default_factory=list)
    nothing_changed: bool = False
    dry_run: bool = False
    # incidents: unknown category values → how many features (listed, never dropped silently)
    unknown_categories: dict[str, int] = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        return len({p.index for p in self.problems})


def _noop(stage: str, advance: int, total: int) -> None:
    return None


def import_file(engine: Engine, kind: str, path: Path, *, crs: FileCrs | None = None, partial: bool = False,
                dry_run: bool = False, actor: str = "import", reason: str | None = None,
                expected_revision: int | None = None, progress: Progress = _noop) -> ImportReport:
    if kind not in IMPORT_KINDS:
        raise InvalidInput(f"cannot import {kind!r}; importable: {', '.join(IMPORT_KINDS)}")
    if partial and kind == "grids":
        raise InvalidInput("--partial is not available for grids: the layer is loaded whole or not at all")
    progress("read", 0, 1)
    layer = read_layer(path, points=kind in POINT_KINDS, crs=crs)
    progress("read", 1, 1)
    with engine.connect() as conn:
        refs = load_refs(conn)
    checked = check(kind, layer, refs, progress=lambda n: progress("check", n, len(layer)))
    report = ImportReport(kind, len(layer), problems=checked.problems, dry_run=dry_run,
                          unknown_categories=checked.unknown_categories)
    if checked.problems and not partial:
        unknown = ", ".join(f"{c} ({n})" for c, n in checked.unknown_categories.items())
        raise ImportRefused(f"{path.name}: {report.skipped} of {len(layer)} features are bad; nothing was "
                            "imported" + (f"; unknown incident categories: {unknown} — map them with "
                                          "jurisgrid categories map" if unknown else ""),
                            details=[p.as_dict() for p in checked.problems])
    n = len(checked.records)
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            if kind == "grids":
                report.result = load_grids(conn, checked.records, actor=actor, reason=reason,
                                           expected_revision=expected_revision,
                                           progress=lambda k: progress("load", k, n))
            else:
                report.result = load_points(conn, kind, checked.records,
                                            progress=lambda k: progress("load", k, n))
        except NothingChanged:
            trans.rollback()
            report.nothing_changed = True
            report.result = LoadResult(unchanged=n)
            return report
        except BaseException:
            trans.rollback()
            raise
        if dry_run:
            trans.rollback()
        else:
            trans.commit()
    return report


def export_layer(engine: Engine, layer: str, path: Path, *, crs: FileCrs | None = None,
                 progress: Progress = _noop) -> int:
    """Write one layer to ``path`` (format from the suffix); returns the number of features."""
    if layer not in EXPORT_FIELDS:
        raise InvalidInput(f"cannot export {layer!r}; exportable: {', '.join(EXPORT_FIELDS)}")
    progress("read", 0, 1)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(SQL[f"export_{layer}"]).mappings().all()
    progress("read", 1, 1)
    fields = EXPORT_FIELDS[layer]
    columns = {f: [r[f] for r in rows] for f in fields}
    geoms = list(shapely.from_wkb([bytes(r["wkb"]) if r["wkb"] is not None else None for r in rows]))
    progress("write", 0, len(rows))
    write_layer(path, columns=columns, geoms=geoms, layer=layer, crs=crs or Crs.WGS84,
                geometry_type="Point" if layer in POINT_KINDS else "MultiPolygon")
    progress("write", len(rows), len(rows))
    return len(rows)
