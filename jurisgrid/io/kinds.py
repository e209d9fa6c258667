"""What each kind of feature holds in a file, and the validation of one imported feature.

Field names are at most 10 characters (Shapefile) and shared by all formats. Validation is
pure: the database's reference data (county outline, known codes, incident categories) comes in
as :class:`Refs`. Every problem of every feature is collected — an import reports them all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from jurisgrid import codes
from jurisgrid.geo.crs import Crs
from jurisgrid.geo.validate import GeometryProblem, area_m2, recover_lattice, validate_area
from jurisgrid.io.formats import FeatureProblem, Layer, control_character

# naive times in a file are local time in China (UTC+8); times with an offset keep it
LOCAL_TZ = timezone(timedelta(hours=8))
OUTSIDE_TOLERANCE_M2 = 0.01

# export fields per layer (in file order); import reads the ones marked in IMPORT_FIELDS
EXPORT_FIELDS: dict[str, tuple[str, ...]] = {
    "grids": ("code", "name", "community", "zone", "station"),
    "zones": ("code", "name", "kind", "office", "station"),
    "stations": ("code", "name", "kind", "sector", "address", "phone"),
    "communities": ("code", "name", "kind", "township"),
    "townships": ("code", "name", "kind"),
    "addresses": ("code", "address", "households", "population", "houses", "units", "grid"),
    "incidents": ("code", "category", "occurred", "grid"),
}
POINT_KINDS = ("addresses", "incidents")
IMPORT_KINDS = ("grids", "addresses", "incidents")


@dataclass
class Refs:
    """Reference data from the database that validation checks against."""

    county: BaseGeometry
    zones: set[str] = field(default_factory=set)
    communities: set[str] = field(default_factory=set)
    categories: dict[str, str] = field(default_factory=dict)   # code or name (any case) -> code
    max_vertices: int = 100_000
    # the deployment's code formats by kind (jurisgrid/codes.py; EditSettings)
    code_formats: dict[str, str] = field(default_factory=lambda: dict(codes.DEFAULTS))

    def __post_init__(self) -> None:
        shapely.prepare(self.county)


@dataclass
class Checked:
    """The good records (ready to load) and every problem found."""

    records: list[dict[str, Any]]
    problems: list[FeatureProblem]
    total: int
    # incidents: each category value no category, name or local code matches → features
    unknown_categories: dict[str, int] = field(default_factory=dict)

    @property
    def bad_indexes(self) -> set[int]:
        return {p.index for p in self.problems}


class _Row:
    """Field access for one feature that records problems instead of raising."""

    def __init__(self, index: int, row: dict[str, Any], problems: list[FeatureProblem]) -> None:
        self.index, self.row, self.problems = index, row, problems
        self.code: str | None = None
        self.ok = True

    def fail(self, name: str | None, reason: str) -> None:
        self.ok = False
        self.problems.append(FeatureProblem(self.index, reason, name, self.code))

    def text(self, name: str, *, required: bool = True) -> str | None:
        v = self.row.get(name)
        s = "" if v is None else str(v).strip()
        if not s:
            if required:
                self.fail(name, f"{name} is missing")
            return None
        bad = control_character(s)
        if bad is not None:
            self.fail(name, f"{name} contains the control character {bad}")
        return s

    def count(self, name: str, *, required: bool = True) -> int:
        v = self.row.get(name)
        if v is None or (isinstance(v, str) and not v.strip()):
            if required:
                self.fail(name, f"{name} is missing")
            return 0
        try:
            f = float(v)
        except (TypeError, ValueError):
            self.fail(name, f"{name} {v!r} is not a number")
            return 0
        if not f.is_integer() or f < 0:
            self.fail(name, f"{name} {v!r} must be a whole number ≥ 0")
            return 0
        return int(f)


def check(kind: str, layer: Layer, refs: Refs, *, progress: Callable[[int], None] | None = None) -> Checked:
    """Validate every feature of ``layer`` as ``kind``; problems from reading count as well."""
    problems = list(layer.problems)
    unreadable = {p.index for p in problems}
    seen: dict[str, int] = {}
    unknown: dict[str, int] = {}
    records: list[dict[str, Any]] = []
    one = {"grids": _grid, "addresses": _address, "incidents": _incident}[kind]
    inside = _inside_county(kind, layer, refs)
    for i, (row, geom) in enumerate(zip(layer.rows, layer.geoms, strict=True)):
        r = _Row(i, row, problems)
        r.code = r.text("code")
        if r.code is not None:
            if r.code in seen:
                r.fail("code", f"duplicate code {r.code} (also feature {seen[r.code]})")
            else:
                seen[r.code] = i
        rec = one(r, refs)
        raw = rec.pop("unknown_category", None)
        if raw is not None:
            unknown[raw] = unknown.get(raw, 0) + 1
        if i in unreadable:
            r.ok = False
        elif geom is None:
            r.fail("geometry", "no geometry")
        else:
            rec["geom"] = _geometry(kind, r, geom, refs, inside[i])
        if r.ok:
            rec["code"] = r.code
            records.append(rec)
        if progress is not None and i % 1000 == 999:
            progress(1000)
    if progress is not None:
        progress(len(layer) % 1000)
    problems.sort(key=lambda p: p.index)
    return Checked(records, problems, len(layer), dict(sorted(unknown.items())))


def _inside_county(kind: str, layer: Layer, refs: Refs) -> list[bool]:
    if kind not in POINT_KINDS:
        return [True] * len(layer)
    xy = np.array([(g.x, g.y) if g is not None and g.geom_type == "Point" and not g.is_empty
                   else (np.nan, np.nan) for g in layer.geoms], dtype=float).reshape(-1, 2)
    ok = shapely.intersects_xy(refs.county, xy[:, 0], xy[:, 1]) if len(xy) else np.array([], dtype=bool)
    return [bool(v) for v in ok]


def _geometry(kind: str, r: _Row, geom: BaseGeometry, refs: Refs, inside: bool) -> BaseGeometry | None:
    if kind in POINT_KINDS:
        if geom.geom_type != "Point" or geom.is_empty:
            r.fail("geometry", f"expected a Point, got {geom.geom_type}")
            return None
        if not inside:
            r.fail("geometry", f"the point ({geom.x:.6f}, {geom.y:.6f}) lies outside the county "
                               "(wrong coordinate system, or lon/lat swapped?)")
            return None
        return geom
    try:
        obj = json.loads(shapely.to_geojson(geom))   # plain lists, as validate_area expects
        # the file's vertices as they are: snapping off-lattice shapes (SF) moves shared and
        # county edges, so an export → import would be an edit of itself (issue 11 §3)
        # (but coordinates within 1e-10° of the lattice go back on it: a lattice shape written
        # through GCJ-02/BD-09 or a projection returns within ~1e-12°)
        area = recover_lattice(validate_area(obj, crs=Crs.WGS84, max_vertices=refs.max_vertices,
                                             snap=False).geom)
    except GeometryProblem as exc:
        r.fail("geometry", str(exc))
        return None
    outside = area_m2(area.difference(refs.county)) if not refs.county.covers(area) else 0.0
    if outside > OUTSIDE_TOLERANCE_M2:
        r.fail("geometry", f"{outside:.1f} m² of the grid lie outside the county")
        return None
    return area


def _grid(r: _Row, refs: Refs) -> dict[str, Any]:
    name, zone, community = r.text("name"), r.text("zone"), r.text("community", required=False)
    fmts = refs.code_formats
    fmt = fmts.get("grid", "")
    if r.code is not None:  # the deployment's grid code format (jurisgrid/codes.py)
        carried = codes.parent_of("grid", r.code, fmts)
        if community is not None and carried is not None and community != carried:
            r.fail("community", f"community {community} does not match the grid code {r.code} "
                                f"(it carries {carried})")
        community = community or carried
        if community is None and "{community}" in fmt:
            r.fail("code", f"grid code {r.code!r} does not have the format {fmt} (a community code, "
                           f"then the grid's own part: {codes.expanded('grid', fmts)})")
        else:
            why = codes.problem("grid", r.code, fmt, community=community)
            if why is not None:
                r.fail("code", why)
    if community is None:
        if r.code is not None and "{community}" not in fmt:
            r.fail("community", "give the grid's community (its code does not carry it)")
    elif community not in refs.communities:
        r.fail("community", f"unknown community {community}")
    if zone is not None and zone not in refs.zones:
        r.fail("zone", f"unknown zone {zone}")
    return {"name": name, "zone": zone, "community": community}


def _address(r: _Row, _: Refs) -> dict[str, Any]:
    return {"address": r.text("address"), "households": r.count("households"),
            "population": r.count("population"), "houses": r.count("houses", required=False),
            "units": r.count("units", required=False)}


def _incident(r: _Row, refs: Refs) -> dict[str, Any]:
    cat = r.text("category")
    code = None
    if cat is not None:
        code = refs.categories.get(cat.upper()) or refs.categories.get(cat)
        if code is None:
            r.fail("category", f"unknown incident category {cat!r}; known: "
                               + ", ".join(sorted(set(refs.categories.values())))
                               + " (or map it: jurisgrid categories map LOCAL_CODE CATEGORY)")
            return {"category": None, "occurred_at": _when(r), "unknown_category": cat}
    return {"category": code, "occurred_at": _when(r)}


def _when(r: _Row) -> datetime | None:
    v = r.row.get("occurred")
    if isinstance(v, datetime):
        t = v
    else:
        s = r.text("occurred")
        if s is None:
            return None
        try:
            t = datetime.fromisoformat(s.replace("Z", "+00:00").replace("/", "-"))
        except ValueError:
            r.fail("occurred", f"occurred {s!r} is not an ISO 8601 date-time "
                               "(e.g. 2024-05-01T08:30:00+08:00)")
            return None
    return t if t.tzinfo is not None else t.replace(tzinfo=LOCAL_TZ)
