"""From the tables read to a :class:`~jurisgrid.onboard.plan.Plan`: validation, derivation, repair.

Pure (no database). Every problem of every feature is collected as a :class:`Bad` — the caller
writes nothing when there is one. What is missing is derived by stated rules, each noted in
the report:

- counties: from the county file; else the union of the townships, one county per 6-digit code
  prefix (or the manifest's ``[county]``);
- townships from communities (9-digit prefix), communities from grids (12-digit prefix), when
  their files are missing;
- sectors: one per county when there is no sector file;
- zones: from a zone file (polygons, or a list with a grid→zone table or the grids' zone
  column); else one zone per station polygon;
- grids: from a grid file; else the pieces of community ∩ zone, coded community + 3 digits.

Parents are found by column (code, or name), else by code prefix, else by largest overlap.
Topology is repaired by :func:`jurisgrid.geo.topology.repair_coverage` — townships,
communities and zone polygons against the county outline, each community's grids against the
community (so grids tile their community and the county) — or, with ``strict``, refused.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.topology import TopologyError, repair_coverage
from jurisgrid.geo.validate import area_m2, polygons_only
from jurisgrid.onboard.manifest import Manifest
from jurisgrid.onboard.plan import (
    Address,
    Assignment,
    Bad,
    Community,
    County,
    Grid,
    Incident,
    Person,
    Plan,
    Report,
    Sector,
    Station,
    Township,
    Zone,
)
from jurisgrid.onboard.readers import Table

TOWNSHIP_CODE = re.compile(r"^[0-9]{9}$")
COMMUNITY_CODE = re.compile(r"^[0-9]{12}$")
GRID_CODE = re.compile(r"^[0-9]{15}$")
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


def build(
    tables: dict[str, Table],
    manifest: Manifest,
    *,
    categories: dict[str, str],
    tolerance_m: float,
    strict: bool,
    report: Report,
    now: datetime,
    step: Callable[[str], None] = lambda s: None,
) -> Plan:
    """Validate and derive everything; problems go to ``report.bad``."""
    ctx = Context(report, manifest, tolerance_m, strict, categories, now)
    plan = Plan()
    for t in tables.values():
        for p in t.problems:
            ctx.bad(t, p.index, p.reason, p.field, p.code)
    step("administrative units")
    _counties_townships_communities(ctx, tables, plan)
    if not plan.counties:
        return plan
    step("policing units")
    _sectors(ctx, tables, plan)
    _stations(ctx, tables, plan)
    _zones(ctx, tables, plan)
    step("grids")
    _grids(ctx, tables, plan)
    if "counties" not in tables:
        _outlines_from_grids(plan)
    step("points and personnel")
    outline = shapely.union_all([c.geom for c in plan.counties])
    shapely.prepare(outline)
    if "addresses" in tables:
        _addresses(ctx, tables["addresses"], plan, outline)
    if "incidents" in tables:
        _incidents(ctx, tables["incidents"], plan, outline)
    _persons(ctx, tables, plan)
    return plan


# --- helpers ----------------------------------------------------------------------------------


def _area(ctx: Context, t: Table, i: int, code: str | None) -> BaseGeometry | None:
    g = t.geoms[i]
    if g is None:
        if not any(p.index == i for p in t.problems):
            ctx.bad(t, i, "no geometry", "geometry", code)
        return None
    if g.geom_type not in ("Polygon", "MultiPolygon") or g.is_empty:
        ctx.bad(t, i, f"expected a Polygon or MultiPolygon, got {g.geom_type}", "geometry", code)
        return None
    return g


def _unique(ctx: Context, t: Table, i: int, kind: str, code: str | None) -> bool:
    if code is None:
        ctx.bad(t, i, "code is missing", "code")
        return False
    prev = ctx.where.get((kind, code))
    if prev is not None:
        ctx.bad(t, i, f"duplicate code {code} (also {prev[0]} feature {prev[1]})", "code", code)
        return False
    ctx.where[(kind, code)] = (t.spec.label, i)
    return True


def _lookup(by_code: dict[str, Any], by_name: dict[str, str], value: str | None) -> str | None:
    if value is None:
        return None
    if value in by_code:
        return value
    return by_name.get(value)


def _by_name(items: Sequence[Any]) -> dict[str, str]:
    names = Counter(x.name for x in items)
    return {x.name: x.code for x in items if names[x.name] == 1}


def _largest_overlap(
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


def _tree(cands: Sequence[tuple[str, BaseGeometry]]) -> shapely.STRtree:
    return shapely.STRtree([g for _, g in cands])


def _repair(ctx: Context, what: str, items: list[Any], outline: BaseGeometry | None, src: str) -> bool:
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


def _outlines_from_grids(plan: Plan) -> None:
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
            c.geom = _multi(fine_grid(shapely.union_all(parts[c.code])))


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


def _multi(g: BaseGeometry) -> BaseGeometry:
    return polygons_only(g)


# --- administrative units -----------------------------------------------------------------------


def _township_kind(name: str, given: str | None) -> str:
    v = (given or "").strip().lower()
    if v in ("street", "街道") or (not v and name.endswith("街道")):
        return "street"
    if v in ("town", "镇") or (not v and name.endswith("镇")):
        return "town"
    return "township"


def _community_kind(name: str, given: str | None) -> str:
    v = (given or "").strip().lower()
    if v in ("community", "社区", "居委会") or (not v and (name.endswith("社区") or name.endswith("居委会"))):
        return "community"
    return "village"


def _counties_townships_communities(ctx: Context, tables: dict[str, Table], plan: Plan) -> None:
    m = ctx.manifest
    # communities, from their file or the grids' codes
    comms: list[Community] = []
    if "communities" in tables:
        t = tables["communities"]
        for i in range(len(t)):
            code, name = t.text(i, "code"), t.text(i, "name")
            if not _unique(ctx, t, i, "communities", code):
                continue
            assert code is not None
            ok = True
            if not COMMUNITY_CODE.match(code):
                ctx.bad(t, i, f"community code {code!r} must be the 12-digit 统计用区划代码", "code", code)
                ok = False
            if name is None:
                ctx.bad(t, i, "name is missing", "name", code)
                ok = False
            geom = _area(ctx, t, i, code)
            township = t.text(i, "township") or code[:9]
            if ok and geom is not None:
                comms.append(
                    Community(
                        code, name or code, _community_kind(name or "", t.text(i, "kind")), township, geom
                    )
                )
    elif "grids" in tables:
        t = tables["grids"]
        parts: dict[str, list[BaseGeometry]] = defaultdict(list)
        for i in range(len(t)):
            code, g = t.text(i, "code"), t.geoms[i]
            comm = t.text(i, "community") or (code[:12] if code and GRID_CODE.match(code) else None)
            if (
                comm
                and COMMUNITY_CODE.match(comm)
                and g is not None
                and g.geom_type in ("Polygon", "MultiPolygon")
            ):
                parts[comm].append(g)
        for code in sorted(parts):
            comms.append(Community(code, code, "village", code[:9], _multi(shapely.union_all(parts[code]))))
            ctx.where[("communities", code)] = ("grids", -1)
        if comms:
            ctx.derived(f"{len(comms)} communities as the unions of their grids (12-digit code prefix)")
    else:
        ctx.bad("communities", None, "no community file (村/社区 polygons) and no grids to derive them from")
        return
    # townships
    towns: list[Township] = []
    if "townships" in tables:
        t = tables["townships"]
        for i in range(len(t)):
            code, name = t.text(i, "code"), t.text(i, "name")
            if not _unique(ctx, t, i, "townships", code):
                continue
            assert code is not None
            ok = True
            if not TOWNSHIP_CODE.match(code):
                ctx.bad(t, i, f"township code {code!r} must be the 9-digit 统计用区划代码", "code", code)
                ok = False
            if name is None:
                ctx.bad(t, i, "name is missing", "name", code)
                ok = False
            geom = _area(ctx, t, i, code)
            county = t.text(i, "county") or ""
            if ok and geom is not None:
                towns.append(
                    Township(code, name or code, _township_kind(name or "", t.text(i, "kind")), county, geom)
                )
    else:
        groups: dict[str, list[BaseGeometry]] = defaultdict(list)
        for c in comms:
            groups[c.township].append(c.geom)
        for code in sorted(groups):
            if not TOWNSHIP_CODE.match(code):
                ctx.bad("communities", None, f"township {code!r} (from a community) is not a 9-digit code")
                continue
            towns.append(Township(code, code, "township", "", _multi(shapely.union_all(groups[code]))))
            ctx.where[("townships", code)] = ("communities", -1)
        ctx.derived(f"{len(towns)} townships as the unions of their communities (9-digit code prefix)")
    # counties
    counties: list[County] = []
    if "counties" in tables:
        t = tables["counties"]
        for i in range(len(t)):
            code, name = t.text(i, "code") or m.county.get("code"), t.text(i, "name") or m.county.get("name")
            if not _unique(ctx, t, i, "counties", code):
                continue
            assert code is not None
            geom = _area(ctx, t, i, code)
            if geom is None:
                continue
            if not geom.is_valid:
                fixed = _multi(shapely.make_valid(geom))
                ctx.report.repairs.append(
                    {
                        "layer": "counties",
                        "kind": "made_valid",
                        "units": [code],
                        "gainedBy": code,
                        "areaM2": round(area_m2(fixed) - area_m2(geom), 4),
                        "detail": shapely.is_valid_reason(geom),
                    }
                )
                geom = fixed
            counties.append(County(code, name or code, _multi(geom)))
    else:
        prefixes = sorted({tw.code[:6] for tw in towns})
        if m.county.get("code") and len(prefixes) <= 1:
            prefixes = [m.county["code"]]
        for p in prefixes:
            mine = [tw for tw in towns if tw.code.startswith(p)] if len(prefixes) > 1 else towns
            geom = _multi(shapely.union_all([tw.geom for tw in mine])) if mine else shapely.MultiPolygon()
            name = m.county.get("name") if len(prefixes) == 1 else None
            counties.append(County(p, name or p, geom))
            ctx.where[("counties", p)] = ("townships", -1)
        ctx.derived(
            f"{len(counties)} county outline(s) as the union of the townships (stored as the union "
            "of their grids, the same area after repair)"
            + (" (one per 6-digit code prefix)" if len(prefixes) > 1 else "")
        )
    if not counties:
        ctx.bad("counties", None, "no county: give a county file, or townships/communities to derive it from")
        return
    # township → county: column (code or name), code prefix, the only county, largest overlap
    by_code = {c.code: c for c in counties}
    by_name = _by_name(counties)
    cands = [(c.code, c.geom) for c in counties]
    for tw in towns:
        cty = _lookup(by_code, by_name, tw.county or None) or (
            tw.code[:6] if tw.code[:6] in by_code else None
        )
        if cty is None and len(counties) == 1:
            cty = counties[0].code
        if cty is None:
            cty = _largest_overlap(tw.geom, cands)
        if cty is None:
            src = ctx.where.get(("townships", tw.code), ("townships", None))
            ctx.bad(src[0], src[1], "lies in no county", "county", tw.code)
            continue
        tw.county = cty
    towns = [tw for tw in towns if tw.county in by_code]
    outline = shapely.union_all([c.geom for c in counties])
    label = tables["townships"].spec.label if "townships" in tables else "townships"
    _repair(ctx, "townships", towns, outline, "townships")
    # community → township: column (code or name), else code prefix, else largest overlap
    t_code = {tw.code: tw for tw in towns}
    t_name = _by_name(towns)
    t_cands = [(tw.code, tw.geom) for tw in towns]
    t_tree = _tree(t_cands) if t_cands else None
    kept = []
    for c in comms:
        tw_code = _lookup(t_code, t_name, c.township)
        if tw_code is None:
            tw_code = _largest_overlap(c.geom, t_cands, t_tree) if t_cands else None
        if tw_code is None:
            src = ctx.where.get(("communities", c.code), (label, None))
            ctx.bad(
                src[0], src[1], f"unknown township {c.township!r} and it overlaps none", "township", c.code
            )
            continue
        c.township = tw_code
        kept.append(c)
    _repair(ctx, "communities", kept, outline, "communities")
    plan.counties, plan.townships, plan.communities = counties, towns, kept


# --- policing units -------------------------------------------------------------------------------


def _county_of(plan: Plan, g: BaseGeometry) -> str | None:
    for c in plan.counties:
        if c.geom.intersects(g):
            return c.code
    return None


def _sectors(ctx: Context, tables: dict[str, Table], plan: Plan) -> None:
    if "sectors" in tables:
        t = tables["sectors"]
        c_code = {c.code: c for c in plan.counties}
        c_name = _by_name(plan.counties)
        for i in range(len(t)):
            code, name = t.text(i, "code"), t.text(i, "name")
            if not _unique(ctx, t, i, "sectors", code):
                continue
            assert code is not None
            county = _lookup(c_code, c_name, t.text(i, "county"))
            if county is None and len(plan.counties) == 1:
                county = plan.counties[0].code
            if county is None:
                ctx.bad(t, i, f"unknown county {t.text(i, 'county')!r}", "county", code)
                continue
            plan.sectors.append(Sector(code, name or code, county))
        return
    st = tables.get("stations")
    named: dict[str, str] = {}  # sector code named by a station → its county
    if st is not None and st.has("sector"):
        for i in range(len(st)):
            code, g = st.text(i, "sector"), st.geoms[i]
            county = _county_of(plan, g) if g is not None else None
            if code is not None and county is not None:
                named.setdefault(code, county)
    if named:
        for code, county in sorted(named.items()):
            plan.sectors.append(Sector(code, code, county))
        ctx.derived(f"{len(named)} sector(s) from the stations' sector column (no sector file)")
        return
    for c in plan.counties:
        plan.sectors.append(Sector(f"{c.code}SQ01", f"{c.name}", c.code))
    ctx.derived(f"{len(plan.counties)} sector(s): one per county (no sector file)")


def _station_kind(name: str, given: str | None) -> str | None:
    if given:
        return STATION_KINDS.get(given.strip().lower())
    return "urban" if ("城" in name or "街道" in name) else "rural"


def _stations(ctx: Context, tables: dict[str, Table], plan: Plan) -> None:
    if "stations" not in tables:
        ctx.bad(
            "stations", None, "no station file (派出所: points with attributes, or jurisdiction polygons)"
        )
        return
    t = tables["stations"]
    s_code = {s.code: s for s in plan.sectors}
    s_name = _by_name(plan.sectors)
    default_sector: dict[str, list[str]] = {}
    for s in plan.sectors:
        default_sector.setdefault(s.county, []).append(s.code)
    for i in range(len(t)):
        code, name = t.text(i, "code"), t.text(i, "name")
        if not _unique(ctx, t, i, "stations", code):
            continue
        assert code is not None
        if name is None:
            ctx.bad(t, i, "name is missing", "name", code)
            continue
        kind = _station_kind(name, t.text(i, "kind"))
        if kind is None:
            ctx.bad(
                t,
                i,
                f"station kind {t.text(i, 'kind')!r} is not urban/城区, central/中心场镇 or rural/农村",
                "kind",
                code,
            )
            continue
        g = t.geoms[i]
        if g is None:
            if not any(p.index == i for p in t.problems):
                ctx.bad(
                    t,
                    i,
                    "no geometry (a seat point, lon/lat columns, or a jurisdiction polygon)",
                    "geometry",
                    code,
                )
            continue
        area = g if g.geom_type in ("Polygon", "MultiPolygon") else None
        seat = g.point_on_surface() if area is not None else g
        if seat.geom_type != "Point" or seat.is_empty:
            ctx.bad(t, i, f"expected a Point or a Polygon, got {g.geom_type}", "geometry", code)
            continue
        sector = _lookup(s_code, s_name, t.text(i, "sector"))
        if sector is None and t.text(i, "sector") is not None:
            ctx.bad(t, i, f"unknown sector {t.text(i, 'sector')!r}", "sector", code)
            continue
        if sector is None:
            county = _county_of(plan, seat if area is None else area)
            opts = default_sector.get(county or "", [])
            if len(opts) != 1:
                ctx.bad(
                    t,
                    i,
                    "no sector column, and the station's county has "
                    f"{'no' if not opts else 'several'} sector(s)",
                    "sector",
                    code,
                )
                continue
            sector = opts[0]
        plan.stations.append(
            Station(
                code,
                name,
                kind,
                sector,
                t.text(i, "address"),
                t.text(i, "phone"),
                seat,
                _multi(area) if area is not None else None,
            )
        )


def _zones(ctx: Context, tables: dict[str, Table], plan: Plan) -> None:
    st_code = {s.code: s for s in plan.stations}
    st_name = _by_name(plan.stations)
    st_areas = [(s.code, s.area) for s in plan.stations if s.area is not None]
    outline = shapely.union_all([c.geom for c in plan.counties])
    if "zones" in tables:
        t = tables["zones"]
        st_tree = _tree(st_areas) if st_areas else None
        for i in range(len(t)):
            code, name = t.text(i, "code"), t.text(i, "name")
            if not _unique(ctx, t, i, "zones", code):
                continue
            assert code is not None
            g = t.geoms[i]
            geom = None
            if g is not None:
                geom = _area(ctx, t, i, code)
                if geom is None:
                    continue
            given = t.text(i, "station")
            station = _lookup(st_code, st_name, given)
            if station is None and given is not None:
                ctx.bad(t, i, f"unknown station {given!r}", "station", code)
                continue
            if station is None and geom is not None:
                station = (_largest_overlap(geom, st_areas, st_tree) if st_areas else None) or next(
                    (s.code for s in plan.stations if geom.covers(s.seat)), None
                )
            if station is None:
                ctx.bad(
                    t,
                    i,
                    "no station: give a station column (code or name), or station polygons or "
                    "seats that lie in the zone",
                    "station",
                    code,
                )
                continue
            kind_given = t.text(i, "kind")
            kind = ZONE_KINDS.get(kind_given.strip().lower()) if kind_given else None
            if kind_given and kind is None:
                ctx.bad(t, i, f"zone kind {kind_given!r} is not urban/城区 or rural/农村", "kind", code)
                continue
            office = (t.text(i, "office") or "").strip().lower() in TRUE
            plan.zones.append(Zone(code, name or code, kind, office, station, _multi(geom) if geom else None))
        with_geom = [z for z in plan.zones if z.geom is not None]
        if with_geom and "grids" not in tables:
            _repair(ctx, "zones", with_geom, outline, "zones")
    elif "grids" in tables and (tables["grids"].has("zone") or "grid_zones" in tables):
        return  # zones come from the grids' zone codes (in _grids)
    elif st_areas:
        for s in plan.stations:
            if s.area is not None:
                plan.zones.append(Zone(f"{s.code}Z01", f"{s.name}警务区", None, False, s.code, s.area))
                ctx.where[("zones", f"{s.code}Z01")] = ctx.where.get(("stations", s.code), ("stations", -1))
        ctx.derived(f"{len(plan.zones)} zones: one per station polygon (no zone file)")
        _repair(ctx, "zones (from station polygons)", plan.zones, outline, "zones")
    else:
        ctx.bad(
            "zones",
            None,
            "no zones: give a zone file, a zone column in the grids (or a grid→zone table), "
            "or station jurisdiction polygons",
        )
    for z in plan.zones:
        if z.kind is None:
            z.kind = "urban" if st_code[z.station].kind == "urban" else "rural"


def _grid_zone_table(ctx: Context, tables: dict[str, Table]) -> dict[str, str]:
    out: dict[str, str] = {}
    t = tables.get("grid_zones")
    if t is None:
        return out
    for i in range(len(t)):
        grid, zone = t.text(i, "code"), t.text(i, "zone")
        if grid is None or zone is None:
            ctx.bad(t, i, "needs a grid code and a zone code", "code" if grid is None else "zone", grid)
        elif grid in out:
            ctx.bad(t, i, f"grid {grid} is listed twice", "code", grid)
        else:
            out[grid] = zone
    return out


def _grids(ctx: Context, tables: dict[str, Table], plan: Plan) -> None:
    comm = {c.code: c for c in plan.communities}
    if "grids" not in tables:
        _generate_grids(ctx, plan)
        return
    t = tables["grids"]
    c_name = _by_name(plan.communities)
    c_cands = [(c.code, c.geom) for c in plan.communities]
    c_tree = _tree(c_cands)
    z_code = {z.code: z for z in plan.zones}
    z_name = _by_name(plan.zones)
    z_cands = [(z.code, z.geom) for z in plan.zones if z.geom is not None]
    z_tree = _tree(z_cands) if z_cands else None
    table_zone = _grid_zone_table(ctx, tables)
    st_code = {s.code: s for s in plan.stations}
    st_name = _by_name(plan.stations)
    derive_zones = "zones" not in tables
    derived_zones: dict[str, str] = {}
    pending: list[tuple[int, str | None, str, str, str, BaseGeometry]] = []
    for i in range(len(t)):
        code = t.text(i, "code")
        geom = _area(ctx, t, i, code)
        if geom is None:
            continue
        community = _lookup(comm, c_name, t.text(i, "community"))
        if community is None and t.text(i, "community") is not None:
            ctx.bad(t, i, f"unknown community {t.text(i, 'community')!r}", "community", code)
            continue
        if community is None and code is not None and GRID_CODE.match(code) and code[:12] in comm:
            community = code[:12]
        if community is None:
            community = _largest_overlap(geom, c_cands, c_tree)
        if community is None:
            ctx.bad(t, i, "lies in no community", "community", code)
            continue
        if code is not None:
            if not GRID_CODE.match(code):
                ctx.bad(
                    t, i, f"grid code {code!r} must be 15 digits (12-digit community code + 3)", "code", code
                )
                continue
            if code[:12] != community:
                ctx.bad(
                    t,
                    i,
                    f"grid code {code} does not start with its community's code {community}",
                    "code",
                    code,
                )
                continue
            if not _unique(ctx, t, i, "grids", code):
                continue
        zone_given = t.text(i, "zone") or (table_zone.get(code) if code else None)
        zone = _lookup(z_code, z_name, zone_given)
        if zone is None and zone_given is not None and derive_zones:
            station_given = t.text(i, "station")
            station = _lookup(st_code, st_name, station_given)
            if station is None:
                ctx.bad(
                    t,
                    i,
                    f"zone {zone_given!r} is in no zone file, and the grid names "
                    f"{'no' if station_given is None else 'an unknown'} station to derive it from",
                    "station",
                    code,
                )
                continue
            if derived_zones.setdefault(zone_given, station) != station:
                ctx.bad(
                    t,
                    i,
                    f"zone {zone_given} is given two stations ({derived_zones[zone_given]} and {station})",
                    "station",
                    code,
                )
                continue
            zone = zone_given
        elif zone is None and zone_given is not None:
            ctx.bad(t, i, f"unknown zone {zone_given!r}", "zone", code)
            continue
        if zone is None:
            zone = _largest_overlap(geom, z_cands, z_tree) if z_cands else None
        if zone is None:
            ctx.bad(
                t,
                i,
                "no zone: give a zone column (code or name), a grid→zone table, or zone polygons it overlaps",
                "zone",
                code,
            )
            continue
        pending.append((i, code, t.text(i, "name") or "", community, zone, _multi(geom)))
    for zcode, station in sorted(derived_zones.items()):
        plan.zones.append(
            Zone(zcode, zcode, "urban" if st_code[station].kind == "urban" else "rural", False, station)
        )
    if derived_zones:
        ctx.derived(f"{len(derived_zones)} zones from the grids' zone codes (no zone file)")
    # codes for grids without one: community + the next free 3-digit sequence
    used: dict[str, set[int]] = defaultdict(set)
    for _, code, *_rest in pending:
        if code is not None:
            used[code[:12]].add(int(code[12:]))
    generated = 0
    by_comm: dict[str, list[Grid]] = defaultdict(list)
    for i, code, name, community, zone, geom in pending:
        if code is None:
            seq = next(n for n in range(1, 1000) if n not in used[community])
            used[community].add(seq)
            code = f"{community}{seq:03d}"
            ctx.where[("grids", code)] = (t.spec.label, i)
            generated += 1
        g = Grid(code, name or code, community, zone, geom)
        by_comm[community].append(g)
    if generated:
        ctx.derived(f"{generated} grid code(s) generated: community code + next free 3-digit number")
    for community in sorted(by_comm):
        grids = by_comm[community]
        if _repair(ctx, f"grids of community {community}", grids, comm[community].geom, "grids"):
            plan.grids.extend(grids)


def _generate_grids(ctx: Context, plan: Plan) -> None:
    zones = [z for z in plan.zones if z.geom is not None]
    if not zones:
        ctx.bad("grids", None, "no grid file, and no zone polygons to generate grids from")
        return
    z_cands = [(z.code, z.geom) for z in zones]
    tree = _tree(z_cands)
    small = 0
    for c in plan.communities:
        pieces = []
        for k in sorted(tree.query(c.geom), key=lambda k: z_cands[int(k)][0]):
            zcode, zg = z_cands[int(k)]
            piece = polygons_only(shapely.intersection(c.geom, zg))
            if piece.is_empty:
                continue
            if area_m2(piece) < MIN_PIECE_M2:
                small += 1
                continue
            pieces.append((zcode, piece))
        if not pieces:
            ctx.bad(
                "communities",
                None,
                f"community {c.code} overlaps no zone: no grid can be generated",
                "geometry",
                c.code,
            )
            continue
        if len(pieces) > 999:
            ctx.bad("communities", None, f"community {c.code} would need more than 999 grids", None, c.code)
            continue
        grids = [
            Grid(f"{c.code}{n + 1:03d}", f"{c.name}{n + 1}号网格", c.code, zcode, piece)
            for n, (zcode, piece) in enumerate(pieces)
        ]
        # the pieces tile the community up to the dropped slivers: the repair gives those away
        if _repair(ctx, f"grids of community {c.code}", grids, c.geom, "grids"):
            plan.grids.extend(grids)
    ctx.derived(
        f"{len(plan.grids)} grids generated as community ∩ zone pieces (no grid file); codes: "
        f"community code + 3 digits"
        + (f"; {small} piece(s) under {MIN_PIECE_M2} m² left to their neighbours" if small else "")
    )


# --- points ---------------------------------------------------------------------------------------


@dataclass
class _Points:
    """A table's point coordinates and whether each lies in the county, computed at once."""

    xy: np.ndarray
    is_point: np.ndarray
    inside: np.ndarray
    problem_rows: set[int]


