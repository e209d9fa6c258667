from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict

import numpy as np
import pytest
import shapely

from jurisgrid.seed.frame import M2_PER_DEG2, MARGIN
from jurisgrid.seed.generate import generate
from jurisgrid.seed.model import INCIDENT_CATEGORIES, ROLE_LABELS, DemoCounty
from jurisgrid.seed.tiling import TOLERANCE_M2, check_tiling, dissolve

from .conftest import SCALE


def fingerprint(c: DemoCounty) -> str:
    """Digest of everything the generator returns (geometries as WKB)."""
    h = hashlib.sha256()

    def put(x: object) -> None:
        h.update(repr(x).encode())

    for g in [c.outline] + [t.geom for t in c.townships] + [m.geom for m in c.communities] + [
        g.geom for g in c.grids
    ]:
        h.update(shapely.to_wkb(g))
    put(c.repairs)
    put([(t.code, t.name, t.kind, t.seat.wkt) for t in c.townships])
    put([(m.code, m.name, m.township_code, m.kind) for m in c.communities])
    put([(s.code, s.name, s.kind, s.sector_code, s.seat.wkt, s.address, s.phone) for s in c.stations])
    put(c.sectors)
    put(c.zones)
    put([(g.code, g.name, g.community_code, g.zone_code) for g in c.grids])
    put(c.persons)
    a, i = c.addresses, c.incidents
    for arr in (a.lon, a.lat, a.households, a.population, a.houses, a.units, a.community_idx,
                a.grid_idx, i.lon, i.lat, i.category, i.occurred_at, i.grid_idx):
        h.update(np.ascontiguousarray(arr).tobytes())
    put(a.code)
    put(a.address)
    put(i.code)
    return h.hexdigest()


def test_deterministic(county: DemoCounty, county_seed1: DemoCounty) -> None:
    assert fingerprint(generate(SCALE, seed=0)) == fingerprint(county)
    assert fingerprint(county_seed1) != fingerprint(county)
    moved = shapely.area(shapely.symmetric_difference(county.townships[5].geom,
                                                      county_seed1.townships[5].geom))
    assert moved * M2_PER_DEG2 > 1e6  # a different seed lays out different townships


def test_counts(county: DemoCounty) -> None:
    assert (county.code, county.name) == ("511725", "渠县")
    assert len(county.townships) == 37
    assert len(county.communities) == 415
    assert len(county.sectors) == 7
    assert len(county.stations) == 21
    assert Counter(s.kind for s in county.stations) == {"urban": 4, "central": 7, "rural": 10}
    assert Counter(s.sector_code for s in county.stations) == {s.code: 3 for s in county.sectors}
    assert [s.code for s in county.sectors] == [f"511725SQ{i:02d}" for i in range(1, 8)]
    assert [s.code for s in county.stations] == [f"511725PS{i:02d}" for i in range(1, 22)]
    assert len({s.name for s in county.stations}) == 21
    assert all(re.fullmatch(r"渠县公安局\w+派出所", s.name) for s in county.stations)
    assert len(county.grids) >= len(county.communities)
    assert len(county.incidents) == round(50_000 * SCALE)


def test_hierarchy_tiles_exactly(county: DemoCounty) -> None:
    assert county.outline.is_valid and county.outline.geom_type == "Polygon"
    assert check_tiling(county.outline, [t.geom for t in county.townships]) == []
    by_town = defaultdict(list)
    for m in county.communities:
        by_town[m.township_code].append(m.geom)
    for t in county.townships:
        assert check_tiling(t.geom, by_town[t.code]) == [], t.name
    by_comm = defaultdict(list)
    for g in county.grids:
        by_comm[g.community_code].append(g.geom)
    for m in county.communities:
        assert check_tiling(m.geom, by_comm[m.code]) == [], m.name
    grids = np.asarray([g.geom for g in county.grids], dtype=object)
    assert check_tiling(county.outline, list(grids)) == []
    assert shapely.coverage_is_valid(grids)
    union = shapely.coverage_union_all(grids)
    gap = shapely.area(shapely.symmetric_difference(union, county.outline)) * M2_PER_DEG2
    overlap = (shapely.area(grids).sum() - union.area) * M2_PER_DEG2
    assert gap <= TOLERANCE_M2 and overlap <= TOLERANCE_M2


