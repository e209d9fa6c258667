"""Balancing constraints beyond test_balance: station boundaries kept, and what limits them."""

from __future__ import annotations

import numpy as np
import pytest

from jurisgrid.errors import InvalidInput
from jurisgrid.planning.balance import BalanceParams, Balancer, Problem, Target
from jurisgrid.planning.units import UnitSet
from tests.planning.cases import lattice

TOL = (Target("population", 0.1), Target("incidents", 0.1))
STATION = {"Z0": "S0", "Z1": "S0", "Z2": "S1", "Z3": "S1"}


def _stripes(units: UnitSet) -> list[str]:
    return [f"Z{min(int(c.split('c')[1]) * 4 // 10, 3)}" for c in units.codes]


@pytest.fixture(scope="module")
def units() -> UnitSet:
    return lattice(seed=11)


def test_station_boundaries_kept(units: UnitSet) -> None:
    base = _stripes(units)
    free = Balancer(BalanceParams(targets=TOL, seed=3)).solve(Problem(units, base=base, parent_of=STATION))
    kept = Balancer(BalanceParams(targets=TOL, station_boundaries=True, seed=3)).solve(
        Problem(units, base=base, parent_of=STATION))
    for c in units.codes:
        assert STATION[str(kept.assignment[c])] == STATION[base[units.index[c]]], c
    assert kept.metrics.moves is not None and kept.metrics.moves.parent_changes == 0
    assert kept.within_tolerance and kept.metrics.contiguous, kept.limits
    # unconstrained, the same seed does move grids across (so the constraint did something)
    assert free.metrics.moves is not None and free.metrics.moves.parent_changes > 0


def test_station_total_off_the_ideal_is_named(units: UnitSet) -> None:
    pop = units.measures["population"].copy()
    east = np.array([int(c.split("c")[1]) >= 5 for c in units.codes])
    pop[east] *= 1.6  # station S1 (the east half) holds far more people than S0
    heavy = UnitSet(units.codes, units.geoms, {**units.measures, "population": pop})
    r = Balancer(BalanceParams(targets=TOL, station_boundaries=True, seed=1, effort=0.3)).solve(
        Problem(heavy, base=_stripes(heavy), parent_of=STATION))
    assert not r.within_tolerance
    named = [lim for lim in r.limits if lim.kind == "station_total"]
    assert {lim.message.split("'")[0] for lim in named} == {"station S0", "station S1"}
    assert all(lim.impossible and lim.measure == "population" for lim in named)
    for c in units.codes:
        assert STATION[str(r.assignment[c])] == STATION[_stripes(heavy)[units.index[c]]]


def test_village_across_stations_stays(units: UnitSet) -> None:
    vil = lattice(seed=11, village=2)
    base = _stripes(vil)  # column 4 is Z1 (S0), column 5 Z2 (S1): villages of columns 4–5 straddle
    r = Balancer(BalanceParams(targets=(Target("population", 0.2), Target("incidents", 0.2)),
                               station_boundaries=True, whole_villages=True, seed=2)).solve(
        Problem(vil, base=base, parent_of=STATION))
    assert vil.village is not None
    straddling = sorted({v for v in vil.village if v is not None and v.endswith("-2")})
    assert len(straddling) == 5
    for v in straddling:
        cells = [c for c in vil.codes if vil.village[vil.index[c]] == v]
        assert {r.assignment[c] for c in cells} == {"Z1"}, v  # the tie goes to the first district
    across = [lim for lim in r.limits if lim.kind == "village_across_stations"]
    assert sorted(lim.message.split()[1] for lim in across) == straddling
    assert all("S0, S1" in lim.message and not lim.impossible for lim in across)
    # every other grid keeps its station
    for c in vil.codes:
        if vil.village[vil.index[c]] not in straddling:
            assert STATION[str(r.assignment[c])] == STATION[base[vil.index[c]]], c


@pytest.mark.parametrize(("params", "problem_kw", "match"), [
    (BalanceParams(targets=TOL, station_boundaries=True), {}, "station of every base district"),
    (BalanceParams(targets=TOL, station_boundaries=True), {"parent_of": {"Z0": "S0"}},
     "station of every base district"),
    (BalanceParams(districts=5, targets=TOL, station_boundaries=True), {"parent_of": STATION},
     "keeps the base's 4 districts"),
])
def test_bad_station_params(units: UnitSet, params: BalanceParams, problem_kw: dict, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        Balancer(params).solve(Problem(units, base=_stripes(units), **problem_kw))


def test_station_boundaries_need_a_base(units: UnitSet) -> None:
    with pytest.raises(InvalidInput, match="need a base"):
        Balancer(BalanceParams(districts=4, station_boundaries=True)).solve(Problem(units))
