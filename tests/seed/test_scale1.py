"""One full-size run (about 10 s): totals and sizing norms at scale 1."""

from __future__ import annotations

import numpy as np

from jurisgrid.seed.generate import generate
from jurisgrid.seed.tiling import check_tiling


def test_scale_one_totals_and_norms() -> None:
    c = generate(1.0, seed=0)
    a = c.addresses
    population, households = int(a.population.sum()), int(a.households.sum())
    assert 1_000_000 <= population <= 1_400_000
    assert 2.4 <= population / households <= 3.2
    assert len(c.incidents) == 50_000
    hh = np.bincount(a.grid_idx, weights=a.households, minlength=len(c.grids))
    assert np.mean((hh >= 150) & (hh <= 500)) >= 0.95
    kinds = {m.code: m.kind for m in c.communities}
    streets = {t.code for t in c.townships if t.kind == "street"}
    comm_kind = np.array([
        "village" if kinds[m.code] == "village" else
        ("urban" if m.township_code in streets else "town") for m in c.communities
    ])[a.community_idx]
    res = a.households > 0
    for kind, lo, hi in (("urban", 1, 200), ("town", 1, 30), ("village", 1, 3)):
        sel = res & (comm_kind == kind)
        assert lo <= a.households[sel].min() and a.households[sel].max() <= hi, kind
    assert np.median(a.households[res & (comm_kind == "urban")]) >= 20
    assert check_tiling(c.outline, [g.geom for g in c.grids]) == []