def _points_of(t: Table, outline: BaseGeometry) -> _Points:
    geoms = np.array(t.geoms, dtype=object)
    is_point = np.zeros(len(t), dtype=bool)
    xy = np.full((len(t), 2), np.nan)
    if len(t):
        present = np.array([g is not None for g in t.geoms])
        kinds = np.full(len(t), -1)
        kinds[present] = shapely.get_type_id(geoms[present])
        is_point = (kinds == 0) & present
        is_point[is_point] = ~shapely.is_empty(geoms[is_point])
        xy[is_point, 0] = shapely.get_x(geoms[is_point])
        xy[is_point, 1] = shapely.get_y(geoms[is_point])
    inside = np.zeros(len(t), dtype=bool)
    inside[is_point] = shapely.intersects_xy(outline, xy[is_point, 0], xy[is_point, 1])
    return _Points(xy, is_point, inside, {p.index for p in t.problems})


def _point(ctx: Context, t: Table, i: int, code: str | None, pts: _Points) -> tuple[float, float] | None:
    g = t.geoms[i]
    if g is None:
        if i not in pts.problem_rows:
            ctx.bad(t, i, "no coordinates", "geometry", code)
        return None
    if not pts.is_point[i]:
        ctx.bad(t, i, f"expected a Point, got {g.geom_type}", "geometry", code)
        return None
    x, y = float(pts.xy[i, 0]), float(pts.xy[i, 1])
    if not pts.inside[i]:
        ctx.bad(
            t,
            i,
            f"the point ({x:.6f}, {y:.6f}) lies outside the county (wrong coordinate system, "
            "or lon/lat swapped?)",
            "geometry",
            code,
        )
        return None
    return x, y


