"""Power diagrams (weighted Voronoi) and capacity-constrained clustering, in local metres.

A power diagram assigns a point x to the site i minimising ``|x - c_i|² - w_i``.  Raising a
site's weight grows its cell, which lets the generator hit target areas (townships,
communities) or target household loads (grids) while keeping convex, compact cells.

Optionally one site is a *background*: its power distance is 0 everywhere, so every other
cell is its power cell cut by the disc ``|x - c_i|² <= w_i`` and the background takes the
(possibly non-convex) rest — a village around the urban 社区 of a 街道.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

Ring = list[tuple[float, float]]
DISC_VERTICES = 48


def power_labels(
    xy: FloatArray, centres: FloatArray, weights: FloatArray, background: int | None = None
) -> IntArray:
    """Index of the site with the smallest power distance, for each row of ``xy``.

    With a ``background`` site, a point goes to the nearest (power) site only when it lies
    inside that site's disc polygon, else to the background.
    """
    out = np.empty(len(xy), dtype=np.int64)
    origin = centres.mean(axis=0)
    c = centres - origin
    bias = (c * c).sum(axis=1) - weights  # |x - c|² - w = |x|² - 2 x·c + bias
    step = max(1, 4_000_000 // max(1, len(centres)))
    for lo in range(0, len(xy), step):
        p = xy[lo : lo + step] - origin
        d = bias[None, :] - 2.0 * (p @ c.T)
        if background is None:
            out[lo : lo + step] = np.argmin(d, axis=1)
            continue
        d[:, background] = np.inf
        i = np.argmin(d, axis=1)
        # inside the regular polygon drawn for the disc of site i (see ``_disc``)?
        dx, dy = p[:, 0] - c[i, 0], p[:, 1] - c[i, 1]
        delta = np.mod(np.arctan2(dy, dx), 2 * np.pi / DISC_VERTICES) - np.pi / DISC_VERTICES
        inside = np.hypot(dx, dy) * np.cos(delta) <= np.sqrt(np.maximum(weights[i], 0.0))
        out[lo : lo + step] = np.where(inside, i, background)
    return out


def _clip(ring: Ring, a: float, b: float, c: float) -> Ring:
    """Clip a convex ring (open, counter-clockwise) to the half-plane a·x + b·y <= c."""
    out: Ring = []
    x1, y1 = ring[-1]
    s1 = a * x1 + b * y1 - c
    for x2, y2 in ring:
        s2 = a * x2 + b * y2 - c
        if s2 <= 0.0:
            if s1 > 0.0:
                t = s1 / (s1 - s2)
                out.append((x1 + t * (x2 - x1), y1 + t * (y2 - y1)))
            out.append((x2, y2))
        elif s1 <= 0.0:
            t = s1 / (s1 - s2)
            out.append((x1 + t * (x2 - x1), y1 + t * (y2 - y1)))
        x1, y1, s1 = x2, y2, s2
    return out


def _disc(cx: float, cy: float, r: float) -> Ring:
    """Regular polygon circumscribing the circle (so faces labelled by the exact disc test
    never fall outside the drawn cell)."""
    t = np.linspace(0.0, 2 * np.pi, DISC_VERTICES, endpoint=False)
    rr = r / np.cos(np.pi / DISC_VERTICES)
    return list(zip((cx + rr * np.cos(t)).tolist(), (cy + rr * np.sin(t)).tolist(), strict=True))


def power_cells(
    centres: FloatArray,
    weights: FloatArray,
    box: tuple[float, float, float, float],
    background: int | None = None,
) -> list[Ring]:
    """Power cells of ``centres`` clipped to ``box`` (empty list for an empty cell).

    Each cell starts as the box (or, with a background site, the disc of radius √w_i) and
    is clipped by the bisectors of the other sites in order of distance; it stops as soon as
    no farther site can cut the cell (a site at distance d cannot reach a cell of radius R
    when d² - 2dR > w_j - w_i).  The background site gets no ring: it is the rest.
    """
    k = len(centres)
    x0, y0, x1, y1 = box
    cells: list[Ring] = []
    d2 = ((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    order = np.argsort(d2, axis=1, kind="stable")
    skip = [-1 if background is None else background]
    for i in range(k):
        ci = centres[i]
        others = order[i][(order[i] != i) & ~np.isin(order[i], skip)]
        if i == background or (background is not None and weights[i] <= 0):
            cells.append([])
            continue
        ring: Ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        if background is not None:
            ring = _clip_box(_disc(float(ci[0]), float(ci[1]), float(np.sqrt(weights[i]))), box)
        ring = _clip_by_sites(ring, i, centres, weights, others, np.sqrt(d2[i, others]))
        cells.append(ring)
    return cells


def _clip_box(ring: Ring, box: tuple[float, float, float, float]) -> Ring:
    x0, y0, x1, y1 = box
    for a, b, c in ((-1.0, 0.0, -x0), (1.0, 0.0, x1), (0.0, -1.0, -y0), (0.0, 1.0, y1)):
        ring = _clip(ring, a, b, c)
    return ring if len(ring) >= 3 else []


def _clip_by_sites(
    ring: Ring, i: int, centres: FloatArray, weights: FloatArray, others: IntArray, dist: FloatArray
) -> Ring:
    ci = centres[i]
    cx, cy = float(ci[0]), float(ci[1])
    wmax = (np.maximum.accumulate(weights[others][::-1])[::-1] - weights[i]).tolist()
    radius = max(np.hypot(x - cx, y - cy) for x, y in ring) if ring else 0.0
    for n, j in enumerate(others.tolist()):
        if not ring:
            break
        d = float(dist[n])
        if d * d - 2.0 * d * radius > wmax[n]:
            break
        cj = centres[j]
        a = 2.0 * float(cj[0] - cx)
        b = 2.0 * float(cj[1] - cy)
        c = float(cj @ cj - ci @ ci - weights[j] + weights[i])
        clipped = _clip(ring, a, b, c)
        if len(clipped) < 3:
            return []
        if len(clipped) != len(ring) or clipped != ring:
            ring = clipped
            radius = max(np.hypot(x - cx, y - cy) for x, y in ring)
    return ring


@dataclass
class Balanced:
    """Result of ``balance``: sites, their weights and the label of every sample."""

    centres: FloatArray
    weights: FloatArray
    labels: IntArray
    loads: FloatArray


def _spread2(xy: FloatArray, mass: FloatArray, labels: IntArray, loads: FloatArray) -> FloatArray:
    """Squared radius of each cluster, 2·(var x + var y) (exact for a uniform disc)."""
    k = len(loads)
    safe = np.maximum(loads, 1e-12)
    mx = np.bincount(labels, weights=mass * xy[:, 0], minlength=k) / safe
    my = np.bincount(labels, weights=mass * xy[:, 1], minlength=k) / safe
    sxx = np.bincount(labels, weights=mass * (xy[:, 0] - mx[labels]) ** 2, minlength=k)
    syy = np.bincount(labels, weights=mass * (xy[:, 1] - my[labels]) ** 2, minlength=k)
    r2 = 2.0 * (sxx + syy) / safe
    good = (loads > 0) & (r2 > 0)
    fallback = float(r2[good].mean()) if good.any() else 1.0
    return np.where(good, r2, fallback)


def _reseed_empty(
    xy: FloatArray,
    centres: FloatArray,
    weights: FloatArray,
    labels: IntArray,
    fill: FloatArray,
    empty: NDArray[np.bool_],
) -> None:
    """Move each empty site onto the farthest sample of the most overfull cluster."""
    fill = fill.copy()
    labels = labels.copy()
    for j in np.flatnonzero(empty).tolist():
        src = int(np.argmax(fill))
        members = np.flatnonzero(labels == src)
        if len(members) < 2:
            return
        d = ((xy[members] - centres[src]) ** 2).sum(axis=1)
        pick = members[int(np.argmax(d))]
        centres[j] = xy[pick]
        weights[j] = weights[src]
        labels[pick] = -1
        fill[src] /= 2.0


def balance(
    xy: FloatArray,
    mass: FloatArray,
    centres: FloatArray,
    targets: FloatArray,
    *,
    iterations: int = 60,
    polish: int = 10,
    fixed: NDArray[np.bool_] | None = None,
    step: float = 0.6,
    weights: FloatArray | None = None,
    background: int | None = None,
) -> Balanced:
    """Capacity-constrained power clustering.

    ``iterations`` rounds of: assign samples by power distance, nudge each weight by the
    relative difference between the site's target and its load, and move each free site to
    the mass centroid of its samples (Lloyd); then ``polish`` rounds that only adapt weights.
    A relative load error e of a cell of radius r needs a weight change of about e·r² (the
    edges move by e·r/2), r² being estimated from the spread of the cell's samples.
    ``targets`` are in units of ``mass`` and are rescaled to the total mass.  ``fixed``
    sites keep their position (their weights still adapt).  With a ``background`` site
    (see ``power_labels``) weights are absolute (the disc radius is √w): pass initial
    ``weights``; the background has no target of its own, it takes the rest.
    """
    centres = np.array(centres, dtype=np.float64)
    k = len(centres)
    total = float(mass.sum())
    targets = np.asarray(targets, dtype=np.float64)
    targets = targets * (total / targets.sum())
    weights = np.zeros(k) if weights is None else np.array(weights, dtype=np.float64)
    free = np.ones(k, dtype=bool) if fixed is None else ~fixed
    if background is not None:
        free[background] = False
    for it in range(iterations + polish):
        labels = power_labels(xy, centres, weights, background)
        loads = np.bincount(labels, weights=mass, minlength=k).astype(np.float64)
        rel = np.clip((targets - loads) / np.maximum(targets, 1e-12), -1.0, 1.0)
        if background is None:
            weights = weights + step * rel * _spread2(xy, mass, labels, loads)
            weights -= weights.mean()
        else:
            rel[background] = 0.0
            weights = weights + step * rel * np.maximum(weights, _spread2(xy, mass, labels, loads))
        if it < iterations:
            mx = np.bincount(labels, weights=mass * xy[:, 0], minlength=k)
            my = np.bincount(labels, weights=mass * xy[:, 1], minlength=k)
            move = free & (loads > 0)
            centres[move, 0] = mx[move] / loads[move]
            centres[move, 1] = my[move] / loads[move]
            _reseed_empty(xy, centres, weights, labels, loads / targets, free & (loads == 0))
    labels = power_labels(xy, centres, weights, background)
    loads = np.bincount(labels, weights=mass, minlength=k).astype(np.float64)
    return Balanced(centres, weights, labels, loads)


def kmeans_pp(rng: np.random.Generator, xy: FloatArray, mass: FloatArray, k: int) -> FloatArray:
    """Weighted k-means++ seeding (distinct sample points; k must not exceed len(xy))."""
    chosen = [int(rng.choice(len(xy), p=mass / mass.sum()))]
    d2 = ((xy - xy[chosen[0]]) ** 2).sum(axis=1)
    for _ in range(1, k):
        p = d2 * mass
        s = p.sum()
        nxt = int(rng.choice(len(xy), p=p / s)) if s > 0 else int(np.argmax(d2))
        chosen.append(nxt)
        d2 = np.minimum(d2, ((xy - xy[nxt]) ** 2).sum(axis=1))
    return xy[chosen].copy()
