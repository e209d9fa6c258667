"""Reading one kind's source — a spatial layer, a CSV or an Excel sheet — into a :class:`Table`.

Spatial formats (GeoPackage, Shapefile, GeoJSON) go through :func:`jurisgrid.io.formats.read_layer`
(pyogrio/GDAL, the file's own CRS from its ``.prj`` or SRS). CSV and Excel are tables: a
geometry comes from lon/lat (经度/纬度, x/y) columns or a WKT column when there are any. CSV is
read as UTF-8 (with or without BOM), falling back to GB18030 — what Excel on a Chinese Windows
writes. Excel cells keep their types (numbers, dates); a whole-number float such as a code typed
as a number is read as its digits.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import Crs, FileCrs
from jurisgrid.io.formats import (
    FeatureProblem,
    Format,
    Layer,
    control_character,
    read_layer,
    to_wgs84_layer,
)
from jurisgrid.onboard.columns import detect
from jurisgrid.onboard.manifest import LayerSpec


@dataclass
class Table:
    """One kind's features: rows by the file's headers, geometries in WGS84 (or None), the
    problems found while reading, and the detected ``columns`` (our field → their header)."""

    spec: LayerSpec
    headers: list[str]
    rows: list[dict[str, Any]]
    geoms: list[BaseGeometry | None]
    problems: list[FeatureProblem] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    crs: FileCrs | None = None
    _flagged: set[tuple[int, str]] = field(default_factory=set)  # (row, field) with a control char

    def __len__(self) -> int:
        return len(self.rows)

    def has(self, f: str) -> bool:
        return f in self.columns

    def value(self, i: int, f: str) -> Any:
        col = self.columns.get(f)
        return None if col is None else self.rows[i].get(col)

    def text(self, i: int, f: str) -> str | None:
        """The field as text (None when empty); whole-number floats lose their ``.0``."""
        v = self.value(i, f)
        if v is None:
            return None
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        s = str(v).strip()
        bad = control_character(s) if s else None
        if bad is not None and (i, f) not in self._flagged:
            self._flagged.add((i, f))
            self.problems.append(FeatureProblem(i, f"{f} contains the control character {bad}", f))
        return s or None


def read_table(spec: LayerSpec, crs: FileCrs | None) -> Table:
    """Read ``spec``'s features; ``crs``: the coordinate system its numbers are in (None: the
    file's own declaration, else WGS84)."""
    suffix = spec.path.suffix.lower()
    if suffix in (".csv", ".xlsx"):
        headers, rows = _read_csv(spec) if suffix == ".csv" else _read_xlsx(spec)
        table = Table(spec, headers, rows, [None] * len(rows))
        table.columns = detect(spec.kind, headers, spec.columns)
        _check_columns(table)
        _table_geometries(table)
        table.crs = crs or _default_crs()
        to_wgs84_layer(Layer(table.rows, table.geoms, table.problems), table.crs)
        return table
    Format.of(spec.path)  # a clear error for an unknown suffix
    layer = read_layer(spec.path, points=False, crs=crs, layer=spec.layer, encoding=spec.encoding)
    headers = list(layer.rows[0]) if layer.rows else []
    table = Table(spec, headers, layer.rows, layer.geoms, layer.problems, crs=layer.crs)
    given = {f: c.lower() for f, c in spec.columns.items()}  # read_layer lower-cases names
    table.columns = detect(spec.kind, headers, given)
    _check_columns(table)
    return table


def _default_crs() -> FileCrs:
    return Crs.WGS84


def _check_columns(table: Table) -> None:
    missing = [
        f"{f} → {c!r}"
        for f, c in table.spec.columns.items()
        if table.rows and c not in table.rows[0] and c.lower() not in table.rows[0]
    ]
    if missing:
        raise InvalidInput(
            f"{table.spec.label}: the manifest names column(s) the file does not have: "
            f"{', '.join(missing)}; its columns: {', '.join(table.headers)}"
        )


def _read_csv(spec: LayerSpec) -> tuple[list[str], list[dict[str, Any]]]:
    raw = spec.path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise InvalidInput(f"{spec.label}: neither UTF-8 nor GB18030 text")
    reader = csv.reader(io.StringIO(text))
    try:
        headers = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InvalidInput(f"{spec.label}: the file is empty") from None
    rows = []
    for rec in reader:
        if not any(c.strip() for c in rec):
            continue
        rows.append({h: (v.strip() or None) for h, v in zip(headers, rec, strict=False)})
    return headers, rows


def _read_xlsx(spec: LayerSpec) -> tuple[list[str], list[dict[str, Any]]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(spec.path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise InvalidInput(f"{spec.label}: cannot read it as an Excel workbook: {exc}") from None
    try:
        if spec.sheet is not None and spec.sheet not in wb.sheetnames:
            raise InvalidInput(f"{spec.label}: no sheet {spec.sheet!r}; sheets: {', '.join(wb.sheetnames)}")
        ws = wb[spec.sheet] if spec.sheet is not None else wb.worksheets[0]
        records = [rec for rec in ws.iter_rows(values_only=True)
                   if any(v is not None and str(v).strip() for v in rec)]
        at = _header_row(spec.kind, records)
        headers = [str(v).strip() if v is not None else f"column{n + 1}" for n, v in enumerate(records[at])] \
            if records else []
        rows = [{h: _cell(v) for h, v in zip(headers, rec, strict=False)} for rec in records[at + 1:]]
        return headers, rows
    finally:
        wb.close()


def _header_row(kind: str, records: list[tuple[Any, ...]]) -> int:
    """The header: the first of the first ten non-empty rows in which two or more of the kind's
    fields are recognised (a sheet often starts with a merged title row, 「XX派出所民警名单」),
    else the first non-empty row."""
    for n, rec in enumerate(records[:10]):
        names = [str(v).strip() for v in rec if v is not None and str(v).strip()]
        if len(detect(kind, names)) >= 2:
            return n
    return 0


def _cell(v: Any) -> Any:
    if isinstance(v, str):
        return v.strip() or None
    if isinstance(v, datetime):
        return v
    return v


def _table_geometries(table: Table) -> None:
    lon, lat, wkt = (table.columns.get(f) for f in ("lon", "lat", "wkt"))
    if lon and lat:
        for i, row in enumerate(table.rows):
            x, y = row.get(lon), row.get(lat)
            if x is None and y is None:
                continue
            try:
                table.geoms[i] = shapely.Point(float(x), float(y))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                table.problems.append(
                    FeatureProblem(i, f"{lon}/{lat} {x!r}, {y!r} are not numbers", "lon/lat")
                )
        return
    if wkt is None:
        wkt = next((h for h in table.headers if h.lower() in ("wkt", "geometry", "geom")), None)
    if wkt:
        for i, row in enumerate(table.rows):
            if row.get(wkt) is None:
                continue
            try:
                table.geoms[i] = shapely.from_wkt(row[wkt])
            except (shapely.errors.GEOSException, TypeError) as exc:
                table.problems.append(FeatureProblem(i, f"unreadable WKT: {exc}", wkt))