def test_vertices_on_precision_grid(county: DemoCounty) -> None:
    coords = shapely.get_coordinates([g.geom for g in county.grids])
    assert np.abs(coords * 1e7 - np.round(coords * 1e7)).max() < 1e-3


def test_codes_and_names(county: DemoCounty) -> None:
    codes = {m.code: m for m in county.communities}
    seq: Counter[str] = Counter()
    for g in county.grids:
        m = codes[g.community_code]
        seq[m.code] += 1
        assert g.code == f"{m.code}{seq[m.code]:03d}"
        assert g.name == f"{m.name}第{seq[m.code]}网格"
    a = county.addresses
    assert len(set(a.code)) == len(a)
    assert all(code.startswith(county.communities[c].code) and len(code) == 17
               for code, c in zip(a.code, a.community_idx.tolist(), strict=True))
    assert a.address[0].startswith("渠县渠江街道庆丰社区 ")
    village = [s for s, c in zip(a.address, a.community_idx.tolist(), strict=True)
               if county.communities[c].kind == "village"]
    assert all(re.fullmatch(r"渠县\w+(镇|乡|街道)\w+村 \d+组 \d+号", s) for s in village)
    assert len(set(county.incidents.code)) == len(county.incidents)


def test_every_community_has_points_and_a_grid(county: DemoCounty) -> None:
    a = county.addresses
    assert set(np.unique(a.community_idx).tolist()) == set(range(len(county.communities)))
    assert {g.community_code for g in county.grids} == {m.code for m in county.communities}
    assert (a.households >= 0).all() and (a.population >= a.households).all()
    assert (a.houses >= 1).all() and (a.units >= 0).all()
    assert ((a.households > 0) | (a.units > 0)).all()


