"""The graph the balancer searches: units contracted into blocks.

Without the whole-village rule a block is one unit; with it, all units of a village are one
block, so no search move can split a village. Per block: its units, its weight per measure,
area, exterior perimeter (boundary not shared with another block — the coast, the scope's
edge) and its neighbours with the shared boundary length, all in metres; so a district's area
and perimeter, hence its Polsby–Popper score, follow from block sums with no geometry in the
search loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from jurisgrid.planning.geometry import Adjacency, areas_m2, lengths_m
from jurisgrid.planning.units import UnitSet


@dataclass
class Blocks:
    members: list[list[int]]  # unit positions per block
    of_unit: list[int]  # block of each unit
    weights: list[list[float]]  # [measure][block]
    area: list[float]
    ext: list[float]
    nbr: list[dict[int, float]]
    split_villages: list[tuple[str, list[list[int]]]]  # villages whose units are not connected

    @property
    def n(self) -> int:
        return len(self.members)

    def graph(self) -> nx.Graph:
        g = nx.Graph()
        g.add_nodes_from(range(self.n))
        g.add_edges_from((b, v) for b in range(self.n) for v in self.nbr[b] if b < v)
        return g


def build_blocks(units: UnitSet, adjacency: Adjacency, measures: Sequence[np.ndarray],
                 whole_villages: bool) -> Blocks:
    n = len(units)
    if whole_villages and units.village is not None:
        key_of: dict[object, int] = {}
        of_unit = []
        for i, v in enumerate(units.village):
            key = ("v", v) if v is not None else ("u", i)
            of_unit.append(key_of.setdefault(key, len(key_of)))
    else:
        of_unit = list(range(n))
    nb = max(of_unit) + 1
    members: list[list[int]] = [[] for _ in range(nb)]
    for u, b in enumerate(of_unit):
        members[b].append(u)
    unit_area = areas_m2(units.geoms)
    unit_per = lengths_m(units.geoms)
    area = np.bincount(of_unit, weights=unit_area, minlength=nb)
    per = np.bincount(of_unit, weights=unit_per, minlength=nb)
    nbr: list[dict[int, float]] = [{} for _ in range(nb)]
    internal = np.zeros(nb)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    for (i, j), s in zip(adjacency.edges.tolist(), adjacency.shared_m.tolist(), strict=True):
        bi, bj = of_unit[i], of_unit[j]
        if bi == bj:
            internal[bi] += s
            g.add_edge(i, j)
        else:
            nbr[bi][bj] = nbr[bi].get(bj, 0.0) + s
            nbr[bj][bi] = nbr[bj].get(bi, 0.0) + s
    ext_total = np.asarray(per, dtype=float) - 2 * internal
    ext = [max(0.0, float(ext_total[b]) - sum(nbr[b].values())) for b in range(nb)]
    split = []
    for m in members:
        if len(m) > 1:
            parts = sorted((sorted(c) for c in nx.connected_components(g.subgraph(m))),
                           key=lambda c: (-len(c), c))
            if len(parts) > 1 and units.village is not None:
                split.append((str(units.village[m[0]]), parts))
    weights = [np.bincount(of_unit, weights=w, minlength=nb).tolist() for w in measures]
    return Blocks(members, of_unit, weights, area.tolist(), ext, nbr, split)
