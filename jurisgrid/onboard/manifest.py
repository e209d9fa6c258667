"""The load manifest (TOML) and finding a file set's files without one.

A manifest is optional. Every key is optional too; unknown keys are refused (a typo should not
be silently ignored)::

    crs = "EPSG:4545"            # the files' coordinate system, unless a file declares its own
    tolerance_m = 0.5            # topology repair: snapping distance and sliver width
    time_zone = "Asia/Shanghai"  # naive incident times are local time here

    [county]                     # when there is no county file: its code and name
    code = "511725"
    name = "渠县"

    [grids]                      # one table per kind: file (relative to the manifest), layer,
    file = "wangge.shp"          # crs, sheet (Excel), encoding (a Shapefile without .cpg)
    encoding = "GBK"             # and columns (our field = their column)
    columns = { code = "WGBM", name = "WGMC", zone = "JWQ" }

    [incidents]
    file = "110.xlsx"
    unknown_categories = "add"   # "add" (default), "refuse", or a category code to map them to
    categories = { "盗窃" = "CRIMINAL", "噪音扰民" = "PUBLIC_ORDER" }
    new_categories = { THEFT_E = "电动车盗窃" }   # add these categories (code = name)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jurisgrid.errors import InvalidInput
from jurisgrid.onboard.columns import FIELDS, FILE_NAMES, KINDS, SUFFIXES, normalise

_TOP_KEYS = {"crs", "tolerance_m", "time_zone", "county", *KINDS}
_LAYER_KEYS = {"file", "layer", "crs", "sheet", "columns", "encoding"}
_INCIDENT_KEYS = {"categories", "new_categories", "unknown_categories"}


@dataclass
class LayerSpec:
    """Where one kind's features are: a file (and a layer of it, or an Excel sheet)."""

    kind: str
    path: Path
    layer: str | None = None
    sheet: str | None = None
    crs: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None  # a Shapefile's attribute encoding when it has no .cpg

    @property
    def label(self) -> str:
        """How the report names the source: ``file`` or ``file:layer``."""
        return f"{self.path.name}:{self.layer}" if self.layer else self.path.name


@dataclass
class Manifest:
    crs: str | None = None
    tolerance_m: float | None = None
    time_zone: str = "Asia/Shanghai"
    county: dict[str, str] = field(default_factory=dict)
    layers: dict[str, LayerSpec] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)  # local value → category code
    new_categories: dict[str, str] = field(default_factory=dict)  # code → name, to add
    unknown_categories: str = "add"


