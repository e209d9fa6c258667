"""Build step: sectors, stations, zones and grids — read, or derived (one sector per county,
one zone per station polygon, grids as community ∩ zone) (jurisgrid/onboard/build.py)."""

from __future__ import annotations

from collections import defaultdict

import shapely
from shapely.geometry.base import BaseGeometry

from jurisgrid.geo.validate import area_m2, polygons_only
from jurisgrid.onboard.derive import (
    MIN_PIECE_M2,
    STATION_KINDS,
    TRUE,
    ZONE_KINDS,
    Context,
    as_multi,
    check_unique,
    codes_by_name,
    feature_area,
    grid_code_problem,
    grid_community,
    largest_overlap,
    lookup_code,
    repair_layer,
    tree_of,
)
from jurisgrid.onboard.plan import (
    Grid,
    Plan,
    Sector,
    Station,
    Zone,
)
from jurisgrid.onboard.readers import Table

# --- policing units -------------------------------------------------------------------------------


def _county_of(plan: Plan, g: BaseGeometry) -> str | None:
    for c in plan.counties:
        if c.geom.intersects(g):
            return c.code
    return None


def build_sectors(ctx: Context, tables: dict[str, Table], plan: Plan) -> None:
    if "sectors" in tables:
        t = tables["sectors"]
        c_code = {c.code: c for c in plan.counties}
        c_name = codes_by_name(plan.counties)
        for i in range(len(t)):
            code, name = t.text(i, "code"), t.text(i, "name")
            if not check_unique(ctx, t, i, "sectors", code):
                continue
            assert code is not None
            county = lookup_code(c_code, c_name, t.text(i, "county"))
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


def build_stations(ctx: Context, tables: dict[str, Table], plan: Plan) -> None:
    if "stations" not in tables:
        ctx.bad(
            "stations", None, "no station file (派出所: points with attributes, or jurisdiction polygons)"
        )
        return
    t = tables["stations"]
    s_code = {s.code: s for s in plan.sectors}
    s_name = codes_by_name(plan.sectors)
    default_sector: dict[str, list[str]] = {}
    for s in plan.sectors:
        default_sector.setdefault(s.county, []).append(s.code)
    for i in range(len(t)):
        code, name = t.text(i, "code"), t.text(i, "name")
        if not check_unique(ctx, t, i, "stations", code):
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
        sector = lookup_code(s_code, s_name, t.text(i, "sector"))
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
                as_multi(area) if area is not None else None,
            )
        )


