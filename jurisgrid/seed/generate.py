"""Deterministic generator of the demo county (渠县, Qu County, Dazhou, Sichuan), or of several
neighbouring counties at once (``generate_counties``: the seven of 达州, ``seed demo
--prefecture 5117``).

``generate(scale, seed)`` builds, in order: the repaired outline; 37 township polygons; 415
community polygons; address points; grids; the bottom-up re-derivation of communities,
townships and the outline from the grids (so every level nests exactly); point membership;
stations, sectors and zones; incidents; personnel.

Several counties are generated each in its own frame (metres from its seat), but every tiling
level — townships, communities, grids — is cut for all of them in **one** exact partition
(tiling.py) in the common frame, their sites shifted into it: a border two counties share is
noded once, so their grids share it bit for bit and tile the prefecture with no gap or overlap.

Everything structural (townships, communities, stations, sectors, zones, staffing) depends only
on ``seed``; ``scale`` multiplies residents, households, address points and incidents, and hence
the grids.  Each random stream is derived from ``(seed, stage, item)`` so that one community's
draws do not shift another's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

from .addresses import Pattern, community_points, pattern_of, target_population
from .admin import (
    CommunityLayout,
    TownshipLayout,
    check_communities,
    community_sites,
    township_anchors,
    township_sites,
)
from .frame import M2_PER_DEG2, centred_on, km2, offset, to_xy
from .grids import build_grids, grid_hint, grid_sites
from .incidents import URBAN_HOT_SPOTS, Sources, generate_incidents
from .model import AddressArrays, Community, DemoCounty, Grid, Sector, Station, Township, Zone
from .personnel import generate_persons
from .points import Locator, nudge_inside
from .policing import edge_adjacency, plan_sectors, plan_stations, plan_zones
from .reference import (
    CommunityRef,
    CountyRef,
    TownshipRef,
    qu_county,
    repair_outline,
    seat_of,
)
from .tiling import Sites, dissolve, partition

Progress = Callable[[str, int, int], None]
STAGES = ("outline", "townships", "communities", "addresses", "grids", "membership",
          "policing", "incidents", "personnel")
SIGMA_M: dict[Pattern, float] = {"urban": 25.0, "town": 35.0, "village": 60.0}
QU_COMMUNITIES = 415  # incidents.PER_YEAR is 渠县's: other counties get it per community


class Rng:
    """The random streams of one county: ``(seed, *streams, stage, item)``."""

    def __init__(self, seed: int, streams: tuple[int, ...] = ()) -> None:
        self.seed, self.streams = seed, streams

    def __call__(self, *keys: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *self.streams, *keys])


def _quiet(stage: str, done: int, total: int) -> None:
    return None


@dataclass
class _Admin:
    towns: list[TownshipRef]
    comms: list[CommunityRef]
    comm_town: list[int]
    members: list[list[int]]
    comm_geoms: list[Polygon]
    seat_comm: list[int]
    anchors: list[tuple[float, float]]
    patterns: list[Pattern]
    population: np.ndarray  # scale-1 target population per community


def _by_town(ref: CountyRef) -> list[list[CommunityRef]]:
    return [[c for c in ref.comms if c.township_code == t.code] for t in ref.towns]


def _admin(rng: Rng, ref: CountyRef, tl: TownshipLayout, cl: CommunityLayout) -> _Admin:
    towns = ref.towns
    by_town = _by_town(ref)
    comms = [c for cs in by_town for c in cs]
    comm_town = [t for t, cs in enumerate(by_town) for _ in cs]
    offsets = np.cumsum([0] + [len(cs) for cs in by_town])
    members = [list(range(offsets[t], offsets[t + 1])) for t in range(len(towns))]
    seat_comm = [int(offsets[t]) + s for t, s in enumerate(cl.seat_index)]
    patterns = [pattern_of(towns[comm_town[c]].kind, comms[c].kind) for c in range(len(comms))]
    seats = set(seat_comm)
    population = np.array([target_population(rng(3, c), patterns[c], c in seats)
                           for c in range(len(comms))])
    geoms = [g for gs in cl.geoms for g in gs]
    return _Admin(towns, comms, comm_town, members, geoms, seat_comm, tl.anchors, patterns,
                  population)


def _addresses(rng: Rng, county_name: str, scale: float, adm: _Admin,
               emit: Progress) -> AddressArrays:
    n = len(adm.comms)
    parts = []
    for c in range(n):
        t = adm.towns[adm.comm_town[c]]
        prefix = f"{county_name}{t.name}{adm.comms[c].name}"
        parts.append(community_points(rng(4, c), adm.comm_geoms[c], adm.patterns[c],
                                      adm.population[c], scale, prefix))
        if c % 25 == 24:
            emit("addresses", c + 1, n)
    counts = [len(p.lon) for p in parts]
    if max(counts) > 99_999:
        raise ValueError("more than 99,999 address points in one community: lower the scale")
    codes = [f"{adm.comms[c].code}{i + 1:05d}" for c in range(n) for i in range(counts[c])]
    emit("addresses", n, n)
    return AddressArrays(
        lon=np.concatenate([p.lon for p in parts]),
        lat=np.concatenate([p.lat for p in parts]),
        households=np.concatenate([p.households for p in parts]),
        population=np.concatenate([p.population for p in parts]),
        houses=np.concatenate([p.houses for p in parts]),
        units=np.concatenate([p.units for p in parts]),
        community_idx=np.repeat(np.arange(n, dtype=np.int64), counts),
        grid_idx=np.full(sum(counts), -1, dtype=np.int64),
        code=codes,
        address=[a for p in parts for a in p.address],
    )


def _grid_sites(rng: Rng, adm: _Admin, addr: AddressArrays, emit: Progress) -> list[Sites]:
    """The grid sites (frame metres) of every community of one county."""
    n = len(adm.comms)
    x, y = to_xy(addr.lon, addr.lat)
    xy = np.column_stack([x, y])
    bounds = np.searchsorted(addr.community_idx, np.arange(n + 1))
    sites = []
    for c in range(n):
        sl = slice(bounds[c], bounds[c + 1])
        sites.append(grid_sites(rng(5, c), xy[sl], addr.households[sl].astype(float)))
        if c % 25 == 24:
            emit("grids", c + 1, n + 1)
    return sites


def _grid_hint(adm: _Admin, addr: AddressArrays, sites: list[Sites],
               cells: list[list[Polygon]], ranks: list[np.ndarray]) -> np.ndarray:
    """A likely grid index (into the county's flat list) per point."""
    n = len(adm.comms)
    x, y = to_xy(addr.lon, addr.lat)
    xy = np.column_stack([x, y])
    bounds = np.searchsorted(addr.community_idx, np.arange(n + 1))
    first = np.cumsum([0] + [len(cs) for cs in cells])
    hint = np.full(len(addr.lon), -1, dtype=np.int64)
    for c in range(n):
        sl = slice(bounds[c], bounds[c + 1])
        local = grid_hint(xy[sl], sites[c], ranks[c])
        hint[sl] = np.where(local >= 0, local + first[c], -1)
    return hint


def _assign_points(
    rng_of: Rng,
    addr: AddressArrays,
    locator: Locator,
    grid_geoms: list[Polygon],
    grid_comm: np.ndarray,
    hint: np.ndarray,
) -> None:
    """Set ``grid_idx`` from the final grid polygons, nudging points too near a boundary."""
    gidx = locator(addr.lon, addr.lat, hint)
    for attempt in range(3):
        bad = np.flatnonzero((gidx < 0) | (grid_comm[np.maximum(gidx, 0)] != addr.community_idx))
        if len(bad) == 0:
            break
        rng = rng_of(6, attempt)
        target = np.empty(len(bad), dtype=np.int64)
        for c in np.unique(addr.community_idx[bad]).tolist():
            own = np.flatnonzero(grid_comm == c)
            mine = np.flatnonzero(addr.community_idx[bad] == c)
            sel = bad[mine]
            pts = shapely.points(addr.lon[sel], addr.lat[sel])
            dist = shapely.distance(np.asarray([grid_geoms[g] for g in own])[:, None], pts[None, :])
            target[mine] = own[np.argmin(dist, axis=0)]
            for g in np.unique(target[mine]).tolist():
                s = sel[target[mine] == g]
                addr.lon[s], addr.lat[s] = nudge_inside(grid_geoms[g], addr.lon[s], addr.lat[s], rng)
        gidx[bad] = locator(addr.lon[bad], addr.lat[bad], target)
    if (gidx < 0).any() or (grid_comm[gidx] != addr.community_idx).any():
        raise RuntimeError("address points could not be placed strictly inside their grids")
    addr.grid_idx = gidx


def _seat_point(addr: AddressArrays, bounds: np.ndarray, c: int, near: tuple[float, float],
                by_units: bool = False) -> tuple[Point, int]:
    sl = np.arange(bounds[c], bounds[c + 1])
    x, y = to_xy(addr.lon[sl], addr.lat[sl])
    d = np.hypot(x - near[0], y - near[1])
    key = np.lexsort((d, -addr.units[sl])) if by_units else np.lexsort((d, addr.households[sl] == 0))
    i = int(sl[key[0]])
    return Point(addr.lon[i], addr.lat[i]), i


@dataclass
class _Geometry:
    comms: list[Polygon]
    towns: list[Polygon]
    outline: Polygon
    grids: list[Polygon]
    grid_comm: np.ndarray


def _rederive(grid_cells: list[list[Polygon]], adm: _Admin, outline: Polygon,
              repairs: list[str]) -> _Geometry:
    """Communities, townships and the outline as exact unions of the final grids."""
    comms = [dissolve(gs) for gs in grid_cells]
    towns = [dissolve([comms[c] for c in m]) for m in adm.members]
    final = dissolve(towns)
    moved = float(shapely.area(shapely.symmetric_difference(final, outline))) * M2_PER_DEG2
    repairs.append(
        f"final outline = union of the grids ({km2(final):.3f} km², {final.geom_type}); it "
        f"differs from the repaired outline by {moved:.1f} m² where snap-rounded nodes bent "
        "edges by less than 1e-7°"
    )
    grids = [g for gs in grid_cells for g in gs]
    grid_comm = np.repeat(np.arange(len(grid_cells)), [len(gs) for gs in grid_cells])
    return _Geometry(comms, towns, final, grids, grid_comm)


@dataclass
class _Police:
    sectors: list[Sector]
    stations: list[Station]
    zones: list[Zone]
    zone_population: dict[str, float]  # scale-1 residents per zone
    community_zone: dict[int, str]


def _police(rng_of: Rng, ref: CountyRef, adm: _Admin, geo: _Geometry,
            addr: AddressArrays) -> _Police:
    """Sectors, stations (seat at an address point of their seat community) and zones."""
    bounds = np.searchsorted(addr.community_idx, np.arange(len(adm.comms) + 1))
    graph = edge_adjacency(geo.comms)
    cen = shapely.centroid(geo.comms)
    cxy = np.column_stack(to_xy(shapely.get_x(cen), shapely.get_y(cen)))
    pop = adm.population.tolist()
    plans = plan_stations(adm.towns, adm.comms, adm.comm_town, graph, cxy, pop, adm.seat_comm)
    sector_plans = plan_sectors(plans, np.array([cxy[p.communities].mean(axis=0) for p in plans]))
    sectors = [Sector(f"{ref.code}SQ{i + 1:02d}", s.name) for i, s in enumerate(sector_plans)]
    sector_of = {st: sectors[i].code for i, s in enumerate(sector_plans) for st in s.stations}
    rng = rng_of(7)
    out = _Police(sectors, [], [], {}, {})
    for i, p in enumerate(plans):
        code = f"{ref.code}PS{i + 1:02d}"
        t = adm.comm_town[p.seat_community]
        near = adm.anchors[t] if p.seat_community == adm.seat_comm[t] else tuple(cxy[p.seat_community])
        seat, a = _seat_point(addr, bounds, p.seat_community, near, by_units=True)
        phone = f"0818-73{i + 1:02d}{int(rng.integers(0, 10_000)):04d}"
        out.stations.append(Station(code, f"{ref.name}公安局{p.short}派出所", p.kind,
                                    sector_of[i], seat, addr.address[a], phone,
                                    [adm.comms[c].code for c in p.communities]))
        zplans = plan_zones(p, adm.towns, adm.comms, adm.comm_town, graph, pop)
        for n, z in enumerate(zplans, start=1):
            zcode = f"{code}Z{n:02d}"
            out.zones.append(Zone(zcode, z.name, code, z.kind, z.has_office,  # type: ignore[arg-type]
                                  [adm.comms[c].code for c in z.communities]))
            out.zone_population[zcode] = float(adm.population[z.communities].sum())
            out.community_zone.update({c: zcode for c in z.communities})
    return out


def generate(scale: float = 1.0, seed: int = 0, progress: Progress | None = None) -> DemoCounty:
    """Generate the demo county; see the module docstring.  ``progress(stage, done, total)``
    is called at stage boundaries (stages: ``STAGES``) and every 25 communities within the
    address and grid stages."""
    (county,) = generate_counties([qu_county()], scale=scale, seed=seed, progress=progress)
    return county


def _shifted(sites: Sites, seat: tuple[float, float]) -> Sites:
    """``sites`` of the county seated at ``seat`` in the common frame (a translation)."""
    dx, dy = offset(seat)
    return Sites(sites.centres + np.array([dx, dy]), sites.weights, sites.anchors,
                 sites.background)


def _one_piece(outline: Polygon | MultiPolygon, repairs: list[str]) -> Polygon:
    """The outline's largest part: the layout tiles one piece (大竹县 ships eight specks
    besides its body; each dropped one is reported)."""
    if isinstance(outline, Polygon):
        return outline
    parts = sorted(outline.geoms, key=lambda g: -g.area)
    for g in parts[1:]:
        repairs.append(f"dropped a detached part of {km2(g) * 1e6:,.0f} m² at "
                       f"({g.representative_point().x:.4f}, {g.representative_point().y:.4f}): "
                       "the generator tiles the outline's main piece")
    return parts[0]


def generate_counties(refs: list[CountyRef], scale: float = 1.0, seed: int = 0,
                      progress: Progress | None = None,
                      first_person: int = 1) -> list[DemoCounty]:
    """Generate neighbouring counties together (module docstring): each as :func:`generate`
    would alone, except that every tiling level is cut for all of them at once, so that they
    tile their union exactly. Person codes are numbered on across the counties."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    emit = progress or _quiet
    emit("outline", 0, 1)
    rngs = [Rng(seed, r.streams) for r in refs]
    outlines, repairs, seats = [], [], []
    for r in refs:
        outline, msgs = repair_outline(r.raw_outline)
        if len(refs) > 1:
            outline = _one_piece(outline, msgs)
        outlines.append(outline)
        repairs.append(msgs)
        seats.append(r.seat or seat_of(outline))
    emit("outline", 1, 1)

    emit("townships", 0, 1)
    tsites = []
    for r, rng, outline, seat in zip(refs, rngs, outlines, seats, strict=True):
        with centred_on(seat):
            tsites.append(township_sites(rng(1), outline, r.towns, r.comms))
    tcells = partition(outlines, [_shifted(t, seat) for t, seat in zip(tsites, seats, strict=True)])
    emit("townships", 1, 1)

    emit("communities", 0, 1)
    layouts, csites, cseats = [], [], []
    for r, rng, ts, cells, seat in zip(refs, rngs, tsites, tcells, seats, strict=True):
        with centred_on(seat):
            tl = township_anchors(r.towns, ts, cells)
            sites, seat_index = community_sites(rng(2), r.towns, _by_town(r), tl)
        layouts.append(tl)
        csites.append([_shifted(x, seat) for x in sites])
        cseats.append(seat_index)
    ccells = partition([g for tl in layouts for g in tl.geoms], [x for cs in csites for x in cs])
    adms = []
    at = 0
    for r, rng, tl, seat_index in zip(refs, rngs, layouts, cseats, strict=True):
        mine = ccells[at:at + len(r.towns)]
        at += len(r.towns)
        check_communities(r.towns, mine)
        adms.append(_admin(rng, r, tl, CommunityLayout(mine, seat_index)))
    emit("communities", 1, 1)

    addrs, gsites = [], []
    for r, rng, adm, seat in zip(refs, rngs, adms, seats, strict=True):
        with centred_on(seat):
            addr = _addresses(rng, r.name, scale, adm, emit)
            addrs.append(addr)
            gsites.append(_grid_sites(rng, adm, addr, emit))
    all_cells, all_ranks = build_grids(
        [g for adm in adms for g in adm.comm_geoms],
        [_shifted(x, seat) for gs, seat in zip(gsites, seats, strict=True) for x in gs])
    emit("grids", 1, 1)

    out = []
    at = 0
    for i, (r, rng, adm, addr, seat) in enumerate(zip(refs, rngs, adms, addrs, seats, strict=True)):
        n = len(adm.comms)
        cells, ranks = all_cells[at:at + n], all_ranks[at:at + n]
        at += n
        with centred_on(seat):
            hint = _grid_hint(adm, addr, gsites[i], cells, ranks)
            county = _finish(rng, r, scale, adm, addr, outlines[i], repairs[i], cells, hint, emit,
                             first_person)
        first_person += len(county.persons)
        out.append(county)
    return out


def _finish(rng: Rng, ref: CountyRef, scale: float, adm: _Admin, addr: AddressArrays,
            outline: Polygon, repairs: list[str], grid_cells: list[list[Polygon]],
            hint: np.ndarray, emit: Progress, first_person: int) -> DemoCounty:
    """Everything after the grids, for one county in its own frame."""
    emit("membership", 0, 1)
    geo = _rederive(grid_cells, adm, outline, repairs)
    locator = Locator(geo.grids)
    _assign_points(rng, addr, locator, geo.grids, geo.grid_comm, hint)
    emit("membership", 1, 1)

    emit("policing", 0, 1)
    bounds = np.searchsorted(addr.community_idx, np.arange(len(adm.comms) + 1))
    townships = [
        Township(r.code, r.name, r.kind, geo.towns[t],
                 _seat_point(addr, bounds, adm.seat_comm[t], adm.anchors[t])[0])
        for t, r in enumerate(adm.towns)
    ]
    communities = [Community(r.code, r.name, r.township_code, r.kind, geo.comms[c])
                   for c, r in enumerate(adm.comms)]
    pol = _police(rng, ref, adm, geo, addr)
    grids = [
        Grid(f"{adm.comms[c].code}{n:03d}", f"{adm.comms[c].name}第{n}网格", adm.comms[c].code,
             pol.community_zone[c], g)
        for c, gs in enumerate(grid_cells) for n, g in enumerate(gs, start=1)
    ]
    emit("policing", 1, 1)
    emit("incidents", 0, 1)
    src = _sources(rng, addr, adm, pol.stations)
    # as many incidents per community as 渠县 has (415 communities: factor 1 there)
    incidents = generate_incidents(rng(8), scale * len(adm.comms) / QU_COMMUNITIES, src, locator,
                                   county_code=ref.code)
    emit("incidents", 1, 1)
    emit("personnel", 0, 1)
    persons = generate_persons(rng(9), pol.stations, pol.zones, pol.zone_population, grids,
                               first_number=first_person)
    emit("personnel", 1, 1)
    return DemoCounty(ref.code, ref.name, geo.outline, repairs, pol.sectors, townships,
                      communities, pol.stations, pol.zones, grids, addr, incidents, persons)


def _sources(rng_of: Rng, addr: AddressArrays, adm: _Admin, stations: list[Station]) -> Sources:
    """Incident origins: address points, 5 urban hot spots and the central-town markets."""
    rng = rng_of(10)
    pattern = np.asarray(adm.patterns)[addr.community_idx]
    sigma = np.vectorize(SIGMA_M.__getitem__, otypes=[float])(pattern)
    x, y = to_xy(addr.lon, addr.lat)
    urban = np.flatnonzero((pattern == "urban") & (np.hypot(x, y) < 3000))
    if len(urban) == 0:
        urban = np.flatnonzero(pattern == "urban")
    w = (addr.units[urban] + 1.0) ** 2
    k = min(len(URBAN_HOT_SPOTS), len(urban))
    hot = rng.choice(urban, size=k, replace=False, p=w / w.sum())
    markets = [s.seat for s in stations if s.kind == "central"]
    return Sources(
        lon=addr.lon, lat=addr.lat, grid=addr.grid_idx,
        weight=addr.population + 3.0 * addr.units + 0.1,
        sigma=sigma,
        hot_lon=np.r_[addr.lon[hot], [p.x for p in markets]],
        hot_lat=np.r_[addr.lat[hot], [p.y for p in markets]],
        hot_kind=list(URBAN_HOT_SPOTS[:k]) + ["market"] * len(markets),
        hot_weight=np.r_[np.full(k, 3.0), np.ones(len(markets))],
    )
