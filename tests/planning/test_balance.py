"""The balancer on a synthetic 10 × 10 lattice with random weights (pure; no database)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from jurisgrid.errors import InvalidInput
from jurisgrid.planning.balance import (
    BalanceCancelled,
    BalanceParams,
    Balancer,
    Problem,
    Progress,
    Target,
)
from jurisgrid.planning.geometry import rook_adjacency
from jurisgrid.planning.units import UnitSet
from tests.planning import oracle
from tests.planning.cases import lattice

BOTH = (Target("population", 0.05), Target("incidents", 0.05))


def _pieces(units: UnitSet, assignment: dict) -> dict:
    g = oracle.rook_graph(units.geoms)
    out = {}
    for d in set(assignment.values()):
        idx = [units.index[c] for c, a in assignment.items() if a == d]
        out[d] = nx.number_connected_components(g.subgraph(idx))
    return out


def _worst(units: UnitSet, assignment: dict, measure: str) -> float:
    tot: dict = {}
    for c, d in assignment.items():
        tot[d] = tot.get(d, 0.0) + units.measures[measure][units.index[c]]
    ideal = sum(tot.values()) / len(tot)
    return max(abs(t - ideal) / ideal for t in tot.values())


def _stripes(units: UnitSet, k: int) -> list[str]:
    """A contiguous but unbalanced base: columns grouped in k stripes."""
    return [f"Z{min(int(c.split('c')[1]) * k // 10, k - 1)}" for c in units.codes]


@pytest.fixture(scope="module")
def units() -> UnitSet:
    return lattice(seed=11)


def test_reaches_tolerance_contiguous(units: UnitSet) -> None:
    r = Balancer(BalanceParams(districts=5, targets=BOTH, seed=1)).solve(Problem(units))
    assert r.within_tolerance, r.limits
    for m in ("population", "incidents"):
        assert _worst(units, r.assignment, m) <= 0.05 + 1e-9
        assert r.worst[m] == pytest.approx(_worst(units, r.assignment, m))
    assert set(_pieces(units, r.assignment).values()) == {1}
    assert r.metrics.contiguous and len(r.districts) == 5
    assert r.metrics.polsby_popper_mean > 0.3


def test_deterministic_per_seed(units: UnitSet) -> None:
    params = BalanceParams(districts=4, targets=BOTH, seed=5)
    a = Balancer(params).solve(Problem(units)).assignment
    b = Balancer(params).solve(Problem(units)).assignment
    assert a == b


def test_locked_units_stay(units: UnitSet) -> None:
    base = _stripes(units, 4)
    locked = ("r0c0", "r5c9", "r9c4", "r4c5")
    r = Balancer(BalanceParams(targets=BOTH, locked=locked, seed=2)).solve(Problem(units, base=base))
    for c in locked:
        assert r.assignment[c] == base[units.index[c]]
    assert r.within_tolerance and r.metrics.contiguous


def test_whole_villages(units: UnitSet) -> None:
    vil = lattice(seed=11, village=2)  # 25 villages of 2 × 2 cells
    r = Balancer(BalanceParams(districts=5, targets=(Target("population", 0.1), Target("incidents", 0.1)),
                               whole_villages=True, seed=3)).solve(Problem(vil))
    assert vil.village is not None
    by_village: dict = {}
    for c, d in r.assignment.items():
        by_village.setdefault(vil.village[vil.index[c]], set()).add(d)
    assert all(len(ds) == 1 for ds in by_village.values())
    assert r.metrics.split_villages == [] and r.metrics.contiguous
    assert r.within_tolerance, r.limits


def test_fewest_moves_and_budget(units: UnitSet) -> None:
    base = _stripes(units, 4)
    tol = (Target("population", 0.1), Target("incidents", 0.1))
    few = Balancer(BalanceParams(targets=tol, fewest_moves=True, seed=4)).solve(Problem(units, base=base))
    free = Balancer(BalanceParams(targets=tol, seed=4)).solve(Problem(units, base=base))
    moved = sum(1 for c, d in few.assignment.items() if d != base[units.index[c]])
    assert few.within_tolerance and few.metrics.contiguous
    assert few.moved == moved < free.moved
    capped = Balancer(BalanceParams(targets=tol, max_moves=moved + 2, seed=4)).solve(
        Problem(units, base=base))
    assert capped.moved <= moved + 2


def test_cancel_stops_and_progress_reports(units: UnitSet) -> None:
    seen: list[Progress] = []

    def progress(p: Progress) -> None:
        seen.append(p)

    with pytest.raises(BalanceCancelled):
        Balancer(BalanceParams(districts=5, targets=BOTH), progress=progress,
                 cancel=lambda: len(seen) >= 3).solve(Problem(units))
    assert len(seen) == 3 and all(0 <= p.fraction <= 1 for p in seen)


def test_time_limit_is_reported(units: UnitSet) -> None:
    r = Balancer(BalanceParams(districts=5, targets=BOTH, time_limit_s=0.3)).solve(Problem(units))
    assert r.stopped != "done" and r.metrics.contiguous


def test_names_the_unit_over_the_target(units: UnitSet) -> None:
    inc = units.measures["incidents"].copy()
    inc[units.index["r3c3"]] = inc.sum()  # one cell holds half of all incidents
    heavy = UnitSet(units.codes, units.geoms, {**units.measures, "incidents": inc})
    r = Balancer(BalanceParams(districts=5, targets=BOTH, effort=0.3)).solve(Problem(heavy))
    assert not r.within_tolerance
    first = r.limits[0]
    assert first.kind == "unit_exceeds_target" and first.impossible
    assert first.units == ("r3c3",) and first.measure == "incidents"
    assert "r3c3" in first.message and "split" in first.message


def test_names_the_locked_units_in_conflict(units: UnitSet) -> None:
    vil = lattice(seed=11, village=2)
    base = _stripes(vil, 5)  # stripes of 2 columns: village v0-0 (c0, c1) sits in Z0 …
    base[vil.index["r0c1"]] = "Z1"  # … except one cell
    with pytest.raises(InvalidInput, match="r0c0, r0c1") as exc:
        Balancer(BalanceParams(targets=BOTH, whole_villages=True, locked=("r0c0", "r0c1"))).solve(
            Problem(vil, base=base))
    assert exc.value.details == [{"units": ["r0c0", "r0c1"]}]


@pytest.mark.parametrize(("params", "match"), [
    (BalanceParams(districts=3, targets=(Target("population", 0),)), "tolerance"),
    (BalanceParams(districts=3, targets=(Target("nope", 0.1),)), "unknown measure"),
    (BalanceParams(districts=3, locked=("r0c0",)), "need a base"),
    (BalanceParams(targets=BOTH), "need a base"),
    (BalanceParams(districts=101), "only 100"),
    (BalanceParams(districts=3, targets=(Target("workload", 0.1),)), "workload"),
    (BalanceParams(districts=3, whole_villages=True), "village keys"),
])
def test_bad_params_are_refused(units: UnitSet, params: BalanceParams, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        Balancer(params).solve(Problem(units))


def test_unknown_locked_unit_is_refused(units: UnitSet) -> None:
    with pytest.raises(InvalidInput, match="zz"):
        Balancer(BalanceParams(locked=("zz",))).solve(Problem(units, base=_stripes(units, 3)))


def test_workload_measure(units: UnitSet) -> None:
    wl = {"incidents": 1.0, "population": 0.02}
    r = Balancer(BalanceParams(districts=4, targets=(Target("workload", 0.05),), workload=wl, seed=6)).solve(
        Problem(units))
    values = units.measures["incidents"] + 0.02 * units.measures["population"]
    tot: dict = {}
    for c, d in r.assignment.items():
        tot[d] = tot.get(d, 0.0) + values[units.index[c]]
    ideal = values.sum() / 4
    assert max(abs(t - ideal) / ideal for t in tot.values()) <= 0.05 + 1e-9
    assert np.isclose(r.worst["workload"], max(abs(t - ideal) / ideal for t in tot.values()))


def test_island_joins_through_a_bridge(units: UnitSet) -> None:
    """A unit off the mainland is bridged to its nearest unit, so districts stay contiguous."""
    import shapely

    far = shapely.box(107.05, 30.85, 107.06, 30.86)  # 0.05° east of the lattice
    geoms = np.append(units.geoms, np.array([far], dtype=object))
    measures = {m: np.append(v, v.mean()) for m, v in units.measures.items()}
    island = UnitSet((*units.codes, "island"), geoms, measures)
    (bridge,) = rook_adjacency(geoms).bridges
    partner = island.codes[min(bridge)]
    assert partner.endswith("c9") and max(bridge) == len(units)  # to a cell of the east column
    r = Balancer(BalanceParams(districts=4, targets=BOTH, seed=8)).solve(Problem(island))
    assert r.within_tolerance and r.metrics.contiguous
    # the bridge is the island's only neighbour: a contiguous district holds both ends
    assert r.assignment["island"] == r.assignment[partner]


def test_no_moves_allowed_keeps_the_base(units: UnitSet) -> None:
    base = _stripes(units, 4)
    r = Balancer(BalanceParams(targets=BOTH, max_moves=0, seed=1)).solve(Problem(units, base=base))
    assert r.moved == 0 and [r.assignment[c] for c in units.codes] == base
    assert not r.within_tolerance and any(lim.kind == "max_moves" for lim in r.limits)
