"""The search state and the merge–split move on hand-made lattices."""

from __future__ import annotations

import random

import numpy as np
import pytest

from jurisgrid.planning.blocks import build_blocks
from jurisgrid.planning.geometry import rook_adjacency
from jurisgrid.planning.metrics import plan_metrics
from jurisgrid.planning.search import Energy, State, anneal, resplit
from jurisgrid.planning.units import UnitSet
from tests.planning.cases import lattice


def _uniform() -> UnitSet:
    u = lattice(10, 10)
    ones = np.ones(len(u))
    return UnitSet(u.codes, u.geoms, {"population": ones, "incidents": ones})


def _state(u: UnitSet, assign: list[int], tol: float = 0.1) -> State:
    adj = rook_adjacency(u.geoms)
    blocks = build_blocks(u, adj, [u.measures["population"], u.measures["incidents"]], False)
    ideal = [sum(w) / 2 for w in blocks.weights]
    return State(blocks, 2, assign, ideal, [tol, tol], locked=[-1] * blocks.n, base=None, contiguous=True,
                 max_moves=None)


def test_incremental_figures_match_a_recount() -> None:
    u = lattice(10, 10, seed=3)
    assign = [0 if int(c.split("c")[1]) < 5 else 1 for c in u.codes]
    st = _state(u, assign, tol=0.5)
    anneal(st, Energy(square=1.0, compact=1.0), random.Random(1), iterations=3000, t0=1.0, t1=0.1)
    fresh = _state(u, st.assign, tol=0.5)
    assert np.allclose(st.tot, fresh.tot) and st.per == pytest.approx(fresh.per)
    assert sorted(st.border) == sorted(fresh.border) and st.count == fresh.count
    # the state's Polsby–Popper agrees with the metrics' (union geometry) on a clean lattice
    m = plan_metrics(u, st.assign, districts=[0, 1])
    assert [st.pp(d) for d in (0, 1)] == pytest.approx([d.polsby_popper for d in m.districts], rel=1e-3)


def test_resplit_straightens_a_ragged_boundary() -> None:
    u = _uniform()
    # two halves whose common boundary zigzags: rows alternate columns 0–3 and 0–5
    assign = [0 if int(c.split("c")[1]) < (4 if int(c[1:].split("c")[0]) % 2 else 6) else 1 for c in u.codes]
    st = _state(u, assign)
    before = st.pp(0) + st.pp(1)
    assert resplit(st, np.array([[int(c.split("c")[1]), int(c[1:].split("c")[0])] for c in u.codes], float),
                   [0.1, 0.1], rounds=1) == 1
    assert st.pp(0) + st.pp(1) > before + 0.05
    assert max(st.worst()) <= 1.0
    m = plan_metrics(u, st.assign, districts=[0, 1])
    assert m.contiguous