def _count(ctx: Context, t: Table, i: int, f: str, code: str | None) -> int | None:
    v = t.value(i, f)
    if v is None or (isinstance(v, str) and not v.strip()):
        return 0
    try:
        x = float(v)
    except (TypeError, ValueError):
        ctx.bad(t, i, f"{f} {v!r} is not a number", f, code)
        return None
    if not x.is_integer() or x < 0:
        ctx.bad(t, i, f"{f} {v!r} must be a whole number ≥ 0", f, code)
        return None
    return int(x)


def _addresses(ctx: Context, t: Table, plan: Plan, outline: BaseGeometry) -> None:
    pts = _points_of(t, outline)
    if not t.has("code"):
        ctx.derived(f"address codes generated as {t.spec.path.stem}-<row> (no code column)")
    for i in range(len(t)):
        code = t.text(i, "code") or (None if t.has("code") else f"{t.spec.path.stem}-{i + 1}")
        if not _unique(ctx, t, i, "addresses", code):
            continue
        assert code is not None
        address = t.text(i, "address")
        nums = [_count(ctx, t, i, f, code) for f in ("households", "population", "houses", "units")]
        xy = _point(ctx, t, i, code, pts)
        if address is None:
            ctx.bad(t, i, "address is missing", "address", code)
            continue
        if xy is None or any(n is None for n in nums):
            continue
        h, p, ho, u = (int(n) for n in nums)  # type: ignore[arg-type]
        plan.addresses.append(Address(code, address, h, p, ho, u, xy[0], xy[1]))


