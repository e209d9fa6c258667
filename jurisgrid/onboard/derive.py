"""What the build steps share (jurisgrid/onboard/build.py): the context that collects bad
features, derivations and repairs; code formats and kind words; parent lookups, the topology
repair call and outline helpers."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from jurisgrid import codes
from jurisgrid.config import get_settings
from jurisgrid.geo.topology import TopologyError, repair_coverage
from jurisgrid.geo.validate import polygons_only
from jurisgrid.onboard.manifest import Manifest
from jurisgrid.onboard.plan import (
    Bad,
    Plan,
    Report,
)
from jurisgrid.onboard.readers import Table

# national 区划 codes (the database holds townships and communities to them); a grid's code
# follows the deployment's format: grid_community / grid_code_problem (jurisgrid/codes.py)
TOWNSHIP_CODE = codes.NATIONAL["township"]
COMMUNITY_CODE = codes.NATIONAL["community"]
FINE_GRID = 1e-9  # degrees: the precision of the coverage invariant's union (see fine_grid)
MIN_PIECE_M2 = 1.0  # a generated community ∩ zone piece smaller than this is a sliver

STATION_KINDS = {
    "urban": "urban",
    "城区": "urban",
    "城市": "urban",
    "central": "central",
    "中心": "central",
    "中心场镇": "central",
    "中心镇": "central",
    "rural": "rural",
    "农村": "rural",
    "乡村": "rural",
}
ZONE_KINDS = {
    "urban": "urban",
    "城区": "urban",
    "城市": "urban",
    "社区": "urban",
    "rural": "rural",
    "农村": "rural",
    "乡村": "rural",
}
ROLES = {
    "chief": "chief",
    "所长": "chief",
    "instructor": "instructor",
    "教导员": "instructor",
    "deputychief": "deputy_chief",
    "deputy_chief": "deputy_chief",
    "副所长": "deputy_chief",
    "officer": "officer",
    "民警": "officer",
    "communityofficer": "community_officer",
    "community_officer": "community_officer",
    "社区民警": "community_officer",
    "auxiliary": "auxiliary",
    "辅警": "auxiliary",
    "gridworker": "grid_worker",
    "grid_worker": "grid_worker",
    "网格员": "grid_worker",
}
TRUE = {"1", "true", "yes", "y", "t", "是", "有"}
TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y%m%d%H%M%S",
    "%Y%m%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
)


@dataclass
class Context:
    """What the build collects besides the plan: bad features, derivations, repairs."""

    report: Report
    manifest: Manifest
    tolerance_m: float
    strict: bool
    categories: dict[str, str]  # known code (upper) or name → code
    now: datetime
    where: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)  # (kind, code) → src

    def bad(
        self, t: Table | str, i: int | None, reason: str, f: str | None = None, code: str | None = None
    ) -> None:
        src = t if isinstance(t, str) else t.spec.label
        self.report.bad.append(Bad(src, i, reason, f, code))

    def derived(self, what: str) -> None:
        self.report.derived.append(what)



def grid_community(code: str | None) -> str | None:
    """The community code a grid code carries under the deployment's grid format, or None."""
    return codes.parent_of("grid", code, codes.formats(get_settings().edit))


def grid_code_problem(code: str, community: str) -> str | None:
    """Why ``code`` is not a grid code of ``community`` under the deployment's format, or None."""
    return codes.problem("grid", code, get_settings().edit.edit_grid_code_format, community=community)


# --- helpers ----------------------------------------------------------------------------------


def feature_area(ctx: Context, t: Table, i: int, code: str | None) -> BaseGeometry | None:
    g = t.geoms[i]
    if g is None:
        if not any(p.index == i for p in t.problems):
            ctx.bad(t, i, "no geometry", "geometry", code)
        return None
    if g.geom_type not in ("Polygon", "MultiPolygon") or g.is_empty:
        ctx.bad(t, i, f"expected a Polygon or MultiPolygon, got {g.geom_type}", "geometry", code)
        return None
    return g


def check_unique(ctx: Context, t: Table, i: int, kind: str, code: str | None) -> bool:
    if code is None:
        ctx.bad(t, i, "code is missing", "code")
        return False
    prev = ctx.where.get((kind, code))
    if prev is not None:
        ctx.bad(t, i, f"duplicate code {code} (also {prev[0]} feature {prev[1]})", "code", code)
        return False
    ctx.where[(kind, code)] = (t.spec.label, i)
    return True


