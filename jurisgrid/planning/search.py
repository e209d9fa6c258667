"""Local search over block → district assignments: one border block moves at a time.

``State`` keeps, per district, the total of each balanced measure, area, perimeter and block
count, and the set of border blocks, all updated incrementally; a move's effect on the energy
is computed from those sums and the block's neighbour lengths (no geometry). A move is legal
when the block is not locked, its district keeps another block and stays connected (when
contiguity is asked), the moved-unit budget holds, and — with station boundaries kept — the
district it joins is of the block's own station. Connectivity: a block whose neighbours in
its district are already joined to each other through those neighbours is not a cut vertex; only
otherwise a breadth-first search over the district decides.

Deviations are normalised by the tolerance: ``x = (total − ideal) / (ideal · tolerance)``, so
|x| ≤ 1 is "within tolerance" for every measure alike.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from jurisgrid.planning.blocks import Blocks

FOUR_PI = 4 * math.pi


def reach(nbrs: Sequence[Iterable[int]], start: int, inside: AbstractSet[int]) -> set[int]:
    """The units of ``inside`` reachable from ``start`` through neighbours inside it."""
    seen = {start}
    stack = [start]
    while stack:
        u = stack.pop()
        for w in nbrs[u]:
            if w in inside and w not in seen:
                seen.add(w)
                stack.append(w)
    return seen


@dataclass(frozen=True)
class Energy:
    """Weights of the energy terms: Σx² (balance), Σ max(0, |x| − margin)² (excess over a
    margin), −Σ Polsby–Popper, moved units; ``hard`` forbids any move that takes a |x| above 1
    or makes one already above 1 worse."""

    square: float = 0.0
    excess: float = 0.0
    margin: float = 1.0
    compact: float = 0.0
    moves: float = 0.0
    peak: float = 0.0  # Σx⁴: weighs the worst deviations most (for targets out of reach)
    hard: bool = False


class Stop(Exception):
    """Raised by the ``check`` callback to end a stage (time limit or cancel)."""


class State:
    def __init__(self, blocks: Blocks, k: int, assign: list[int], ideal: list[float], tol: list[float],
                 *, locked: list[int], base: list[dict[int, int]] | None, contiguous: bool,
                 max_moves: int | None) -> None:
        self.b = blocks
        self.k = k
        self.assign = list(assign)
        self.nm = len(ideal)
        self.ideal = ideal
        self.inv = [1.0 / (i * t) if i > 0 else 0.0 for i, t in zip(ideal, tol, strict=True)]
        self.w = blocks.weights
        self.locked = locked
        self.base = base
        self.sizes = [len(m) for m in blocks.members]
        self.contiguous = contiguous
        self.max_moves = max_moves
        self.nbrs = [list(d.keys()) for d in blocks.nbr]
        # (neighbour, shared length) pairs, and their total, per block: the hot loops read these
        self.nbl = [list(d.items()) for d in blocks.nbr]
        self.nbr_total = [sum(d.values()) for d in blocks.nbr]
        # the shared lengths of the last (block, district) asked about: allowed() computes them
        # for the smoothing rule, and delta() / move() of the same proposal reuse them
        self._shares: tuple[int, int, float, float] | None = None
        self.smooth = 0.0  # a move needs this share of the block's shared boundary on dst's side
        # station boundaries kept: a block may only join a district of its own parent (station)
        self.block_parent: list[int] | None = None
        self.district_parent: list[int] | None = None
        self.reset()

    def reset(self) -> None:
        b, k = self.b, self.k
        self._shares = None
        self.tot = [[0.0] * k for _ in range(self.nm)]
        self.area = [0.0] * k
        self.per = [0.0] * k
        self.count = [0] * k
        for v, d in enumerate(self.assign):
            for m in range(self.nm):
                self.tot[m][d] += self.w[m][v]
            self.area[d] += b.area[v]
            self.per[d] += b.ext[v]
            self.count[d] += 1
            for u, s in b.nbr[v].items():
                if self.assign[u] != d:
                    self.per[d] += s
        self.moved = sum(self.moved_units(v, self.assign[v]) for v in range(b.n))
        self.cut = [sum(1 for u in self.nbrs[v] if self.assign[u] != self.assign[v]) for v in range(b.n)]
        self.border: list[int] = []
        self.border_pos: dict[int, int] = {}
        for v in range(b.n):
            if self.cut[v]:
                self._add_border(v)

    def moved_units(self, v: int, d: int) -> int:
        if self.base is None:
            return 0
        return self.sizes[v] - self.base[v].get(d, 0)

    def _add_border(self, v: int) -> None:
        self.border_pos[v] = len(self.border)
        self.border.append(v)

    def _drop_border(self, v: int) -> None:
        i = self.border_pos.pop(v)
        last = self.border.pop()
        if last != v:
            self.border[i] = last
            self.border_pos[last] = i

    # -- figures --------------------------------------------------------------------------------
    def x(self, m: int, d: int) -> float:
        return (self.tot[m][d] - self.ideal[m]) * self.inv[m]

    def worst(self) -> list[float]:
        """max |x| per measure (from each measure's largest and smallest total: the search asks
        after every accepted move, so it must be cheap)."""
        return [max((max(tot) - ideal) * inv, (ideal - min(tot)) * inv)
                for tot, ideal, inv in zip(self.tot, self.ideal, self.inv, strict=True)]

    def pp(self, d: int) -> float:
        p = self.per[d]
        return FOUR_PI * self.area[d] / (p * p) if p > 0 else 0.0

    def pp_sum(self) -> float:
        return sum(self.pp(d) for d in range(self.k))

    # -- moves ----------------------------------------------------------------------------------
    def connected_without(self, v: int, a: int) -> bool:
        assign = self.assign
        same = [u for u in self.nbrs[v] if assign[u] == a]
        if len(same) <= 1:
            return True
        # local test: the district's neighbours of v joined through each other
        sset = set(same)
        seen = reach(self.nbrs, same[0], sset)
        if len(seen) == len(sset):
            return True
        # full search over the district without v
        need = len(sset) - len(sset & seen)
        seen.add(v)
        stack = list(seen - {v})
        while stack:
            u = stack.pop()
            for w in self.nbrs[u]:
                if w not in seen and assign[w] == a:
                    seen.add(w)
                    if w in sset:
                        need -= 1
                        if need == 0:
                            return True
                    stack.append(w)
        return False

    def legal(self, v: int, dst: int) -> bool:
        return self.allowed(v, dst) and (not self.contiguous or self.connected_without(v, self.assign[v]))

    def allowed(self, v: int, dst: int) -> bool:
        """Every rule but connectivity (the costly one, checked last)."""
        a = self.assign[v]
        if a == dst or self.locked[v] >= 0 or self.count[a] <= 1:
            return False
        if self.block_parent is not None and self.district_parent is not None \
                and self.block_parent[v] != self.district_parent[dst]:
            return False
        if self.smooth > 0:
            so, sd = self.shares(v, dst)
            if sd < self.smooth * (sd + so):
                return False
        return self.max_moves is None or self.base is None \
            or self.moved + self.moved_units(v, dst) - self.moved_units(v, a) <= self.max_moves

    def keeps_connected(self, v: int) -> bool:
        return not self.contiguous or self.connected_without(v, self.assign[v])

    def delta(self, v: int, dst: int, e: Energy) -> float | None:
        """Energy change of moving block v to district dst; None when ``e.hard`` forbids it."""
        a = self.assign[v]
        de = 0.0
        hard, square, peak, excess, mg = e.hard, e.square, e.peak, e.excess, e.margin
        for inv, w, tot, ideal in zip(self.inv, self.w, self.tot, self.ideal, strict=True):
            if inv == 0.0:
                continue
            dx = w[v] * inv
            xa = (tot[a] - ideal) * inv
            xb = (tot[dst] - ideal) * inv
            na, nb = xa - dx, xb + dx
            if hard and ((abs(na) > 1 and abs(na) > abs(xa)) or (abs(nb) > 1 and abs(nb) > abs(xb))):
                return None
            if square:
                de += square * (na * na - xa * xa + nb * nb - xb * xb)
            if peak:
                de += peak * (na**4 - xa**4 + nb**4 - xb**4)
            if excess:
                de += excess * (
                    max(0.0, abs(na) - mg) ** 2 - max(0.0, abs(xa) - mg) ** 2
                    + max(0.0, abs(nb) - mg) ** 2 - max(0.0, abs(xb) - mg) ** 2
                )
        if e.compact:
            de -= e.compact * self.pp_delta(v, dst)
        if e.moves:
            de += e.moves * (self.moved_units(v, dst) - self.moved_units(v, a))
        return de

    def shares(self, v: int, dst: int) -> tuple[float, float]:
        """Boundary v shares with its own district and with ``dst`` (cached for one proposal)."""
        c = self._shares
        if c is not None and c[0] == v and c[1] == dst:
            return c[2], c[3]
        a = self.assign[v]
        sa = sb = 0.0
        assign = self.assign
        for u, s in self.nbl[v]:
            du = assign[u]
            if du == a:
                sa += s
            elif du == dst:
                sb += s
        self._shares = (v, dst, sa, sb)
        return sa, sb

    def _perims(self, v: int, dst: int) -> tuple[float, float]:
        """The perimeters of v's district and of ``dst`` once v has moved: v's whole boundary
        (outer edge and all its neighbours) leaves the one and joins the other, less twice what
        each shares with v."""
        a = self.assign[v]
        sa, sb = self.shares(v, dst)
        r = self.b.ext[v] + self.nbr_total[v]
        return self.per[a] - r + 2 * sa, self.per[dst] + r - 2 * sb

    def pp_delta(self, v: int, dst: int) -> float:
        a = self.assign[v]
        pa, pb = self._perims(v, dst)
        per, area = self.per, self.area
        oa, ob = per[a], per[dst]
        ar = self.b.area[v]
        new = (FOUR_PI * (area[a] - ar) / (pa * pa) if pa > 0 else 0.0) + \
              (FOUR_PI * (area[dst] + ar) / (pb * pb) if pb > 0 else 0.0)
        return new - (FOUR_PI * area[a] / (oa * oa) if oa > 0 else 0.0) \
            - (FOUR_PI * area[dst] / (ob * ob) if ob > 0 else 0.0)

    def move(self, v: int, dst: int) -> None:
        a = self.assign[v]
        pa, pb = self._perims(v, dst)
        self._shares = None
        self.per[a], self.per[dst] = pa, pb
        for m in range(self.nm):
            self.tot[m][a] -= self.w[m][v]
            self.tot[m][dst] += self.w[m][v]
        self.area[a] -= self.b.area[v]
        self.area[dst] += self.b.area[v]
        self.count[a] -= 1
        self.count[dst] += 1
        self.moved += self.moved_units(v, dst) - self.moved_units(v, a)
        self.assign[v] = dst
        assign, cut = self.assign, self.cut
        c = 0
        for u in self.nbrs[v]:
            du = assign[u]
            if du != dst:
                c += 1
            was = du != a
            now = du != dst
            if was != now:
                before = cut[u]
                cut[u] += 1 if now else -1
                if before == 0:
                    self._add_border(u)
                elif cut[u] == 0:
                    self._drop_border(u)
        had = cut[v]
        cut[v] = c
        if had and not c:
            self._drop_border(v)
        elif c and not had:
            self._add_border(v)

    def propose(self, rng: random.Random) -> tuple[int, int] | None:
        if not self.border:
            return None
        # int(random() · n), not randrange: a third of the proposal's cost, and as deterministic
        v = self.border[int(rng.random() * len(self.border))]
        assign = self.assign
        a = assign[v]
        others = [du for du in map(assign.__getitem__, self.nbrs[v]) if du != a]
        return v, others[int(rng.random() * len(others))]


def anneal(state: State, e: Energy, rng: random.Random, *, iterations: int, t0: float, t1: float,
           done: Callable[[State], bool] | None = None, check: Callable[[str, float], None] | None = None,
           stage: str = "anneal", keep_best: Callable[[State], float] | None = None) -> int:
    """Metropolis search at a temperature cooling geometrically from t0 to t1 over
    ``iterations`` proposals; ends early when ``done(state)``. With ``keep_best`` (a score to
    minimise), the state ends at the best assignment seen. Returns the proposals made."""
    if iterations <= 0:
        return 0
    cool = (t1 / t0) ** (1.0 / iterations)
    t = t0
    best_score = keep_best(state) if keep_best else 0.0
    best_assign = list(state.assign) if keep_best else None
    since_best = 0
    it = 0
    for it in range(1, iterations + 1):
        t *= cool
        if check is not None and it % 512 == 0:
            check(stage, it / iterations)
        p = state.propose(rng)
        if p is None:
            break
        v, dst = p
        if not state.allowed(v, dst):
            continue
        de = state.delta(v, dst, e)
        if de is None:
            continue
        if (de <= 0 or rng.random() < math.exp(-de / t)) and state.keeps_connected(v):
            state.move(v, dst)
            if keep_best is not None:
                s = keep_best(state)
                if s < best_score - 1e-12:
                    best_score, best_assign, since_best = s, list(state.assign), 0
            if done is not None and done(state):
                break
        since_best += 1
    if keep_best is not None and best_assign is not None and best_assign != state.assign:
        state.assign = best_assign
        state.reset()
    return it


def descend(state: State, e: Energy, *, check: Callable[[str, float], None] | None = None,
            stage: str = "descend", max_rounds: int = 50) -> int:
    """Steepest-descent sweeps over every border block and neighbouring district, taking each
    improving legal move, until a sweep improves nothing. Deterministic. Returns moves made."""
    moves = 0
    for r in range(max_rounds):
        if check is not None:
            check(stage, r / max_rounds)
        improved = False
        for v in sorted(state.border):
            if v not in state.border_pos:
                continue
            a = state.assign[v]
            best, best_d = -1e-12, -1
            for d in sorted({state.assign[u] for u in state.nbrs[v]} - {a}):
                if not state.legal(v, d):
                    continue
                de = state.delta(v, d, e)
                if de is not None and de < best:
                    best, best_d = de, d
            if best_d >= 0:
                state.move(v, best_d)
                moves += 1
                improved = True
        if not improved:
            break
    return moves


def clock(limit_s: float, cancel: Callable[[], bool] | None, on_cancel: Callable[[], None],
          progress: Callable[[str, float], None] | None) -> Callable[[str, float], None]:
    """The ``check`` callback: reports progress, raises ``Stop`` past the time limit, and calls
    ``on_cancel`` (which raises) when cancelled."""
    end = time.perf_counter() + limit_s

    def check(stage: str, fraction: float) -> None:
        if cancel is not None and cancel():
            on_cancel()
        if progress is not None:
            progress(stage, fraction)
        if time.perf_counter() > end:
            raise Stop(stage)

    return check


def pair_move(state: State, v: int, dst: int, e: Energy, rng: random.Random, t: float) -> bool:
    """Move v to dst and, in the same step, one block of dst next to v's old district back —
    the one whose weights best match v's — so the totals barely change while the boundary
    reshapes. Accepted or undone as one move (Metropolis at temperature t).

    The costly checks come last: v is moved tentatively, the pair's energy change and the
    Metropolis draw decide, and only an accepted pair pays for the two connectivity tests (v's
    old district without v; dst without the returning block) — most proposals are rejected."""
    a = state.assign[v]
    if not state.allowed(v, dst):
        return False
    soft = e if not e.hard else Energy(square=e.square, excess=e.excess, margin=e.margin, compact=e.compact,
                                       moves=e.moves, peak=e.peak)
    d1 = state.delta(v, dst, soft)
    assert d1 is not None
    before = [(state.x(m, a), state.x(m, dst)) for m in range(state.nm)] if e.hard else []
    state.move(v, dst)
    assign, w, inv = state.assign, state.w, state.inv
    cands = set()
    for u in state.nbrs[v]:
        if assign[u] == dst:
            cands.add(u)
            for u2 in state.nbrs[u]:
                if assign[u2] == dst and u2 != v:
                    cands.add(u2)
    cands.discard(v)
    best, best_c = None, -1
    for c in sorted(cands):
        if state.locked[c] >= 0 or not any(assign[x] == a for x in state.nbrs[c]):
            continue
        gap = sum(((w[m][c] - w[m][v]) * inv[m]) ** 2 for m in range(state.nm))
        if best is None or gap < best:
            best, best_c = gap, c
    if best_c < 0 or not state.allowed(best_c, a):
        state.move(v, a)
        return False
    d2 = state.delta(best_c, a, soft)
    assert d2 is not None
    de = d1 + d2
    if e.hard:
        # the deviations after both moves: a has lost v and gains best_c, dst the reverse
        for m, (xa, xb) in enumerate(before):
            dx = (w[m][best_c] - w[m][v]) * inv[m]
            na, nb = xa + dx, xb - dx
            if (abs(na) > 1 and abs(na) > abs(xa) + 1e-12) or (abs(nb) > 1 and abs(nb) > abs(xb) + 1e-12):
                state.move(v, a)
                return False
    if (de <= 0 or rng.random() < math.exp(-de / t)) and state.keeps_connected(best_c) \
            and (not state.contiguous or state.connected_without(v, a)):
        state.move(best_c, a)
        return True
    state.move(v, a)
    return False


def reshape(state: State, e: Energy, rng: random.Random, *, iterations: int, t0: float, t1: float,
            pairs: float = 0.5, check: Callable[[str, float], None] | None = None, stage: str = "compact",
            keep_best: Callable[[State], float] | None = None,
            done: Callable[[State], bool] | None = None) -> int:
    """Annealing with single and paired moves (``pairs``: the share of paired proposals); ends
    early when a move makes ``done(state)`` true."""
    cool = (t1 / t0) ** (1.0 / max(1, iterations))
    t = t0
    best_score = keep_best(state) if keep_best else 0.0
    best_assign = list(state.assign) if keep_best else None
    it = 0
    for it in range(1, iterations + 1):
        t *= cool
        if check is not None and it % 512 == 0:
            check(stage, it / iterations)
        p = state.propose(rng)
        if p is None:
            break
        v, dst = p
        if rng.random() < pairs:
            moved = pair_move(state, v, dst, e, rng, t)
        else:
            moved = False
            if state.allowed(v, dst):
                de = state.delta(v, dst, e)
                if de is not None and (de <= 0 or rng.random() < math.exp(-de / t)) \
                        and state.keeps_connected(v):
                    state.move(v, dst)
                    moved = True
        if moved and keep_best is not None:
            s = keep_best(state)
            if s < best_score - 1e-12:
                best_score, best_assign = s, list(state.assign)
        if moved and done is not None and done(state):
            break
    if keep_best is not None and best_assign is not None and best_assign != state.assign:
        state.assign = best_assign
        state.reset()
    return it


def calibrate(state: State, e: Energy, rng: random.Random, samples: int = 300) -> float:
    """The median uphill energy change of random allowed proposals: a temperature scale that
    fits the problem's granularity (coarse units make every move a big step)."""
    ups = []
    for _ in range(samples):
        p = state.propose(rng)
        if p is None:
            break
        if state.allowed(*p):
            de = state.delta(p[0], p[1], e)
            if de is not None and de > 0:
                ups.append(de)
    ups.sort()
    return ups[len(ups) // 2] if ups else 1.0


def shorten(state: State, rng: random.Random, *, iterations: int, t0: float = 0.005, t1: float = 0.0002,
            excess: float = 0.5, margin: float = 0.9, check: Callable[[str, float], None] | None = None,
            stage: str = "compact") -> float:
    """Boundary shortening from a state within tolerance: annealing with single and paired moves
    on −Σ Polsby–Popper plus a soft charge on deviations past ``margin`` tolerances, so the
    search may step just outside the tolerance to reach a shorter boundary beyond (a hard
    bound blocks those paths); the most compact state seen within tolerance is kept, then a
    steepest descent under the hard bound. Connectivity holds at every move. Never lowers the
    Polsby–Popper sum of a start within tolerance. Returns the gain in that sum."""
    before = state.pp_sum()

    def score(s: State) -> float:
        return -s.pp_sum() if max(s.worst()) <= 1.0 else math.inf

    reshape(state, Energy(compact=1.0, excess=excess, margin=margin), rng, iterations=iterations, t0=t0,
            t1=t1, pairs=0.5, check=check, stage=stage, keep_best=score)
    descend(state, Energy(compact=1.0, hard=True), check=check, stage=stage)
    return state.pp_sum() - before
