"""Standard address points (标准地址) with households, population, houses and units.

Three settlement patterns, each vectorised per community:

* ``urban``   — 社区 of a 街道: apartment buildings of 20–200 households spread over the
  community, numbered along a few streets, plus shops/offices (units, no households);
* ``town``    — 社区 of a town or 乡: small buildings of 2–30 households crowded around the
  market-town core;
* ``village`` — 村: houses of 1–3 households clustered in hamlets (组).

Population targets at scale 1 give about 1.2 million residents for the county.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from shapely.geometry import Polygon

from .frame import FloatArray, geom_to_xy, to_lonlat, to_xy
from .names import TOWN_STREETS, URBAN_STREETS
from .points import scatter_in, uniform_in
from .power import kmeans_pp

Pattern = Literal["urban", "town", "village"]
IntArray = NDArray[np.int64]

MEAN_POPULATION: dict[Pattern, float] = {"urban": 8500.0, "town": 3200.0, "village": 1900.0}
PEOPLE_PER_HOUSEHOLD: dict[Pattern, float] = {"urban": 2.55, "town": 2.75, "village": 2.95}
SEAT_FACTOR = 1.6  # a township's seat 社区 is bigger than its other 社区


@dataclass
class CommunityPoints:
    """Address points of one community, ordered by street / 组 and number."""

    lon: FloatArray
    lat: FloatArray
    households: IntArray
    population: IntArray
    houses: IntArray
    units: IntArray
    address: list[str]


def pattern_of(township_kind: str, community_kind: str) -> Pattern:
    if community_kind == "village":
        return "village"
    return "urban" if township_kind == "street" else "town"


def target_population(rng: np.random.Generator, pattern: Pattern, seat: bool) -> float:
    """Resident population of a community at scale 1 (log-normal around the pattern mean)."""
    mean = MEAN_POPULATION[pattern] * (SEAT_FACTOR if seat and pattern == "town" else 1.0)
    return float(mean * rng.lognormal(-0.5 * 0.35**2, 0.35))


def split_sizes(rng: np.random.Generator, total: int, pattern: Pattern) -> IntArray:
    """Households per residential address point, summing to ``total`` (≥ 1)."""
    if pattern == "village":
        pool = rng.choice(np.array([1, 2, 3]), size=total + 1, p=[0.55, 0.35, 0.10])
    else:
        median, lo, hi = (60, 20, 200) if pattern == "urban" else (8, 2, 30)
        n = int(total / median * 1.6) + 4
        pool = np.clip(np.round(rng.lognormal(math.log(median), 0.6, n)), lo, hi).astype(np.int64)
    while pool.sum() < total:
        pool = np.concatenate([pool, pool])
    cs = np.cumsum(pool)
    n = int(np.searchsorted(cs, total)) + 1
    sizes = pool[:n].copy()
    sizes[-1] -= int(cs[n - 1]) - total
    if n > 1 and pattern != "village" and sizes[-1] < sizes[0] // 3:
        sizes[-2] += sizes[-1]
        sizes = sizes[:-1]
    return sizes.astype(np.int64)


def _locations(
    rng: np.random.Generator, poly: Polygon, pattern: Pattern, n: int, households: float
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Point locations and their group (a street band or a hamlet 组, 0-based)."""
    if pattern == "village":
        n_zu = int(np.clip(round(households / 50.0), 4, 12))
        cand_lon, cand_lat = uniform_in(rng, poly, 40 * n_zu)
        cx, cy = to_xy(cand_lon, cand_lat)
        centres = kmeans_pp(rng, np.column_stack([cx, cy]), np.ones(len(cx)), n_zu)
        # number the 组 from north-west to south-east
        centres = centres[np.lexsort((centres[:, 0], -np.round(centres[:, 1], -2)))]
        zu = rng.choice(n_zu, size=n, p=rng.dirichlet(np.full(n_zu, 4.0)))
        sigma = min(180.0, 0.12 * math.sqrt(geom_to_xy(poly).area))
        lon0, lat0 = to_lonlat(centres[zu, 0], centres[zu, 1])
        lon, lat = scatter_in(rng, poly, lon0, lat0, sigma)
        return lon, lat, zu.astype(np.int64)
    if pattern == "urban":
        lon, lat = uniform_in(rng, poly, n)
    else:
        core = poly.representative_point()
        sigma = 0.22 * math.sqrt(geom_to_xy(poly).area)
        near = rng.random(n) < 0.65
        lon, lat = uniform_in(rng, poly, n)
        lon[near], lat[near] = scatter_in(
            rng, poly, np.full(near.sum(), core.x), np.full(near.sum(), core.y), sigma
        )
    x, y = to_xy(lon, lat)
    theta = rng.uniform(0, math.pi)
    across = -x * math.sin(theta) + y * math.cos(theta)
    n_streets = int(np.clip(round(math.sqrt(max(n, 1)) / 3), 1, 6))
    edges = np.quantile(across, np.linspace(0, 1, n_streets + 1)[1:-1]) if n > 1 else np.zeros(0)
    return lon, lat, np.searchsorted(edges, across).astype(np.int64)