def _table(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidInput(f"manifest: {where} must be a table")
    return raw


def _str_map(raw: Any, where: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in _table(raw, where).items()}


def read_manifest(path: Path) -> Manifest:
    """Parse and check a manifest; file paths are relative to its directory."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"manifest {path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"manifest {path.name}: not valid TOML: {exc}") from None
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise InvalidInput(
            f"manifest {path.name}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"known: crs, tolerance_m, time_zone, county, {', '.join(KINDS)}"
        )
    m = Manifest(crs=raw.get("crs"), time_zone=str(raw.get("time_zone", "Asia/Shanghai")))
    if "tolerance_m" in raw:
        tol = raw["tolerance_m"]
        if not isinstance(tol, (int, float)) or tol < 0:
            raise InvalidInput(f"manifest {path.name}: tolerance_m must be a number ≥ 0")
        m.tolerance_m = float(tol)
    m.county = _str_map(raw.get("county", {}), "[county]")
    for kind in KINDS:
        if kind not in raw:
            continue
        t = _table(raw[kind], f"[{kind}]")
        allowed = _LAYER_KEYS | (_INCIDENT_KEYS if kind == "incidents" else set())
        bad = set(t) - allowed
        if bad:
            raise InvalidInput(
                f"manifest {path.name}: [{kind}] has unknown key(s) {', '.join(sorted(bad))}; "
                f"known: {', '.join(sorted(allowed))}"
            )
        columns = _str_map(t.get("columns", {}), f"[{kind}].columns")
        extra = set(columns) - set(FIELDS[kind])
        if extra:
            raise InvalidInput(
                f"manifest {path.name}: [{kind}].columns names unknown field(s) "
                f"{', '.join(sorted(extra))}; {kind} has: {', '.join(FIELDS[kind])}"
            )
        if "file" in t:
            m.layers[kind] = LayerSpec(
                kind,
                (path.parent / str(t["file"])).resolve(),
                layer=t.get("layer"),
                sheet=t.get("sheet"),
                crs=t.get("crs"),
                columns=columns,
                encoding=t.get("encoding"),
            )
        elif columns or {"layer", "crs", "sheet", "encoding"} & set(t):
            m.layers[kind] = LayerSpec(
                kind,
                Path(),
                layer=t.get("layer"),
                sheet=t.get("sheet"),
                crs=t.get("crs"),
                columns=columns,
                encoding=t.get("encoding"),
            )
        if kind == "incidents":
            m.categories = _str_map(t.get("categories", {}), "[incidents].categories")
            m.new_categories = _str_map(t.get("new_categories", {}), "[incidents].new_categories")
            m.unknown_categories = str(t.get("unknown_categories", "add"))
    return m


def _gpkg_layers(path: Path) -> list[str]:
    import pyogrio

    try:
        return [str(r[0]) for r in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises several DataSource errors; all mean "unreadable"
        raise InvalidInput(f"{path.name}: cannot read it as a GeoPackage: {exc}") from None


def _kind_of(stem: str) -> str | None:
    n = normalise(stem)
    for kind in KINDS:
        if n in (normalise(x) for x in FILE_NAMES[kind]):
            return kind
    return None


def discover(source: Path, manifest: Manifest) -> dict[str, LayerSpec]:
    """Every kind's source: the manifest's, else found by name in ``source`` (a directory or a
    GeoPackage). Files of unknown names are ignored; two files for one kind are refused."""
    found: dict[str, LayerSpec] = {}
    if not source.exists():
        raise InvalidInput(f"{source}: no such file or directory")
    if source.is_file():
        if source.suffix.lower() != ".gpkg":
            raise InvalidInput(f"{source.name}: give a directory of files or one GeoPackage (.gpkg)")
        for layer in _gpkg_layers(source):
            kind = _kind_of(layer)
            if kind is not None:
                found[kind] = LayerSpec(kind, source, layer=layer)
    else:
        for f in sorted(source.iterdir()):
            if f.suffix.lower() not in SUFFIXES or not f.is_file():
                continue
            if f.suffix.lower() == ".gpkg" and _kind_of(f.stem) is None:
                for layer in _gpkg_layers(f):  # a GeoPackage of several kinds, in a directory
                    kind = _kind_of(layer)
                    if kind is not None:
                        _add(found, LayerSpec(kind, f, layer=layer))
                continue
            kind = _kind_of(f.stem)
            if kind is not None:
                _add(found, LayerSpec(kind, f))
    for kind, spec in manifest.layers.items():
        base = found.get(kind)
        if spec.path == Path():  # columns (or crs) only: keep the file found by name
            if base is None:
                raise InvalidInput(
                    f"manifest: [{kind}] gives no file and none was found by name "
                    f"(expected e.g. {FILE_NAMES[kind][0]}.shp)"
                )
            base.columns, base.crs = spec.columns, spec.crs or base.crs
            base.sheet = spec.sheet or base.sheet
            base.encoding = spec.encoding or base.encoding
            continue
        if not spec.path.exists():
            raise InvalidInput(f"manifest: [{kind}] file {spec.path} does not exist")
        found[kind] = spec
    return found


def _add(found: dict[str, LayerSpec], spec: LayerSpec) -> None:
    if spec.kind in found:
        raise InvalidInput(
            f"two sources for {spec.kind}: {found[spec.kind].label} and {spec.label}; "
            "keep one, or name the one to use in a manifest"
        )
    found[spec.kind] = spec
