"""Metrics of an assignment unit → district (issue 12 item 2), for live data or a plan alike.

Per district: totals of every measure, deviation from the ideal (total / number of districts),
pieces (connected components of the rook adjacency graph restricted to the district), area,
perimeter, Polsby–Popper, Reock and convex-hull ratio of the district's union, and the distance
from its seat to its population. Per plan: worst |deviation|, CV and range per measure, split
villages, and moves against a base assignment. Pure: the caller supplies units and keys.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.lookup import haversine_m
from jurisgrid.planning.geometry import Adjacency, rook_adjacency, shapes
from jurisgrid.planning.units import UnitSet, assignment_array


@dataclass(frozen=True)
class MeasureStats:
    measure: str
    ideal: float
    worst: float  # max |total − ideal| / ideal
    worst_district: Hashable
    cv: float  # population standard deviation / mean of the district totals
    range: float  # (max − min) / ideal


@dataclass(frozen=True)
class DistrictMetrics:
    district: Hashable
    units: int
    totals: dict[str, float]
    deviation: dict[str, float]  # (total − ideal) / ideal, signed
    pieces: int
    area_m2: float
    perimeter_m: float
    polsby_popper: float
    reock: float
    convex_hull: float
    seat_distance_mean_m: float | None  # population-weighted mean distance seat → units
    seat_distance_max_m: float | None  # farthest unit with population


@dataclass(frozen=True)
class SplitVillage:
    village: str
    districts: tuple[Hashable, ...]


@dataclass(frozen=True)
class Moves:
    units: int
    codes: tuple[str, ...]
    moved: dict[str, float]  # per measure, the total carried by the moved units
    parent_changes: int  # units whose district's parent (e.g. station) changed
    parent_changed: tuple[str, ...]


@dataclass(frozen=True)
class PlanMetrics:
    districts: list[DistrictMetrics]
    measures: dict[str, MeasureStats]
    contiguous: bool
    polsby_popper_mean: float
    reock_mean: float
    convex_hull_mean: float
    split_villages: list[SplitVillage]
    moves: Moves | None

    def district(self, key: Hashable) -> DistrictMetrics:
        for d in self.districts:
            if d.district == key:
                return d
        raise KeyError(key)


def _sort_key(d: Hashable) -> tuple[str, str]:
    return (type(d).__name__, str(d))


def pieces(adjacency: Adjacency, labels: Sequence[int], k: int) -> list[int]:
    """Connected components per district label 0..k-1 (union–find over same-label edges)."""
    parent = list(range(adjacency.n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in adjacency.edges.tolist():
        if labels[i] == labels[j]:
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[ri] = rj
    out = [0] * k
    for u in range(adjacency.n):
        if find(u) == u:
            out[labels[u]] += 1
    return out


def plan_metrics(
    units: UnitSet,
    assignment: Mapping[str, Hashable] | Sequence[Hashable],
    *,
    districts: Sequence[Hashable] | None = None,
    measures: Sequence[str] | None = None,
    workload: Mapping[str, float] | None = None,
    adjacency: Adjacency | None = None,
    base: Mapping[str, Hashable] | Sequence[Hashable] | None = None,
    parent_of: Mapping[Any, Hashable] | None = None,
    seats: Mapping[Any, tuple[float, float]] | None = None,
    distance_measure: str = "population",
) -> PlanMetrics:
    """Metrics of ``assignment``. ``districts`` lists every district (an empty one counts in the
    ideal and shows zeros); ``workload`` weights stored measures into a ``workload`` measure;
    ``base`` with ``parent_of`` (district → parent key, for base and plan districts) gives moves
    and parent changes; ``seats`` (district → lon/lat) gives the seat distances, weighted by
    ``distance_measure``."""
    labels_raw = assignment_array(units, assignment)
    keys = sorted(set(labels_raw), key=_sort_key) if districts is None else list(districts)
    if len(set(keys)) != len(keys) or not keys:
        raise InvalidInput("districts must be distinct and not empty")
    pos = {d: i for i, d in enumerate(keys)}
    unknown = [d for d in set(labels_raw) if d not in pos]
    if unknown:
        raise InvalidInput(f"assignment uses district(s) not in districts: {unknown[:5]}")
    labels = np.array([pos[d] for d in labels_raw])
    k = len(keys)
    names = list(measures) if measures is not None else list(units.measures)
    if workload and "workload" not in names:
        names.append("workload")
    values = {m: units.measure(m, workload) for m in names}
    totals = {m: np.bincount(labels, weights=v, minlength=k) for m, v in values.items()}

    adj = adjacency if adjacency is not None else rook_adjacency(units.geoms)
    if adj.n != len(units):
        raise InvalidInput("adjacency is for a different unit set")
    n_pieces = pieces(adj, labels.tolist(), k)

    members = [np.flatnonzero(labels == d) for d in range(k)]
    unions = np.array([shapely.union_all(units.geoms[m]) if len(m) else shapely.Polygon() for m in members],
                      dtype=object)
    shp = shapes(unions)

    dist_mean: list[float | None] = [None] * k
    dist_max: list[float | None] = [None] * k
    if seats:
        pts = units.unit_points()
        w = units.measure(distance_measure, workload)
        for d, key in enumerate(keys):
            if key not in seats or not len(members[d]):
                continue
            idx = members[d]
            lon, lat = seats[key]
            dist = haversine_m(pts[idx, 0], pts[idx, 1], np.full(len(idx), lon), np.full(len(idx), lat))
            wm = w[idx]
            if wm.sum() > 0:
                dist_mean[d] = float((dist * wm).sum() / wm.sum())
                dist_max[d] = float(dist[wm > 0].max())

    stats: dict[str, MeasureStats] = {}
    dev: dict[str, np.ndarray] = {}
    for m, t in totals.items():
        ideal = float(t.sum()) / k
        dev[m] = (t - ideal) / ideal if ideal > 0 else np.zeros(k)
        worst = int(np.argmax(np.abs(dev[m])))
        stats[m] = MeasureStats(
            m, ideal, float(abs(dev[m][worst])), keys[worst],
            float(t.std() / t.mean()) if t.mean() > 0 else 0.0,
            float((t.max() - t.min()) / ideal) if ideal > 0 else 0.0,
        )

    per = [
        DistrictMetrics(
            keys[d], len(members[d]), {m: float(totals[m][d]) for m in names},
            {m: float(dev[m][d]) for m in names}, n_pieces[d],
            shp[d].area_m2, shp[d].perimeter_m, shp[d].polsby_popper, shp[d].reock, shp[d].convex_hull,
            dist_mean[d], dist_max[d],
        )
        for d in range(k)
    ]
    nonempty = [p for p in per if p.units]

    split: list[SplitVillage] = []
    if units.village is not None:
        seen: dict[str, set[int]] = {}
        for v, lab in zip(units.village, labels.tolist(), strict=True):
            if v is not None:
                seen.setdefault(v, set()).add(lab)
        split = [SplitVillage(v, tuple(keys[i] for i in sorted(s)))
                 for v, s in sorted(seen.items()) if len(s) > 1]

    moves = None
    if base is not None:
        base_raw = assignment_array(units, base)
        moved = np.array([a != b for a, b in zip(labels_raw, base_raw, strict=True)])
        pc: list[str] = []
        if parent_of is not None:
            missing = sorted({str(d) for d in [*labels_raw, *base_raw] if d not in parent_of})
            if missing:
                raise InvalidInput(f"parent_of lacks district(s): {', '.join(missing[:5])}")
            pc = [c for c, a, b in zip(units.codes, labels_raw, base_raw, strict=True)
                  if parent_of[a] != parent_of[b]]
        moves = Moves(
            int(moved.sum()), tuple(np.asarray(units.codes)[moved].tolist()),
            {m: float(v[moved].sum()) for m, v in values.items()}, len(pc), tuple(pc),
        )

    return PlanMetrics(
        per, stats, all(p.pieces <= 1 for p in per),
        float(np.mean([p.polsby_popper for p in nonempty])),
        float(np.mean([p.reock for p in nonempty])),
        float(np.mean([p.convex_hull for p in nonempty])),
        split, moves,
    )
