"""Plan metrics against an independent recomputation (pandas, Shapely DE-9IM, networkx, geodesic
sums) on hand-made and random cases."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from jurisgrid.errors import InvalidInput
from jurisgrid.planning import geometry
from jurisgrid.planning.geometry import rook_adjacency
from jurisgrid.planning.metrics import plan_metrics
from jurisgrid.planning.units import UnitSet
from tests.analytics.conftest import ellipsoid_area_m2
from tests.planning import oracle
from tests.planning.cases import lattice, voronoi


def _frame(units: UnitSet, labels: list[str]) -> pd.DataFrame:
    df = pd.DataFrame({"code": units.codes, "district": labels})
    for m, v in units.measures.items():
        df[m] = v
    return df


def _check(units: UnitSet, labels: list[str], base: list[str] | None = None) -> None:
    parent = {d: f"S{sum(map(ord, d)) % 2}" for d in set(labels) | set(base or [])}
    seats: dict[Any, tuple[float, float]] = {
        d: (106.95 + 0.01 * i, 30.85) for i, d in enumerate(sorted(set(labels)))}
    workload = {"incidents": 2.0, "population": 0.01}
    got = plan_metrics(units, dict(zip(units.codes, labels, strict=True)), workload=workload, base=base,
                       parent_of=parent, seats=seats)
    df = _frame(units, labels)
    df["workload"] = 2.0 * df.incidents + 0.01 * df.population
    sums = df.groupby("district")[["population", "households", "incidents", "workload"]].sum()
    k = len(sums)
    for m in sums.columns:
        ideal = df[m].sum() / k
        dev = (sums[m] - ideal) / ideal
        st = got.measures[m]
        assert st.ideal == pytest.approx(ideal)
        assert st.worst == pytest.approx(dev.abs().max())
        assert st.cv == pytest.approx(sums[m].std(ddof=0) / sums[m].mean())
        assert st.range == pytest.approx((sums[m].max() - sums[m].min()) / ideal)
        for d in got.districts:
            assert d.totals[m] == pytest.approx(sums.loc[d.district, m])
            assert d.deviation[m] == pytest.approx(dev[d.district])

    g = oracle.rook_graph(units.geoms)
    for d in got.districts:
        idx = [i for i, lab in enumerate(labels) if lab == d.district]
        assert d.units == len(idx)
        assert d.pieces == nx.number_connected_components(g.subgraph(idx))
        union = shapely.union_all(units.geoms[idx])
        want = oracle.compactness(union)
        assert d.area_m2 == pytest.approx(want["area"], rel=2e-3)
        assert d.perimeter_m == pytest.approx(want["perimeter"], rel=4e-3)
        assert d.polsby_popper == pytest.approx(want["pp"], rel=1e-2)
        assert d.reock == pytest.approx(want["reock"], rel=1e-2)
        assert d.convex_hull == pytest.approx(want["hull"], rel=1e-2)
        # seat distance: population-weighted over the units' points
        pts = shapely.get_coordinates(shapely.point_on_surface(units.geoms[idx]))
        dist = np.array([oracle.distance_m(*seats[d.district], x, y) for x, y in pts])
        pop = units.measures["population"][idx]
        if pop.sum() > 0:
            assert d.seat_distance_mean_m == pytest.approx((dist * pop).sum() / pop.sum(), rel=1e-3)
            assert d.seat_distance_max_m == pytest.approx(dist[pop > 0].max(), rel=1e-3)
    assert got.contiguous == all(d.pieces == 1 for d in got.districts)
    assert got.polsby_popper_mean == pytest.approx(np.mean([d.polsby_popper for d in got.districts]))

    if units.village is not None:
        df["village"] = units.village
        n = df.groupby("village").district.nunique()
        assert sorted(s.village for s in got.split_villages) == sorted(n[n > 1].index)
    if base is not None:
        df["base"] = base
        moved = df[df.district != df.base]
        assert got.moves is not None
        assert got.moves.units == len(moved)
        assert set(got.moves.codes) == set(moved.code)
        assert got.moves.moved["population"] == pytest.approx(moved.population.sum())
        assert got.moves.moved["incidents"] == pytest.approx(moved.incidents.sum())
        changed = df[df.district.map(parent) != df.base.map(parent)]
        assert got.moves.parent_changes == len(changed)
        assert set(got.moves.parent_changed) == set(changed.code)


def test_lattice_hand_made() -> None:
    units = lattice(4, 4, village=2)
    # A: left half; B: right half except one detached corner cell given to C; C: two cells
    labels = ["A" if int(c[3]) < 2 else "B" for c in units.codes]
    labels[units.index["r0c3"]] = "C"
    labels[units.index["r3c3"]] = "C"
    base = ["A" if int(c[3]) < 2 else "B" for c in units.codes]
    got = plan_metrics(units, labels)
    assert got.district("C").pieces == 2 and not got.contiguous
    # A is a rectangle of 2 × 4 cells
    w = oracle.distance_m(106.90, 30.82, 106.92, 30.82)
    h = oracle.distance_m(106.90, 30.80, 106.90, 30.84)
    assert got.district("A").polsby_popper == pytest.approx(4 * np.pi * w * h / (2 * (w + h)) ** 2, rel=5e-3)
    assert got.district("A").reock == pytest.approx(w * h / (np.pi * (w * w + h * h) / 4), rel=5e-3)
    assert got.district("A").convex_hull == pytest.approx(1.0)
    assert [s.village for s in got.split_villages] == ["v0-1", "v1-1"]
    _check(units, labels, base)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_voronoi(seed: int) -> None:
    units = voronoi(45, seed=seed)
    rng = np.random.default_rng(seed)
    labels = [f"D{d}" for d in rng.integers(0, 5, len(units))]
    base = [f"D{d}" for d in rng.integers(0, 5, len(units))]
    _check(units, labels, base)


def test_adjacency_is_rook_with_lengths() -> None:
    units = voronoi(40, seed=4)
    adj = rook_adjacency(units.geoms, bridge=False)
    g = oracle.rook_graph(units.geoms)
    assert {tuple(e) for e in adj.edges.tolist()} == {tuple(sorted(e)) for e in g.edges}
    for (i, j), s in zip(adj.edges.tolist(), adj.shared_m, strict=True):
        line = units.geoms[i].boundary.intersection(units.geoms[j].boundary)
        assert s == pytest.approx(oracle.perimeter_m_lines(line), rel=4e-3)
    # corners only (queen contact) are not adjacent
    sq = lattice(2, 2)
    assert {tuple(e) for e in rook_adjacency(sq.geoms).edges.tolist()} == {(0, 1), (0, 2), (1, 3), (2, 3)}


def test_islands_are_bridged() -> None:
    units = lattice(3, 3)
    far = shapely.box(107.5, 30.8, 107.51, 30.81)
    geoms = np.append(units.geoms, np.array([far], dtype=object))
    adj = rook_adjacency(geoms)
    assert len(adj.bridges) == 1 and 9 in adj.bridges[0]
    assert nx.is_connected(adj.graph())


def test_areas_match_the_ellipsoid() -> None:
    units = voronoi(30, seed=5)
    from jurisgrid.planning.geometry import areas_m2

    want = [ellipsoid_area_m2(g) for g in units.geoms]
    assert areas_m2(units.geoms) == pytest.approx(want, rel=2e-3)


def test_bad_input_is_refused() -> None:
    units = lattice(2, 2)
    with pytest.raises(InvalidInput, match="without a district"):
        plan_metrics(units, {"r0c0": "A"})
    with pytest.raises(InvalidInput, match="unknown unit"):
        plan_metrics(units, {**dict.fromkeys(units.codes, "A"), "zz": "A"})
    with pytest.raises(InvalidInput, match="not in districts"):
        plan_metrics(units, ["A", "A", "B", "B"], districts=["A"])
    with pytest.raises(InvalidInput, match="workload"):
        plan_metrics(units, ["A"] * 4, measures=["workload"])
    with pytest.raises(InvalidInput, match="non-negative"):
        UnitSet(units.codes, units.geoms, {"population": [1, -1, 0, 0]})
    with pytest.raises(InvalidInput, match="repeat"):
        UnitSet(("a", "a"), units.geoms[:2], {})
    with pytest.raises(InvalidInput, match="lacks district"):
        plan_metrics(units, ["A"] * 4, base=["B"] * 4, parent_of={"A": "S"})


def test_empty_district_counts_in_the_ideal() -> None:
    units = lattice(2, 2)
    got = plan_metrics(units, ["A"] * 4, districts=["A", "B"], measures=["population"])
    total = units.measures["population"].sum()
    assert got.measures["population"].ideal == pytest.approx(total / 2)
    assert got.district("B").units == 0 and got.district("B").totals["population"] == 0
    assert got.measures["population"].worst == pytest.approx(1.0)


def test_adjacency_tolerates_float_noise() -> None:
    """Boxes whose shared edges agree only to floating point (x + step vs the next box's x):
    still the 12 rook pairs of a 3 × 3 block, with the edge lengths; corners do not count."""
    step = 0.01
    boxes = [shapely.box(106.9 + c * step, 30.8 + r * step, 106.9 + c * step + step, 30.8 + r * step + step)
             for r in range(3) for c in range(3)]
    adj = rook_adjacency(np.array(boxes, dtype=object))
    want = {(i, i + 1) for i in range(9) if i % 3 < 2} | {(i, i + 3) for i in range(6)}
    assert {tuple(e) for e in adj.edges.tolist()} == want
    for (i, j), s in zip(adj.edges.tolist(), adj.shared_m, strict=True):
        a, b = boxes[i].bounds, boxes[j].bounds
        if j == i + 1:  # vertical shared edge
            want_m = oracle.distance_m(a[2], a[1], a[2], a[3])
        else:
            want_m = oracle.distance_m(a[0], a[3], a[2], a[3])
        assert s == pytest.approx(want_m, rel=4e-3), (i, j, b)  # sphere vs ellipsoid: ≤ 0.3 %


def test_a_crack_is_not_a_boundary_but_a_hole_is() -> None:
    """A zero-width hole left by a union of units that meet within the tolerance (a crack) adds
    nothing to the perimeter; a real hole (a lake, another district's enclave) does."""
    x0, y0, d = 106.9, 30.8, 0.02
    square = [(x0, y0), (x0 + d, y0), (x0 + d, y0 + d), (x0, y0 + d)]
    crack = [(x0 + 0.005, y0 + 0.01), (x0 + 0.015, y0 + 0.01), (x0 + 0.015, y0 + 0.01 + 1e-9),
             (x0 + 0.005, y0 + 0.01 + 1e-9)]                       # ~1 km long, ~0.1 mm wide
    lake = [(x0 + 0.005, y0 + 0.005), (x0 + 0.006, y0 + 0.005), (x0 + 0.006, y0 + 0.006),
            (x0 + 0.005, y0 + 0.006)]                              # ~100 m square
    solid, cracked, holed, both = geometry.shapes(np.array([
        shapely.Polygon(square), shapely.Polygon(square, [crack]), shapely.Polygon(square, [lake]),
        shapely.MultiPolygon([shapely.Polygon(square, [crack, lake]),
                              shapely.box(x0 + 0.05, y0, x0 + 0.06, y0 + 0.01)])], dtype=object))
    assert cracked.perimeter_m == pytest.approx(solid.perimeter_m, rel=1e-12)
    assert cracked.polsby_popper == pytest.approx(solid.polsby_popper, rel=1e-6)
    lake_m = geometry.lengths_m(np.array([shapely.Polygon(lake)], dtype=object))[0]
    assert 350 < lake_m < 450
    # (each measured in its own local frame: equal to ~1e-6)
    assert holed.perimeter_m == pytest.approx(solid.perimeter_m + lake_m, rel=1e-5)
    assert holed.polsby_popper < solid.polsby_popper
    island_m = geometry.lengths_m(np.array([shapely.box(x0 + 0.05, y0, x0 + 0.06, y0 + 0.01)],
                                           dtype=object))[0]
    assert both.perimeter_m == pytest.approx(solid.perimeter_m + lake_m + island_m, rel=1e-5)
