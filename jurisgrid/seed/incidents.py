"""One year of incidents (警情), 2025-12-01 to 2026-11-30 local time (Asia/Shanghai, UTC+8).

Incidents happen near address points (weighted by population and units) and, with extra
density, around a handful of hot spots (markets, the bus station, night-life streets); their
times follow per-category daily rhythms, a weekly rhythm, a mild summer peak and the Spring
Festival (2026-02-17).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .frame import KX, KY, FloatArray
from .model import INCIDENT_CATEGORIES, IncidentArrays
from .points import Locator

PER_YEAR = 50_000  # at scale 1
DAYS = 365
START_UTC = np.datetime64("2025-11-30T16:00:00", "s")  # 2025-12-01 00:00 Asia/Shanghai
LOCAL_OFFSET = np.timedelta64(8 * 3600, "s")
SPRING_FESTIVAL_DAY = 78  # 2026-02-17 is day 78 after 2025-12-01
HOT_SHARE = 0.12

CATEGORIES = tuple(INCIDENT_CATEGORIES)
BASE_SHARE = {"CRIMINAL": 0.07, "PUBLIC_ORDER": 0.15, "DISPUTE": 0.24, "TRAFFIC": 0.12,
              "FIRE": 0.02, "ASSISTANCE": 0.30, "OTHER": 0.10}
HOT_KINDS: dict[str, dict[str, float]] = {
    "market": {"DISPUTE": 0.35, "PUBLIC_ORDER": 0.2, "CRIMINAL": 0.2, "ASSISTANCE": 0.15,
               "OTHER": 0.1},
    "bus_station": {"TRAFFIC": 0.3, "ASSISTANCE": 0.3, "CRIMINAL": 0.15, "PUBLIC_ORDER": 0.15,
                    "OTHER": 0.1},
    "night_life": {"PUBLIC_ORDER": 0.45, "DISPUTE": 0.25, "CRIMINAL": 0.1, "TRAFFIC": 0.1,
                   "ASSISTANCE": 0.1},
}
URBAN_HOT_SPOTS = ("market", "bus_station", "night_life", "night_life", "market")

_DAYTIME = [0.5, 0.35, 0.25, 0.2, 0.2, 0.3, 0.6, 1.0, 1.4, 1.6, 1.7, 1.6,
            1.3, 1.3, 1.5, 1.6, 1.6, 1.6, 1.6, 1.8, 1.8, 1.5, 1.1, 0.8]
HOURLY: dict[str, list[float]] = {
    "ASSISTANCE": _DAYTIME,
    "DISPUTE": _DAYTIME,
    "OTHER": _DAYTIME,
    "TRAFFIC": [0.3, 0.2, 0.15, 0.15, 0.2, 0.5, 1.2, 2.4, 2.2, 1.4, 1.2, 1.3,
                1.5, 1.3, 1.2, 1.3, 1.7, 2.4, 2.3, 1.6, 1.2, 0.9, 0.6, 0.4],
    "PUBLIC_ORDER": [1.8, 1.5, 1.1, 0.7, 0.4, 0.3, 0.3, 0.4, 0.6, 0.8, 0.9, 1.0,
                     1.0, 0.9, 0.9, 1.0, 1.0, 1.1, 1.3, 1.6, 2.0, 2.4, 2.5, 2.2],
    "CRIMINAL": [0.9, 0.9, 1.0, 1.0, 0.9, 0.6, 0.6, 0.8, 1.0, 1.1, 1.2, 1.1,
                 1.0, 1.0, 1.1, 1.1, 1.1, 1.1, 1.1, 1.2, 1.2, 1.2, 1.1, 1.0],
    "FIRE": [0.4, 0.3, 0.3, 0.3, 0.3, 0.4, 0.6, 0.8, 1.0, 1.2, 1.5, 1.8,
             1.8, 1.8, 1.8, 1.7, 1.6, 1.8, 1.8, 1.4, 1.0, 0.8, 0.6, 0.5],
}
WEEKLY = [1.0, 0.96, 0.96, 0.98, 1.06, 1.14, 1.10]  # Monday .. Sunday
NIGHT_WEEKLY = [0.9, 0.85, 0.85, 0.9, 1.2, 1.4, 1.1]
FIRST_WEEKDAY = 0  # 2025-12-01 is a Monday


@dataclass
class Sources:
    """Where incidents may happen: address points and hot spots (lon/lat + jitter in metres)."""

    lon: FloatArray
    lat: FloatArray
    grid: NDArray[np.int64]  # grid of each address point
    weight: FloatArray
    sigma: FloatArray
    hot_lon: FloatArray
    hot_lat: FloatArray
    hot_kind: list[str]
    hot_weight: FloatArray


def _day_weights(category: str) -> FloatArray:
    day = np.arange(DAYS)
    weekly = np.asarray(NIGHT_WEEKLY if category == "PUBLIC_ORDER" else WEEKLY)
    w = weekly[(day + FIRST_WEEKDAY) % 7]
    w = w * (1.0 + 0.12 * np.cos(2 * np.pi * (day - 230) / DAYS))  # summer peak mid-July
    festival = np.abs(day - SPRING_FESTIVAL_DAY) <= 7
    if category in ("DISPUTE", "FIRE", "ASSISTANCE", "PUBLIC_ORDER"):
        w = np.where(festival, w * 1.35, w)
    return w / w.sum()


def _times(rng: np.random.Generator, category: NDArray[np.str_]) -> NDArray[np.datetime64]:
    secs = np.zeros(len(category), dtype=np.int64)
    for cat in CATEGORIES:
        idx = np.flatnonzero(category == cat)
        hours = np.asarray(HOURLY[cat])
        day = rng.choice(DAYS, size=len(idx), p=_day_weights(cat))
        hour = rng.choice(24, size=len(idx), p=hours / hours.sum())
        secs[idx] = day * 86400 + hour * 3600 + rng.integers(0, 3600, len(idx))
    return START_UTC + secs.astype("timedelta64[s]")


@dataclass
class _Drawn:
    lon: FloatArray
    lat: FloatArray
    sigma: FloatArray
    grid: NDArray[np.int64]  # grid of the origin address, -1 for hot spots
    category: NDArray[np.str_]


def _draw(rng: np.random.Generator, n: int, src: Sources) -> _Drawn:
    """Origins, jitter and categories of n incidents."""
    hot = rng.random(n) < HOT_SHARE
    d = _Drawn(np.empty(n), np.empty(n), np.empty(n), np.full(n, -1, dtype=np.int64),
               np.empty(n, dtype="<U12"))
    a = rng.choice(len(src.lon), size=int((~hot).sum()), p=src.weight / src.weight.sum())
    d.lon[~hot], d.lat[~hot], d.sigma[~hot], d.grid[~hot] = (
        src.lon[a], src.lat[a], src.sigma[a], src.grid[a])
    shares = np.array([BASE_SHARE[c] for c in CATEGORIES])
    d.category[~hot] = np.asarray(CATEGORIES)[rng.choice(len(CATEGORIES), size=len(a), p=shares)]
    h = rng.choice(len(src.hot_lon), size=int(hot.sum()), p=src.hot_weight / src.hot_weight.sum())
    d.lon[hot], d.lat[hot], d.sigma[hot] = src.hot_lon[h], src.hot_lat[h], 80.0
    hot_idx = np.flatnonzero(hot)
    for k, kind in enumerate(src.hot_kind):
        sel = hot_idx[h == k]
        mix = HOT_KINDS[kind]
        cats = np.asarray(list(mix))
        d.category[sel] = cats[rng.choice(len(cats), size=len(sel), p=np.asarray(list(mix.values())))]
    return d


def generate_incidents(
    rng: np.random.Generator, scale: float, src: Sources, locate: Locator,
    county_code: str = "511725",
) -> IncidentArrays:
    """``PER_YEAR * scale`` incidents, each strictly inside a grid (not near a boundary).

    A draw that lands outside the county or too near a grid boundary is redrawn closer to
    its origin; after 8 rounds the remaining few sit on their origin address point."""
    n = max(1, round(PER_YEAR * scale))
    d = _draw(rng, n, src)
    lon = d.lon.copy()
    lat = d.lat.copy()
    grid = np.full(n, -1, dtype=np.int64)
    todo = np.arange(n)
    sigma = d.sigma.copy()
    for _ in range(8):
        s = sigma[todo]
        lon[todo] = d.lon[todo] + rng.normal(0, 1, len(todo)) * s / KX
        lat[todo] = d.lat[todo] + rng.normal(0, 1, len(todo)) * s / KY
        grid[todo] = locate(lon[todo], lat[todo], d.grid[todo])
        todo = todo[grid[todo] < 0]
        if len(todo) == 0:
            break
        sigma[todo] *= 0.5
    if len(todo):  # fall back to the origin (address points are strictly inside their grid)
        lon[todo], lat[todo] = d.lon[todo], d.lat[todo]
        grid[todo] = locate(lon[todo], lat[todo], d.grid[todo])
        if (grid[todo] < 0).any():
            raise RuntimeError("incident origin outside every grid")
    category = d.category
    when = _times(rng, category)
    order = np.argsort(when, kind="stable")
    when = when[order]
    local_day = ((when + LOCAL_OFFSET).astype("datetime64[D]"))
    start = np.r_[0, np.flatnonzero(np.diff(local_day.astype(np.int64))) + 1]
    seq = np.arange(n) - np.repeat(start, np.diff(np.r_[start, n])) + 1
    days = np.datetime_as_string(local_day).tolist()
    code = [f"JQ{county_code}{d.replace('-', '')}{q:05d}"
            for d, q in zip(days, seq.tolist(), strict=True)]
    return IncidentArrays(lon[order], lat[order], category[order], when, grid[order], code)
