"""Merge–split: two neighbouring districts redrawn at once along a straight line.

Single-block moves under a hard tolerance cannot replace a ragged or bent boundary wholesale; a
merge–split can. Two neighbouring districts (``resplit``) are redrawn along a straight line that
halves both measures of the pair (``equipartition.line_splits``). A redraw is kept when both new
districts are one piece, every deviation stays within ``bound`` tolerances and the pair's
Polsby–Popper sum grows by more than ``gain``.

Candidates are scored without touching the search state: ``Figures`` computes a relabelling's
totals, areas and perimeters with ``numpy.bincount`` over the block and edge arrays (a shared
edge counts towards a district's perimeter when its other end lies in another district), and
connectivity is searched only for a candidate that would be kept. The state moves once, to the
candidate taken.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from jurisgrid.planning.equipartition import line_splits
from jurisgrid.planning.search import FOUR_PI, State, reach

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


class Figures:
    """Per-district figures of whole relabellings of a state's blocks, vectorised."""

    def __init__(self, state: State) -> None:
        b = state.b
        pairs = [(v, u, s) for v in range(b.n) for u, s in b.nbr[v].items() if v < u]
        self.e0: IntArray = np.array([p[0] for p in pairs], dtype=np.int64)
        self.e1: IntArray = np.array([p[1] for p in pairs], dtype=np.int64)
        self.es: FloatArray = np.array([p[2] for p in pairs], dtype=float)
        # a block's whole boundary: exterior plus every shared edge; a district's perimeter is
        # the sum over its blocks less twice its inner edges
        self.bound: FloatArray = np.array(b.ext, dtype=float) + np.array(state.nbr_total, dtype=float)
        self.area: FloatArray = np.array(b.area, dtype=float)
        self.w: FloatArray = np.array(state.w, dtype=float)  # (M, n)
        self.ideal = np.array(state.ideal, dtype=float)[:, None]
        self.inv = np.array(state.inv, dtype=float)[:, None]
        self.k = state.k

    def pp(self, lab: IntArray) -> FloatArray:
        """Polsby–Popper per district of the labelling ``lab`` (one district per block)."""
        k = self.k
        inner = lab[self.e0] == lab[self.e1]
        per = np.bincount(lab, self.bound, k) - 2 * np.bincount(lab[self.e0[inner]], self.es[inner], k)
        area = np.bincount(lab, self.area, k)
        out = np.zeros(k)
        ok = per > 0
        out[ok] = FOUR_PI * area[ok] / (per[ok] * per[ok])
        return out

    def x(self, lab: IntArray) -> FloatArray:
        """Deviation / (ideal · tolerance), (M, k)."""
        tot = np.stack([np.bincount(lab, wm, self.k) for wm in self.w])
        out: FloatArray = (tot - self.ideal) * self.inv
        return out


def _one_piece(state: State, blocks: list[int]) -> bool:
    inside = set(blocks)
    return bool(blocks) and len(reach(state.nbrs, blocks[0], inside)) == len(inside)


def _members(state: State, group: Sequence[int]) -> IntArray:
    """The blocks of the group's districts, in block order."""
    return np.array([v for v in range(state.b.n) if state.assign[v] in group], dtype=np.int64)


def _redraw_group(state: State, fig: Figures, group: Sequence[int], idx: IntArray,
                  cands: Sequence[IntArray], bound: float, gain: float) -> bool:
    """Try relabellings of the group's blocks ``idx`` (:func:`_members`; ``cands``: a district of
    ``group`` per member, in the members' order, in order of preference); move the state to the
    first that keeps. Returns whether one was taken."""
    if not len(idx) or any(state.locked[v] >= 0 for v in idx):
        return False
    if state.district_parent is not None and len({state.district_parent[d] for d in group}) > 1:
        return False
    lab = np.array(state.assign, dtype=np.int64)
    g = list(group)
    before = sum(state.pp(d) for d in g)
    kept: list[IntArray] = []
    for cand in cands:
        new = lab.copy()
        new[idx] = cand
        if len(set(cand.tolist())) < len(g):
            continue
        x = fig.x(new)[:, g]
        if np.abs(x).max() > bound:
            continue
        pp = float(fig.pp(new)[g].sum())
        if pp > before + gain:
            kept.append(new)
    for new in kept:
        if state.contiguous and not all(
                _one_piece(state, [int(v) for v in idx[new[idx] == d]]) for d in g):
            continue
        for v in idx.tolist():
            if state.assign[v] != new[v]:
                state.move(v, int(new[v]))
        return True
    return False


def _pairs(state: State) -> list[tuple[int, int]]:
    return sorted({(min(state.assign[v], state.assign[u]), max(state.assign[v], state.assign[u]))
                   for v in state.border for u in state.nbrs[v] if state.assign[u] != state.assign[v]})


def resplit(state: State, xy: object, tol: list[float], *, rounds: int = 2, bound: float = 1.0,
            gain: float = 1e-9, check: Callable[[str, float], None] | None = None) -> int:
    """For each pair of neighbouring districts, redraw their common boundary as a straight line
    that halves both measures of the pair; keep the first of the best-balancing lines (either
    side to either district) that keeps. Returns the number of pairs redrawn."""
    pts = np.asarray(xy)
    fig = Figures(state)
    done = 0
    for r in range(rounds):
        if check is not None:
            check("resplit", r / rounds)
        for a, b in _pairs(state):
            members = _members(state, (a, b))
            cands = [np.where(mask, side, b if side == a else a).astype(np.int64)
                     for mask in line_splits(pts[members], fig.w[:, members].T, tol) for side in (a, b)]
            done += _redraw_group(state, fig, (a, b), members, cands, bound, gain)
    return done