def _when(ctx: Context, t: Table, i: int, code: str | None, tz: ZoneInfo) -> datetime | None:
    v = t.value(i, "occurred")
    if isinstance(v, datetime):
        when = v
    else:
        s = t.text(i, "occurred")
        if s is None:
            ctx.bad(t, i, "time is missing", "occurred", code)
            return None
        when_or_none: datetime | None = None
        try:
            when_or_none = datetime.fromisoformat(s.replace("Z", "+00:00").replace("/", "-"))
        except ValueError:
            for fmt in TIME_FORMATS:
                try:
                    when_or_none = datetime.strptime(s.replace("/", "-"), fmt)
                    break
                except ValueError:
                    continue
        if when_or_none is None:
            ctx.bad(t, i, f"time {s!r} is not a date-time (e.g. 2024-05-01 08:30:00)", "occurred", code)
            return None
        when = when_or_none
    return when if when.tzinfo is not None else when.replace(tzinfo=tz)


def _incidents(ctx: Context, t: Table, plan: Plan, outline: BaseGeometry) -> None:
    pts = _points_of(t, outline)
    m = ctx.manifest
    try:
        tz = ZoneInfo(m.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"manifest: unknown time_zone {m.time_zone!r}") from None
    known = dict(ctx.categories)
    for new_code, new_name in m.new_categories.items():
        known[new_code.upper()] = new_code
        known[new_name] = new_code
        plan.new_categories[new_code] = new_name
    policy = m.unknown_categories
    if policy not in ("add", "refuse") and policy.upper() not in known:
        raise InvalidInput(
            f"manifest: unknown_categories = {policy!r} is not 'add', 'refuse' or a known "
            f"category ({', '.join(sorted(set(known.values())))})"
        )
    unknown: Counter[str] = Counter()
    if not t.has("code"):
        ctx.derived(f"incident codes generated as {t.spec.path.stem}-<row> (no code column)")
    for i in range(len(t)):
        code = t.text(i, "code") or (None if t.has("code") else f"{t.spec.path.stem}-{i + 1}")
        if not _unique(ctx, t, i, "incidents", code):
            continue
        raw = t.text(i, "category")
        when = _when(ctx, t, i, code, tz)
        xy = _point(ctx, t, i, code, pts)
        if raw is None:
            ctx.bad(t, i, "category is missing", "category", code)
            continue
        cat = m.categories.get(raw)
        cat = known.get(cat.upper(), cat) if cat is not None else known.get(raw.upper()) or known.get(raw)
        if cat is None:
            unknown[raw] += 1
            if policy == "refuse":
                ctx.bad(
                    t,
                    i,
                    f"unknown incident category {raw!r} (map it in the manifest's [incidents] "
                    "categories, or set unknown_categories)",
                    "category",
                    code,
                )
                continue
            cat = raw if policy == "add" else known[policy.upper()]
            if policy == "add":
                plan.new_categories.setdefault(raw, raw)
        if when is None or xy is None:
            continue
        plan.incidents.append(Incident(code or "", cat, when, xy[0], xy[1]))
    for raw, n in sorted(unknown.items(), key=lambda kv: (-kv[1], kv[0])):
        action = {"add": f"added as category {raw}", "refuse": "refused"}.get(policy, f"mapped to {policy}")
        ctx.report.unknown_categories.append(
            {"file": t.spec.label, "category": raw, "count": n, "action": action}
        )