def build_zones(ctx: Context, tables: dict[str, Table], plan: Plan) -> None:
    st_code = {s.code: s for s in plan.stations}
    st_name = codes_by_name(plan.stations)
    st_areas = [(s.code, s.area) for s in plan.stations if s.area is not None]
    outline = shapely.union_all([c.geom for c in plan.counties])
    if "zones" in tables:
        t = tables["zones"]
        st_tree = tree_of(st_areas) if st_areas else None
        for i in range(len(t)):
            code, name = t.text(i, "code"), t.text(i, "name")
            if not check_unique(ctx, t, i, "zones", code):
                continue
            assert code is not None
            g = t.geoms[i]
            geom = None
            if g is not None:
                geom = feature_area(ctx, t, i, code)
                if geom is None:
                    continue
            given = t.text(i, "station")
            station = lookup_code(st_code, st_name, given)
            if station is None and given is not None:
                ctx.bad(t, i, f"unknown station {given!r}", "station", code)
                continue
            if station is None and geom is not None:
                station = (largest_overlap(geom, st_areas, st_tree) if st_areas else None) or next(
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
            plan.zones.append(Zone(code, name or code, kind, office, station,
                                   as_multi(geom) if geom else None))
        with_geom = [z for z in plan.zones if z.geom is not None]
        if with_geom and "grids" not in tables:
            repair_layer(ctx, "zones", with_geom, outline, "zones")
    elif "grids" in tables and (tables["grids"].has("zone") or "grid_zones" in tables):
        return  # zones come from the grids' zone codes (in build_grids)
    elif st_areas:
        for s in plan.stations:
            if s.area is not None:
                plan.zones.append(Zone(f"{s.code}Z01", f"{s.name}警务区", None, False, s.code, s.area))
                ctx.where[("zones", f"{s.code}Z01")] = ctx.where.get(("stations", s.code), ("stations", -1))
        ctx.derived(f"{len(plan.zones)} zones: one per station polygon (no zone file)")
        repair_layer(ctx, "zones (from station polygons)", plan.zones, outline, "zones")
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


def build_grids(ctx: Context, tables: dict[str, Table], plan: Plan) -> None:
    comm = {c.code: c for c in plan.communities}
    if "grids" not in tables:
        _generate_grids(ctx, plan)
        return
    t = tables["grids"]
    c_name = codes_by_name(plan.communities)
    c_cands = [(c.code, c.geom) for c in plan.communities]
    c_tree = tree_of(c_cands)
    z_code = {z.code: z for z in plan.zones}
    z_name = codes_by_name(plan.zones)
    z_cands = [(z.code, z.geom) for z in plan.zones if z.geom is not None]
    z_tree = tree_of(z_cands) if z_cands else None
    table_zone = _grid_zone_table(ctx, tables)
    st_code = {s.code: s for s in plan.stations}
    st_name = codes_by_name(plan.stations)
    derive_zones = "zones" not in tables
    derived_zones: dict[str, str] = {}
    pending: list[tuple[int, str | None, str, str, str, BaseGeometry]] = []
    for i in range(len(t)):
        code = t.text(i, "code")
        geom = feature_area(ctx, t, i, code)
        if geom is None:
            continue
        community = lookup_code(comm, c_name, t.text(i, "community"))
        if community is None and t.text(i, "community") is not None:
            ctx.bad(t, i, f"unknown community {t.text(i, 'community')!r}", "community", code)
            continue
        carried = grid_community(code)
        if community is None and carried is not None and carried in comm:
            community = carried
        if community is None:
            community = largest_overlap(geom, c_cands, c_tree)
        if community is None:
            ctx.bad(t, i, "lies in no community", "community", code)
            continue
        if code is not None:
            why = grid_code_problem(code, community)
            if why is not None:
                ctx.bad(t, i, why, "code", code)
                continue
            if not check_unique(ctx, t, i, "grids", code):
                continue
        zone_given = t.text(i, "zone") or (table_zone.get(code) if code else None)
        zone = lookup_code(z_code, z_name, zone_given)
        if zone is None and zone_given is not None and derive_zones:
            station_given = t.text(i, "station")
            station = lookup_code(st_code, st_name, station_given)
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
            zone = largest_overlap(geom, z_cands, z_tree) if z_cands else None
        if zone is None:
            ctx.bad(
                t,
                i,
                "no zone: give a zone column (code or name), a grid→zone table, or zone polygons it overlaps",
                "zone",
                code,
            )
            continue
        pending.append((i, code, t.text(i, "name") or "", community, zone, as_multi(geom)))
    for zcode, station in sorted(derived_zones.items()):
        plan.zones.append(
            Zone(zcode, zcode, "urban" if st_code[station].kind == "urban" else "rural", False, station)
        )
    if derived_zones:
        ctx.derived(f"{len(derived_zones)} zones from the grids' zone codes (no zone file)")
    # codes for grids without one: community + the next free 3-digit sequence
    used: dict[str, set[int]] = defaultdict(set)
    for _, code, _name, community, *_ in pending:
        suffix = code[len(community):] if code is not None and code.startswith(community) else ""
        if suffix.isdigit():  # a code of the default form <community><nnn>
            used[community].add(int(suffix))
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
        if repair_layer(ctx, f"grids of community {community}", grids, comm[community].geom, "grids"):
            plan.grids.extend(grids)


def _generate_grids(ctx: Context, plan: Plan) -> None:
    zones = [z for z in plan.zones if z.geom is not None]
    if not zones:
        ctx.bad("grids", None, "no grid file, and no zone polygons to generate grids from")
        return
    z_cands = [(z.code, z.geom) for z in zones]
    tree = tree_of(z_cands)
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
        if repair_layer(ctx, f"grids of community {c.code}", grids, c.geom, "grids"):
            plan.grids.extend(grids)
    ctx.derived(
        f"{len(plan.grids)} grids generated as community ∩ zone pieces (no grid file); codes: "
        f"community code + 3 digits"
        + (f"; {small} piece(s) under {MIN_PIECE_M2} m² left to their neighbours" if small else "")
    )