def _numbers(
    lon: FloatArray, lat: FloatArray, group: IntArray, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """Order points by (group, position along the group) and number them 1.. per group."""
    x, y = to_xy(lon, lat)
    theta = rng.uniform(0, math.pi)
    along = x * math.cos(theta) + y * math.sin(theta)
    order = np.lexsort((along, group))
    g = group[order]
    start = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
    first = np.repeat(start, np.diff(np.r_[start, len(g)]))
    return order, np.arange(len(g)) - first + 1


def community_points(
    rng: np.random.Generator,
    poly: Polygon,
    pattern: Pattern,
    population: float,
    scale: float,
    prefix: str,
) -> CommunityPoints:
    """Address points of one community with ``population * scale`` residents (≥ 1 household).

    ``prefix`` is the administrative part of the address, e.g. 渠县渠江街道庆丰社区.
    """
    pph = PEOPLE_PER_HOUSEHOLD[pattern]
    total_hh = max(1, round(population * scale / pph))
    hh = split_sizes(rng, total_hh, pattern)
    share = {"urban": 0.15, "town": 0.10, "village": 0.02}[pattern]
    n_units = int(rng.binomial(len(hh), share))
    hh = np.concatenate([hh, np.zeros(n_units, dtype=np.int64)])
    rng.shuffle(hh)
    lon, lat, group = _locations(rng, poly, pattern, len(hh), population / pph)
    res = hh > 0
    n = len(hh)
    pop = np.where(res, np.maximum(hh, np.round(hh * pph * rng.lognormal(0, 0.12, n))), 0)
    if pattern == "urban":
        houses = np.where(res, hh + rng.binomial(hh, 0.08), 1)
        units = np.where(res, rng.poisson(0.03 * hh), 1 + rng.poisson(3.0, n))
    elif pattern == "town":
        houses = np.where(res, hh + rng.poisson(0.3, n), 1)
        units = np.where(res, rng.poisson(0.12, n), 1 + rng.poisson(1.5, n))
    else:
        houses = np.where(res, 1 + rng.binomial(1, 0.25, n), 1)
        units = np.where(res, rng.binomial(1, 0.03, n), 1)
    order, number = _numbers(lon, lat, group, rng)
    g = group[order]
    if pattern == "village":
        labels = [f"{prefix} {z + 1}组 {k}号" for z, k in zip(g.tolist(), number.tolist(), strict=True)]
    else:
        pool = URBAN_STREETS if pattern == "urban" else TOWN_STREETS
        names = [pool[i] for i in rng.choice(len(pool), size=int(g.max()) + 1, replace=False)]
        labels = [f"{prefix} {names[s]} {k}号" for s, k in zip(g.tolist(), number.tolist(), strict=True)]
    return CommunityPoints(
        lon[order], lat[order], hh[order].astype(np.int64), pop[order].astype(np.int64),
        houses[order].astype(np.int64), units[order].astype(np.int64), labels,
    )