def _inside(polys: list, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    arr = np.asarray(polys, dtype=object)
    pts = shapely.points(lon, lat)
    return shapely.contains(arr, pts) & ~shapely.dwithin(shapely.boundary(arr), pts, MARGIN)


def test_points_strictly_inside_their_grid(county: DemoCounty) -> None:
    grids = [g.geom for g in county.grids]
    a, i = county.addresses, county.incidents
    assert _inside([grids[g] for g in a.grid_idx], a.lon, a.lat).all()
    assert _inside([grids[g] for g in i.grid_idx], i.lon, i.lat).all()
    comms = [m.geom for m in county.communities]
    assert _inside([comms[c] for c in a.community_idx], a.lon, a.lat).all()
    grid_comm = {g.code: g.community_code for g in county.grids}
    assert all(grid_comm[county.grids[g].code] == county.communities[c].code
               for g, c in zip(a.grid_idx.tolist(), a.community_idx.tolist(), strict=True))
    n = len(county.incidents)
    assert shapely.contains_xy(county.outline, i.lon, i.lat).sum() == n
    assert shapely.contains_xy(county.outline, a.lon, a.lat).sum() == len(a)


def test_zones(county: DemoCounty) -> None:
    comm = {m.code: m for m in county.communities}
    seen = Counter(c for z in county.zones for c in z.community_codes)
    assert set(seen) == set(comm) and set(seen.values()) == {1}
    graph_ok = 0
    for z in county.zones:
        assert re.fullmatch(re.escape(z.station_code) + r"Z\d\d", z.code)
        kinds = {comm[c].kind for c in z.community_codes}
        if z.kind == "urban":
            assert len(z.community_codes) == 1 and kinds == {"community"} and z.has_office
            assert z.name == f"{comm[z.community_codes[0]].name}警务区"
        else:
            assert 1 <= len(z.community_codes) <= 4 and kinds == {"village"}
            assert z.has_office == (len(z.community_codes) >= 3)
            assert len({comm[c].township_code for c in z.community_codes}) == 1
            union = dissolve([comm[c].geom for c in z.community_codes])
            assert union.geom_type == "Polygon", z.name  # contiguous
            graph_ok += 1
    assert graph_ok > 50
    zone_of = {c: z.code for z in county.zones for c in z.community_codes}
    assert all(g.zone_code == zone_of[g.community_code] for g in county.grids)


def test_stations(county: DemoCounty) -> None:
    comm = {m.code: m for m in county.communities}
    zones_of = defaultdict(set)
    for z in county.zones:
        zones_of[z.station_code].update(z.community_codes)
    covered = Counter(c for s in county.stations for c in s.community_codes)
    assert set(covered) == set(comm) and set(covered.values()) == {1}
    streets = {t.code for t in county.townships if t.kind == "street"}
    for s in county.stations:
        assert zones_of[s.code] == set(s.community_codes)
        area = dissolve([comm[c].geom for c in s.community_codes])
        assert area.geom_type == "Polygon", s.name  # contiguous jurisdiction
        assert area.contains(s.seat), s.name
        towns = {comm[c].township_code for c in s.community_codes}
        assert (s.kind == "urban") == (towns <= streets)
        assert s.address.startswith("渠县") and s.phone.startswith("0818-")
    urban = {c for s in county.stations if s.kind == "urban" for c in s.community_codes}
    assert urban == {m.code for m in county.communities if m.township_code in streets}
    for s in county.stations:
        if s.kind == "central":
            assert len({comm[c].township_code for c in s.community_codes}) >= 2


def test_township_seats_and_sizes(county: DemoCounty) -> None:
    from jurisgrid.seed.frame import km2

    for t in county.townships:
        assert t.geom.contains(t.seat)
        area = km2(t.geom)
        if t.kind == "street":
            assert 15 <= area <= 40, (t.name, area)
        else:
            assert 25 <= area <= 100, (t.name, area)


def test_personnel(county: DemoCounty) -> None:
    p = county.persons
    assert {x.role for x in p} <= set(ROLE_LABELS)
    assert len({x.code for x in p}) == len(p)
    assert all(re.fullmatch(r"P\d{6}", x.code) and 2 <= len(x.name) <= 3 for x in p)
    roles: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for x in p:
        roles[x.station_code][x.role] += 1
    for s in county.stations:
        assert roles[s.code]["chief"] == 1 and roles[s.code]["instructor"] == 1
        assert 1 <= roles[s.code]["deputy_chief"] <= 3
    aux = Counter(x.community_code for x in p if x.role == "auxiliary" and x.community_code)
    assert set(aux) == {m.code for m in county.communities}
    officers = Counter(x.zone_code for x in p if x.role == "community_officer")
    assert set(officers) == {z.code for z in county.zones}
    workers = Counter(x.grid_code for x in p if x.role == "grid_worker")
    assert set(workers) == {g.code for g in county.grids} and set(workers.values()) == {1}
    zone_of = {c: z for z in county.zones for c in z.community_codes}
    for x in p:
        if x.community_code:
            z = zone_of[x.community_code]
            assert x.zone_code == z.code and x.station_code == z.station_code


def test_incidents(county: DemoCounty) -> None:
    i = county.incidents
    assert set(np.unique(i.category).tolist()) <= set(INCIDENT_CATEGORIES)
    first, last = np.datetime64("2025-11-30T16:00:00"), np.datetime64("2026-11-30T16:00:00")
    assert (i.occurred_at >= first).all() and (i.occurred_at < last).all()
    assert (np.diff(i.occurred_at.astype(np.int64)) >= 0).all()
    shares = Counter(i.category.tolist())
    top = {c for c, _ in shares.most_common(2)}
    assert top == {"ASSISTANCE", "DISPUTE"}


def test_scale_changes_points_not_structure(county: DemoCounty) -> None:
    other = generate(0.03, seed=0)
    assert len(other.addresses) > len(county.addresses)
    assert [(z.code, z.community_codes) for z in other.zones] == [
        (z.code, z.community_codes) for z in county.zones
    ]
    assert [s.community_codes for s in other.stations] == [
        s.community_codes for s in county.stations
    ]


@pytest.mark.parametrize("scale", [0.001])
def test_tiny_scale_still_has_a_point_and_grid_per_community(scale: float) -> None:
    c = generate(scale, seed=2)
    assert len(np.unique(c.addresses.community_idx)) == 415
    assert len(c.grids) == 415
    assert len(c.incidents) >= 1