def lookup_code(by_code: dict[str, Any], by_name: dict[str, str], value: str | None) -> str | None:
    if value is None:
        return None
    if value in by_code:
        return value
    return by_name.get(value)


def codes_by_name(items: Sequence[Any]) -> dict[str, str]:
    names = Counter(x.name for x in items)
    return {x.name: x.code for x in items if names[x.name] == 1}


def largest_overlap(
    g: BaseGeometry, cands: Sequence[tuple[str, BaseGeometry]], tree: shapely.STRtree | None = None
) -> str | None:
    idx = range(len(cands)) if tree is None else tree.query(g)
    best: tuple[float, str] | None = None
    for k in idx:
        code, other = cands[int(k)]
        a = shapely.intersection(g, other).area
        if a > 0 and (best is None or a > best[0] or (a == best[0] and code < best[1])):
            best = (a, code)
    return None if best is None else best[1]


def tree_of(cands: Sequence[tuple[str, BaseGeometry]]) -> shapely.STRtree:
    return shapely.STRtree([g for _, g in cands])


def repair_layer(ctx: Context, what: str, items: list[Any], outline: BaseGeometry | None, src: str) -> bool:
    """Repair the coverage of ``items`` (each with .code and .geom) in place; False if refused."""
    if not items:
        return True
    try:
        res = repair_coverage(
            [x.geom for x in items],
            keys=[x.code for x in items],
            outline=outline,
            tolerance_m=ctx.tolerance_m,
            strict=ctx.strict,
        )
    except TopologyError as exc:
        for p in exc.problems:
            code = p.keys[0] if p.keys else None
            where = ctx.where.get((src, code)) if code is not None else None
            ctx.bad(
                where[0] if where else what,
                where[1] if where else None,
                f"{what}: {p.describe()}" + ("" if ctx.strict else " (cannot be repaired)"),
                "geometry",
                code,
            )
        return False
    for x, g in zip(items, res.polygons, strict=True):
        x.geom = g       # not rounded again: repaired edges lie exactly on their neighbours'
    for r in res.repairs:
        ctx.report.repairs.append(
            {
                "layer": what,
                "kind": r.kind,
                "units": list(r.keys),
                "gainedBy": r.gained_by,
                "areaM2": round(r.area_m2, 4),
                "lon": round(r.lon, 7) if math.isfinite(r.lon) else None,
                "lat": round(r.lat, 7) if math.isfinite(r.lat) else None,
                "sliver": r.sliver,
                "changes": {k: round(v, 4) for k, v in r.changes.items()},
                **({"detail": r.detail} if r.detail else {}),
            }
        )
    return True


def outlines_from_grids(plan: Plan) -> None:
    """A derived county outline becomes the union of its grids once they are final.

    Townships and communities from different files meet the outline with different vertices;
    once reprojected, their edges between those vertices bow by fractions of a millimetre, which
    over a county's whole outline can exceed the coverage invariant's 0.01 m². The union of the
    grids is the outline they tile exactly; it differs from the townships' union only by that.
    """
    town = {t.code: t.county for t in plan.townships}
    comm = {c.code: town[c.township] for c in plan.communities}
    parts: dict[str, list[BaseGeometry]] = defaultdict(list)
    for g in plan.grids:
        parts[comm[g.community]].append(g.geom)
    for c in plan.counties:
        if parts.get(c.code):
            c.geom = as_multi(fine_grid(shapely.union_all(parts[c.code])))


def fine_grid(g: BaseGeometry) -> BaseGeometry:
    """``g`` with every coordinate rounded to 1e-9° (~0.1 mm), vertex by vertex.

    Used for a derived county outline: the coverage invariant compares the outline with the
    grids' union at this precision (``ST_Union(geom, 1e-9)``, models/invariants), so an outline
    on the same grid matches it; off that grid, the difference along a county's whole outline
    (5e-10° per vertex) can exceed the 0.01 m² tolerance. Grids themselves are not rounded: a
    rounded vertex in the middle of a neighbour's long edge (a T-junction) would open a sliver.
    A polygon the rounding would make invalid keeps its vertices.
    """
    out = shapely.set_precision(g, FINE_GRID, mode="pointwise")
    return out if out.is_valid or not g.is_valid else g


def as_multi(g: BaseGeometry) -> BaseGeometry:
    return polygons_only(g)


