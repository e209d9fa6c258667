"""Workload index, zone class and recommended officers of a zone under a policy (pure)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from jurisgrid.analytics.policy import ZONE_CLASSES, Band, Policy


@dataclass(frozen=True)
class ZoneFigures:
    kind: str  # urban | rural
    has_office: bool
    population: int
    incidents: Mapping[str, int]  # category → count in the window
    window_days: float
    community_officers: int


@dataclass(frozen=True)
class ZoneSizing:
    workload: float  # per year
    incident_rate: float  # rate-category incidents per 1,000 residents per year
    population_class: str
    incident_rate_class: str
    zone_class: str  # the more demanding of the two
    recommended_officers: int


def band_of(bands: tuple[Band, ...], value: float) -> str:
    for b in bands:
        if b.contains(value):
            return b.zone_class
    raise ValueError(f"no band holds {value}")  # parse_policy guarantees coverage of [0, ∞)


def per_year(count: float, window_days: float) -> float:
    return count * 365.0 / window_days


def workload(policy: Policy, f: ZoneFigures) -> float:
    weighted = sum(policy.weight(c) * n for c, n in f.incidents.items())
    return per_year(weighted, f.window_days) + policy.population_weight * f.population


def incident_rate(policy: Policy, f: ZoneFigures) -> float:
    if f.population <= 0:
        return 0.0
    n = sum(f.incidents.get(c, 0) for c in policy.rate_categories)
    return per_year(n, f.window_days) / f.population * 1000.0


def recommended_officers(policy: Policy, f: ZoneFigures, load: float) -> int:
    by_population = math.ceil(f.population / policy.population_per_officer[f.kind])
    by_workload = math.ceil(load / policy.workload_per_officer)
    office = policy.min_officers_per_office if f.has_office else 0
    return max(1, by_population, by_workload, office)


def size_zone(policy: Policy, f: ZoneFigures) -> ZoneSizing:
    load = workload(policy, f)
    rate = incident_rate(policy, f)
    by_pop = band_of(policy.population_bands, f.population)
    by_rate = band_of(policy.incident_rate_bands, rate)
    zone_class = min(by_pop, by_rate, key=ZONE_CLASSES.index)
    return ZoneSizing(load, rate, by_pop, by_rate, zone_class, recommended_officers(policy, f, load))
