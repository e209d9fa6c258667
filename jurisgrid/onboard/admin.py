"""Build step: counties, townships and communities (村/社区) — read, or derived from each
other by code prefix and union (jurisgrid/onboard/build.py)."""

from __future__ import annotations

from collections import defaultdict

import shapely
from shapely.geometry.base import BaseGeometry

from jurisgrid.geo.validate import area_m2
from jurisgrid.onboard.derive import (
    COMMUNITY_CODE,
    TOWNSHIP_CODE,
    Context,
    as_multi,
    check_unique,
    codes_by_name,
    feature_area,
    grid_community,
    largest_overlap,
    lookup_code,
    repair_layer,
    tree_of,
)
from jurisgrid.onboard.plan import (
    Community,
    County,
    Plan,
    Township,
)
from jurisgrid.onboard.readers import Table

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


def build_counties_townships_communities(ctx: Context, tables: dict[str, Table], plan: Plan) -> None:
    m = ctx.manifest
    # communities, from their file or the grids' codes
    comms: list[Community] = []
    if "communities" in tables:
        t = tables["communities"]
        for i in range(len(t)):
            code, name = t.text(i, "code"), t.text(i, "name")
            if not check_unique(ctx, t, i, "communities", code):
                continue
            assert code is not None
            ok = True
            if not COMMUNITY_CODE.match(code):
                ctx.bad(t, i, f"community code {code!r} must be the 12-digit 统计用区划代码", "code", code)
                ok = False
            if name is None:
                ctx.bad(t, i, "name is missing", "name", code)
                ok = False
            geom = feature_area(ctx, t, i, code)
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
            comm = t.text(i, "community") or grid_community(code)
            if (
                comm
                and COMMUNITY_CODE.match(comm)
                and g is not None
                and g.geom_type in ("Polygon", "MultiPolygon")
            ):
                parts[comm].append(g)
        for code in sorted(parts):
            comms.append(Community(code, code, "village", code[:9], as_multi(shapely.union_all(parts[code]))))
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
            if not check_unique(ctx, t, i, "townships", code):
                continue
            assert code is not None
            ok = True
            if not TOWNSHIP_CODE.match(code):
                ctx.bad(t, i, f"township code {code!r} must be the 9-digit 统计用区划代码", "code", code)
                ok = False
            if name is None:
                ctx.bad(t, i, "name is missing", "name", code)
                ok = False
            geom = feature_area(ctx, t, i, code)
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
            towns.append(Township(code, code, "township", "", as_multi(shapely.union_all(groups[code]))))
            ctx.where[("townships", code)] = ("communities", -1)
        ctx.derived(f"{len(towns)} townships as the unions of their communities (9-digit code prefix)")
    # counties
    counties: list[County] = []
    if "counties" in tables:
        t = tables["counties"]
        for i in range(len(t)):
            code, name = t.text(i, "code") or m.county.get("code"), t.text(i, "name") or m.county.get("name")
            if not check_unique(ctx, t, i, "counties", code):
                continue
            assert code is not None
            geom = feature_area(ctx, t, i, code)
            if geom is None:
                continue
            if not geom.is_valid:
                fixed = as_multi(shapely.make_valid(geom))
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
            counties.append(County(code, name or code, as_multi(geom)))
    else:
        prefixes = sorted({tw.code[:6] for tw in towns})
        if m.county.get("code") and len(prefixes) <= 1:
            prefixes = [m.county["code"]]
        for p in prefixes:
            mine = [tw for tw in towns if tw.code.startswith(p)] if len(prefixes) > 1 else towns
            geom = as_multi(shapely.union_all([tw.geom for tw in mine])) if mine else shapely.MultiPolygon()
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
    by_name = codes_by_name(counties)
    cands = [(c.code, c.geom) for c in counties]
    for tw in towns:
        cty = lookup_code(by_code, by_name, tw.county or None) or (
            tw.code[:6] if tw.code[:6] in by_code else None
        )
        if cty is None and len(counties) == 1:
            cty = counties[0].code
        if cty is None:
            cty = largest_overlap(tw.geom, cands)
        if cty is None:
            src = ctx.where.get(("townships", tw.code), ("townships", None))
            ctx.bad(src[0], src[1], "lies in no county", "county", tw.code)
            continue
        tw.county = cty
    towns = [tw for tw in towns if tw.county in by_code]
    outline = shapely.union_all([c.geom for c in counties])
    label = tables["townships"].spec.label if "townships" in tables else "townships"
    repair_layer(ctx, "townships", towns, outline, "townships")
    # community → township: column (code or name), else code prefix, else largest overlap
    t_code = {tw.code: tw for tw in towns}
    t_name = codes_by_name(towns)
    t_cands = [(tw.code, tw.geom) for tw in towns]
    t_tree = tree_of(t_cands) if t_cands else None
    kept = []
    for c in comms:
        tw_code = lookup_code(t_code, t_name, c.township)
        if tw_code is None:
            tw_code = largest_overlap(c.geom, t_cands, t_tree) if t_cands else None
        if tw_code is None:
            src = ctx.where.get(("communities", c.code), (label, None))
            ctx.bad(
                src[0], src[1], f"unknown township {c.township!r} and it overlaps none", "township", c.code
            )
            continue
        c.township = tw_code
        kept.append(c)
    repair_layer(ctx, "communities", kept, outline, "communities")
    plan.counties, plan.townships, plan.communities = counties, towns, kept