# --- personnel ------------------------------------------------------------------------------------


def _persons(ctx: Context, tables: dict[str, Table], plan: Plan) -> None:
    st = {s.code: s for s in plan.stations}
    st_name = _by_name(plan.stations)
    zs = {z.code: z for z in plan.zones}
    z_name = _by_name(plan.zones)
    cs = {c.code: c for c in plan.communities}
    c_name = _by_name(plan.communities)
    gs = {g.code for g in plan.grids}

    def assignment(t: Table, i: int, person: str) -> Assignment | None:
        role_raw = t.text(i, "role")
        role = ROLES.get((role_raw or "officer").strip().lower().replace(" ", ""))
        if role is None:
            ctx.bad(
                t,
                i,
                f"role {role_raw!r} is not one of 所长, 教导员, 副所长, 民警, 社区民警, 辅警, 网格员 "
                "(or chief, instructor, deputy_chief, officer, community_officer, auxiliary, grid_worker)",
                "role",
                person,
            )
            return None
        station = _lookup(st, st_name, t.text(i, "station"))
        zone = _lookup(zs, z_name, t.text(i, "zone"))
        community = _lookup(cs, c_name, t.text(i, "community"))
        grid = t.text(i, "grid")
        for f, given, found in (
            ("station", t.text(i, "station"), station),
            ("zone", t.text(i, "zone"), zone),
            ("community", t.text(i, "community"), community),
        ):
            if given is not None and found is None:
                ctx.bad(t, i, f"unknown {f} {given!r}", f, person)
                return None
        if grid is not None and grid not in gs:
            ctx.bad(t, i, f"unknown grid {grid!r}", "grid", person)
            return None
        if station is None and zone is not None:
            station = zs[zone].station
        if station is None:
            return None
        if zone is not None and zs[zone].station != station:
            ctx.bad(t, i, f"zone {zone} belongs to station {zs[zone].station}, not {station}", "zone", person)
            return None
        frm = _date(ctx, t, i, "valid_from", person) or ctx.now
        to = _date(ctx, t, i, "valid_to", person)
        return Assignment(person, role, station, zone, community, grid, frm, to)

    codes: set[str] = set()
    if "persons" in tables:
        t = tables["persons"]
        for i in range(len(t)):
            code, name = t.text(i, "code"), t.text(i, "name")
            if not _unique(ctx, t, i, "persons", code):
                continue
            assert code is not None
            if name is None:
                ctx.bad(t, i, "name is missing", "name", code)
                continue
            plan.persons.append(Person(code, name, t.text(i, "phone")))
            codes.add(code)
            if "assignments" not in tables and (t.has("station") or t.has("zone")):
                n_bad = len(ctx.report.bad)
                a = assignment(t, i, code)
                if a is not None:
                    plan.assignments.append(a)
                elif len(ctx.report.bad) == n_bad and (t.text(i, "station") or t.text(i, "zone")) is None:
                    pass  # a person with no station: no assignment
    if "assignments" in tables:
        t = tables["assignments"]
        for i in range(len(t)):
            person = t.text(i, "person")
            if person is None or person not in codes:
                ctx.bad(
                    t, i, f"unknown person {person!r}" if person else "person is missing", "person", person
                )
                continue
            if t.text(i, "station") is None and t.text(i, "zone") is None:
                ctx.bad(t, i, "an assignment needs a station or a zone", "station", person)
                continue
            a = assignment(t, i, person)
            if a is not None:
                plan.assignments.append(a)


def _date(ctx: Context, t: Table, i: int, f: str, code: str) -> datetime | None:
    v = t.value(i, f)
    if v is None:
        return None
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=ZoneInfo(ctx.manifest.time_zone))
    s = str(v).strip().replace("/", "-")
    try:
        d = datetime.fromisoformat(s)
    except ValueError:
        ctx.bad(t, i, f"{f} {v!r} is not a date (e.g. 2025-01-01)", f, code)
        return None
    return d if d.tzinfo else d.replace(tzinfo=ZoneInfo(ctx.manifest.time_zone))
