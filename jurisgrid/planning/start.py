"""Starting assignments for the search: METIS on composite weights, or the base made valid.

pymetis passes one weight per vertex, so balancing several measures together starts from
several single-weight runs — composites of the measures (each normalised by its total) with
different mixes and METIS seeds — and keeps the run whose worst normalised deviation is least.
Edge weights are shared boundary lengths, so METIS's cut minimisation shortens boundaries, which
is what compactness asks. Contiguity is asked of METIS and checked; ``repair`` fixes what is not.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import networkx as nx
import pymetis

from jurisgrid.planning.blocks import Blocks

SCALE = 1_000_000


def _csr(blocks: Blocks) -> tuple[list[int], list[int], list[int]]:
    xadj, adjncy, ew = [0], [], []
    for b in range(blocks.n):
        for u in sorted(blocks.nbr[b]):
            adjncy.append(u)
            ew.append(max(1, round(blocks.nbr[b][u])))
        xadj.append(len(adjncy))
    return xadj, adjncy, ew


def score(blocks: Blocks, assign: Sequence[int], k: int, ideal: Sequence[float],
          tol: Sequence[float]) -> float:
    """Worst |deviation| / tolerance over measures and districts."""
    out = 0.0
    for m, w in enumerate(blocks.weights):
        if ideal[m] <= 0:
            continue
        tot = [0.0] * k
        for b, d in enumerate(assign):
            tot[d] += w[b]
        out = max(out, max(abs(t - ideal[m]) / (ideal[m] * tol[m]) for t in tot))
    return out


def mixes(nm: int, rng: random.Random, extra: int) -> list[list[float]]:
    """Weight mixes over the measures: equal, each alone leaning, and ``extra`` random ones."""
    if nm == 1:
        return [[1.0]]
    out = [[1.0 / nm] * nm]
    for lean in (0.3, 0.7):
        for m in range(nm):
            v = [(1 - lean) / (nm - 1)] * nm
            v[m] = lean
            out.append(v)
    for _ in range(extra):
        r = [rng.random() for _ in range(nm)]
        out.append([x / sum(r) for x in r])
    return out


def metis_start(blocks: Blocks, k: int, ideal: Sequence[float], tol: Sequence[float], seed: int,
                runs: int = 2) -> list[int]:
    """The best of METIS runs over weight mixes × ``runs`` seeds (contiguous parts asked)."""
    if k == 1:
        return [0] * blocks.n
    rng = random.Random(seed)
    xadj, adjncy, ew = _csr(blocks)
    totals = [sum(w) for w in blocks.weights]
    best: tuple[float, list[int]] | None = None
    connected = nx.is_connected(blocks.graph())
    for mix in mixes(len(blocks.weights), rng, extra=2):
        vw = [
            max(1, round(SCALE * sum(
                mix[m] * blocks.weights[m][b] / totals[m] for m in range(len(mix)) if totals[m] > 0)))
            for b in range(blocks.n)
        ]
        for _ in range(runs):
            opts = pymetis.Options(seed=rng.randrange(1 << 30), contig=1 if connected else 0, ufactor=1)
            _, parts = pymetis.part_graph(k, pymetis.CSRAdjacency(xadj, adjncy), vweights=vw, eweights=ew,
                                          options=opts)
            parts = list(parts)
            if len(set(parts)) < k:
                continue
            s = score(blocks, parts, k, ideal, tol)
            if best is None or s < best[0]:
                best = (s, parts)
    if best is None:  # METIS left a part empty in every run: grow k seeds by BFS instead
        return bfs_start(blocks, k, rng)
    return best[1]


def bfs_start(blocks: Blocks, k: int, rng: random.Random) -> list[int]:
    """k districts grown breadth-first from spread-out seeds (fallback when METIS fails)."""
    g = blocks.graph()
    seeds = [rng.randrange(blocks.n)]
    while len(seeds) < k:
        dist = nx.multi_source_dijkstra_path_length(g, seeds)
        far = max((d, b) for b, d in dist.items() if b not in seeds)
        seeds.append(far[1])
    assign = [-1] * blocks.n
    frontier = [[s] for s in seeds]
    for d, s in enumerate(seeds):
        assign[s] = d
    while any(frontier):
        for d in range(k):
            nxt = []
            for b in frontier[d]:
                for u in blocks.nbr[b]:
                    if assign[u] < 0:
                        assign[u] = d
                        nxt.append(u)
            frontier[d] = nxt
    return [a if a >= 0 else 0 for a in assign]


def match_labels(assign: list[int], base: list[dict[int, int]], k: int) -> list[int]:
    """Relabel ``assign``'s districts to the base districts they overlap most (greedy on unit
    counts), so moves against the base are counted against the right district."""
    overlap: dict[tuple[int, int], int] = {}
    for b, d in enumerate(assign):
        for bd, c in base[b].items():
            overlap[(d, bd)] = overlap.get((d, bd), 0) + c
    mapping: dict[int, int] = {}
    used: set[int] = set()
    for (d, bd), _ in sorted(overlap.items(), key=lambda kv: (-kv[1], kv[0])):
        if d not in mapping and bd not in used and bd < k:
            mapping[d] = bd
            used.add(bd)
    free = iter(sorted(set(range(k)) - used))
    for d in sorted(set(assign)):
        if d not in mapping:
            mapping[d] = next(free)
    return [mapping[d] for d in assign]


def repair(blocks: Blocks, assign: list[int], k: int, locked: Sequence[int]) -> list[int]:
    """Make every district one piece: each smaller piece joins the neighbouring district it shares
    most boundary with. Returns the blocks of detached pieces that are locked (cannot move)."""
    stuck: list[int] = []
    for _ in range(4 * k):
        g = blocks.graph()
        changed = False
        for d in range(k):
            nodes = [b for b in range(blocks.n) if assign[b] == d]
            comps = sorted((sorted(c) for c in nx.connected_components(g.subgraph(nodes))),
                           key=lambda c: (-sum(blocks.area[b] for b in c), c))
            for piece in comps[1:]:
                if any(locked[b] >= 0 for b in piece):
                    stuck.extend(b for b in piece if locked[b] >= 0)
                    continue
                shared: dict[int, float] = {}
                for b in piece:
                    for u, s in blocks.nbr[b].items():
                        if assign[u] != d:
                            shared[assign[u]] = shared.get(assign[u], 0.0) + s + 1e-9
                if shared:
                    to = max(sorted(shared), key=lambda x: shared[x])
                    for b in piece:
                        assign[b] = to
                    changed = True
        if not changed:
            break
    return sorted(set(stuck))

