"""A start that balances several measures at once: recursive straight cuts (equipartition).

For two measures in the plane a straight line always halves both (the ham-sandwich theorem), and
k parts that share both measures equally exist with convex parts. This builds such a partition
over block centres: split k into k₁ + k₂, and among lines in 72 directions, each placed where
the first measure splits k₁ : k₂, keep one whose other measures split closest to k₁ : k₂ —
preferring, among near-equal errors, the line that cuts the least shared boundary (compact
halves); recurse on both sides. Blocks are indivisible and sides need not be connected, so the
result is a start for the local search, not an answer.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from jurisgrid.planning.blocks import Blocks

DIRECTIONS = 72


def _cut_length(blocks: Blocks, left: set[int], side: Sequence[int]) -> float:
    total = 0.0
    for b in side:
        if b in left:
            for u, s in blocks.nbr[b].items():
                if u not in left:
                    total += s
    return total


def equipartition(blocks: Blocks, xy: np.ndarray, k: int, tol: Sequence[float], rng: random.Random,
                  slack: float = 0.25) -> list[int]:
    """District 0..k-1 per block; ``xy`` block centres in metres; ``slack`` (in tolerances)
    how much worse than the best direction a shorter cut may be."""
    w = np.array(blocks.weights, dtype=float).T  # (n, M)
    tol_a = np.asarray(tol, dtype=float)
    assign = [0] * blocks.n
    angles = np.linspace(0, 2 * np.pi, DIRECTIONS, endpoint=False)
    dirs = np.column_stack([np.cos(angles), np.sin(angles)])
    next_label = 0

    def split(idx: np.ndarray, k_here: int) -> None:
        nonlocal next_label
        if k_here == 1 or len(idx) <= 1:
            for b in idx:
                assign[int(b)] = next_label
            next_label += 1
            return
        tot = w[idx].sum(axis=0)
        tot[tot == 0] = 1.0
        cands: list[tuple[float, int, int, np.ndarray]] = []
        k1s = sorted({k_here // 2, k_here - k_here // 2})
        proj = xy[idx] @ dirs.T  # (n_here, D)
        for k1 in k1s:
            r = k1 / k_here
            for d in range(DIRECTIONS):
                order = np.argsort(proj[:, d], kind="stable")
                cum = np.cumsum(w[idx][order], axis=0) / tot  # (n_here, M)
                # error of taking the first i+1 blocks, per measure, in tolerances of the part
                err = np.abs(cum / r - 1.0) / tol_a
                worst = err.max(axis=1)
                worst[-1] = np.inf  # both sides non-empty
                i = int(np.argmin(worst))
                if i + 1 < k1 or len(idx) - (i + 1) < k_here - k1:
                    continue
                cands.append((float(worst[i]), k1, d, order[: i + 1]))
        if not cands:
            half = len(idx) // 2
            split(idx[:half], k_here // 2)
            split(idx[half:], k_here - k_here // 2)
            return
        best = min(c[0] for c in cands)
        near = [c for c in cands if c[0] <= best + slack]
        scored = []
        for err, k1, d, first in near:
            left = {int(b) for b in idx[first]}
            scored.append((_cut_length(blocks, left, [int(b) for b in idx]), err, k1, d, first))
        scored.sort(key=lambda s: (s[0], s[1], s[2], s[3]))
        pick = scored[min(len(scored) - 1, rng.randrange(2))]
        _, _, k1, _, first = pick
        mask = np.zeros(len(idx), dtype=bool)
        mask[first] = True
        split(idx[mask], k1)
        split(idx[~mask], k_here - k1)

    split(np.arange(blocks.n), k)
    return assign


def line_splits(xy: np.ndarray, w: np.ndarray, tol: Sequence[float], top: int = 6) -> list[np.ndarray]:
    """Halvings of a set of blocks by straight lines: for each of ``DIRECTIONS`` directions the
    prefix (in projection order) whose shares of every measure are closest to one half; the
    ``top`` best as boolean masks, best first. ``xy`` (n, 2) centres, ``w`` (n, M) weights."""
    tot = w.sum(axis=0)
    tot[tot == 0] = 1.0
    tol_a = np.asarray(tol, dtype=float)
    angles = np.linspace(0, np.pi, DIRECTIONS // 2, endpoint=False)
    proj = xy @ np.column_stack([np.cos(angles), np.sin(angles)]).T
    found: list[tuple[float, int, np.ndarray]] = []
    for d in range(len(angles)):
        order = np.argsort(proj[:, d], kind="stable")
        cum = np.cumsum(w[order], axis=0) / tot
        err = (np.abs(cum / 0.5 - 1.0) / tol_a).max(axis=1)
        err[-1] = np.inf
        i = int(np.argmin(err))
        mask = np.zeros(len(xy), dtype=bool)
        mask[order[: i + 1]] = True
        found.append((float(err[i]), d, mask))
    found.sort(key=lambda f: (f[0], f[1]))
    return [m for _, _, m in found[:top]]
