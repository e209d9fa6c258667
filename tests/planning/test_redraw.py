"""The merge–split's vectorised figures against the search state and the union geometry."""

from __future__ import annotations

import random

import numpy as np
import pytest

from jurisgrid.planning.blocks import build_blocks
from jurisgrid.planning.geometry import rook_adjacency
from jurisgrid.planning.metrics import plan_metrics
from jurisgrid.planning.redraw import Figures, resplit
from jurisgrid.planning.search import Energy, State, anneal
from tests.planning.cases import lattice


def _state(k: int, seed: int) -> State:
    u = lattice(10, 10, seed=seed)
    adj = rook_adjacency(u.geoms)
    blocks = build_blocks(u, adj, [u.measures["population"], u.measures["incidents"]], False)
    ideal = [sum(w) / k for w in blocks.weights]
    assign = [min(int(c.split("c")[1]) * k // 10, k - 1) for c in u.codes]
    return State(blocks, k, assign, ideal, [0.3, 0.3], locked=[-1] * blocks.n, base=None, contiguous=True,
                 max_moves=None)


@pytest.mark.parametrize("seed", [1, 2])
def test_figures_match_the_state_and_the_union(seed: int) -> None:
    st = _state(3, seed)
    anneal(st, Energy(square=1.0, compact=1.0), random.Random(seed), iterations=2000, t0=1.0, t1=0.1)
    fig = Figures(st)
    lab = np.array(st.assign, dtype=np.int64)
    assert fig.pp(lab) == pytest.approx([st.pp(d) for d in range(3)], rel=1e-9)
    assert fig.x(lab) == pytest.approx(np.array([[st.x(m, d) for d in range(3)] for m in range(2)]))
    # an arbitrary relabelling (not the state's): against the districts' union geometry
    rng = np.random.default_rng(seed)
    other = rng.integers(0, 3, len(lab))
    u = lattice(10, 10, seed=seed)
    m = plan_metrics(u, other.tolist(), districts=[0, 1, 2])
    assert fig.pp(other) == pytest.approx([d.polsby_popper for d in m.districts], rel=1e-3)


def test_resplit_keeps_the_state_consistent() -> None:
    st = _state(3, 4)
    anneal(st, Energy(square=1.0), random.Random(4), iterations=3000, t0=1.0, t1=0.05)
    before = st.pp_sum()
    n = resplit(st, np.array([[i % 10, i // 10] for i in range(100)], float), [0.3, 0.3], rounds=2,
                bound=1.0)
    fresh = State(st.b, 3, st.assign, st.ideal, [0.3, 0.3], locked=[-1] * st.b.n, base=None, contiguous=True,
                  max_moves=None)
    assert st.per == pytest.approx(fresh.per) and np.allclose(st.tot, fresh.tot)
    assert n > 0 and st.pp_sum() > before + 0.5  # the annealed ragged plan is redrawn straight
    assert max(st.worst()) <= 1.0
