"""Station staff, community officers, auxiliaries and grid workers (deterministic names)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .model import Grid, Person, Role, Station, Zone
from .names import person_names

DEPUTIES = {"urban": 3, "central": 2, "rural": 1}
STATION_OFFICERS = {"urban": 6, "central": 4, "rural": 2}
STATION_AUXILIARIES = {"urban": 4, "central": 3, "rural": 2}
RESIDENTS_PER_OFFICER = {"urban": 3000.0, "rural": 5000.0}  # docs/design.md sizing defaults; scale 1


@dataclass
class _Slot:
    role: Role
    station: str
    zone: str | None = None
    community: str | None = None
    grid: str | None = None


def community_officers(zone: Zone, population: float) -> int:
    """社区民警 for a zone: one per ~3,000 (urban) / 5,000 (rural) residents, at least one."""
    return max(1, math.ceil(population / RESIDENTS_PER_OFFICER[zone.kind] - 0.25))


def _slots(
    stations: Sequence[Station],
    zones: Sequence[Zone],
    zone_population: dict[str, float],
    grids: Sequence[Grid],
    community_zone: dict[str, str],
) -> list[_Slot]:
    slots: list[_Slot] = []
    by_station: dict[str, list[Zone]] = {}
    for z in zones:
        by_station.setdefault(z.station_code, []).append(z)
    for st in stations:
        slots.append(_Slot("chief", st.code))
        slots.append(_Slot("instructor", st.code))
        slots += [_Slot("deputy_chief", st.code) for _ in range(DEPUTIES[st.kind])]
        slots += [_Slot("officer", st.code) for _ in range(STATION_OFFICERS[st.kind])]
        for z in by_station.get(st.code, []):
            n = community_officers(z, zone_population[z.code])
            slots += [_Slot("community_officer", st.code, z.code) for _ in range(n)]
        slots += [_Slot("auxiliary", st.code) for _ in range(STATION_AUXILIARIES[st.kind])]
        for z in by_station.get(st.code, []):
            slots += [_Slot("auxiliary", st.code, z.code, c) for c in z.community_codes]
    station_of_zone = {z.code: z.station_code for z in zones}
    for g in grids:
        zone = community_zone[g.community_code]
        slots.append(_Slot("grid_worker", station_of_zone[zone], zone, g.community_code, g.code))
    return slots


def generate_persons(
    rng: np.random.Generator,
    stations: Sequence[Station],
    zones: Sequence[Zone],
    zone_population: dict[str, float],
    grids: Sequence[Grid],
    first_number: int = 1,
) -> list[Person]:
    """All personnel; ``zone_population`` is the zone's resident population at scale 1. Codes
    are numbered from ``first_number`` (several counties share one ``P`` + 6 digits series)."""
    community_zone = {c: z.code for z in zones for c in z.community_codes}
    slots = _slots(stations, zones, zone_population, grids, community_zone)
    names = person_names(rng, len(slots))
    prefixes = np.array([133, 135, 136, 137, 138, 139, 150, 151, 152, 158, 159, 180, 181, 189])
    phones = [f"{p}{n:08d}" for p, n in zip(
        rng.choice(prefixes, len(slots)).tolist(), rng.integers(0, 10**8, len(slots)).tolist(),
        strict=True)]
    return [
        Person(f"P{i + first_number:06d}", names[i], s.role, s.station, s.zone, s.community,
               s.grid, phones[i])
        for i, s in enumerate(slots)
    ]
