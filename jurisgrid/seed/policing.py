"""Police geography: 21 stations (4 urban, 7 central-town, 10 rural) in 7 sectors, and zones.

Everything is planned on the community adjacency graph (communities sharing an edge), so every
station jurisdiction and every multi-village zone is contiguous by construction: groups only
ever grow into an adjacent, unassigned community or township.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import Polygon

from .model import StationKind
from .names import chinese_number
from .reference import CommunityRef, TownshipRef

N_URBAN, N_CENTRAL, N_RURAL = 4, 7, 10
RURAL_TOWNSHIPS = 34  # 渠县's non-街道 townships: other counties get N_CENTRAL, N_RURAL pro rata
STATIONS_PER_SECTOR = 3
RURAL_ZONE_MAX_VILLAGES = 4
RURAL_ZONE_POPULATION = 4500.0  # stop growing a rural zone at this population (scale 1)

Graph = list[dict[int, float]]  # node → {neighbour: shared border length}


@dataclass
class StationPlan:
    kind: StationKind
    short: str  # 渠江 → 渠县公安局渠江派出所
    townships: list[int]  # main township first
    communities: list[int]
    seat_community: int


@dataclass
class ZonePlan:
    name: str
    kind: str  # 'urban' | 'rural'
    has_office: bool
    communities: list[int]


@dataclass
class SectorPlan:
    name: str
    stations: list[int] = field(default_factory=list)


def edge_adjacency(geoms: Sequence[Polygon]) -> Graph:
    """Neighbours sharing a boundary of positive length (touching corners do not count)."""
    arr = np.asarray(geoms, dtype=object)
    a, b = shapely.STRtree(arr).query(arr, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    rings = shapely.boundary(arr)
    length = shapely.length(shapely.intersection(rings[a], rings[b]))
    graph: Graph = [{} for _ in range(len(arr))]
    for i, j, n in zip(a.tolist(), b.tolist(), length.tolist(), strict=True):
        if n > 0:
            graph[i][j] = n
            graph[j][i] = n
    return graph


def quotient(graph: Graph, label: Sequence[int], n: int) -> Graph:
    """Graph of groups: two groups are adjacent when any of their members are."""
    out: Graph = [{} for _ in range(n)]
    for i, nbrs in enumerate(graph):
        for j, length in nbrs.items():
            a, b = label[i], label[j]
            if a != b:
                out[a][b] = out[a].get(b, 0.0) + length
    return out


def grow(
    graph: Graph, groups: list[list[int]], todo: set[int], weight: Sequence[float]
) -> list[int]:
    """Assign every node of ``todo`` to an adjacent group, lightest group first.

    Returns the nodes that no group can reach (disconnected from every group).
    """
    load = [sum(weight[n] for n in g) for g in groups]
    owner = {n: gi for gi, g in enumerate(groups) for n in g}
    todo = set(todo)
    while todo:
        best = None
        for n in sorted(todo):
            for m, length in graph[n].items():
                if m in owner:
                    key = (load[owner[m]], -length, n)
                    if best is None or key < best[0]:
                        best = (key, n, owner[m])
        if best is None:
            return sorted(todo)
        _, n, gi = best
        groups[gi].append(n)
        owner[n] = gi
        load[gi] += weight[n]
        todo.discard(n)
    return []


def _split_in_two(graph: Graph, nodes: list[int], weight: Sequence[float], xy: np.ndarray) -> list[list[int]]:
    """Two contiguous halves of a connected node set, grown from its two farthest nodes."""
    pts = xy[nodes]
    d = ((pts[:, None, :] - pts[None, :, :]) ** 2).sum(axis=2)
    i, j = np.unravel_index(int(np.argmax(d)), d.shape)
    inside = set(nodes)
    sub = [{m: v for m, v in graph[n].items() if m in inside} for n in range(len(graph))]
    groups = [[nodes[int(i)]], [nodes[int(j)]]]
    rest = set(nodes) - {nodes[int(i)], nodes[int(j)]}
    left = grow(sub, groups, rest, weight)
    if left:
        raise RuntimeError("urban street is not contiguous")
    return groups


def _bearing_name(dx: float, dy: float) -> str:
    angle = math.degrees(math.atan2(dy, dx))
    if -45 <= angle < 45:
        return "城东"
    if 45 <= angle < 135:
        return "城北"
    if angle >= 135 or angle < -135:
        return "城西"
    return "城南"


def _hops(graph: Graph, sources: list[int]) -> list[float]:
    dist = [math.inf] * len(graph)
    queue = deque(sources)
    for s in sources:
        dist[s] = 0
    while queue:
        n = queue.popleft()
        for m in graph[n]:
            if dist[m] == math.inf:
                dist[m] = dist[n] + 1
                queue.append(m)
    return dist


def plan_stations(
    towns: list[TownshipRef],
    comms: list[CommunityRef],
    comm_town: Sequence[int],
    comm_graph: Graph,
    comm_xy: np.ndarray,
    population: Sequence[float],
    seat_community: Sequence[int],
) -> list[StationPlan]:
    """4 urban stations over the 街道, 7 central-town and 10 rural stations over the rest (渠县;
    another county gets central-town and rural stations in proportion to its townships)."""
    town_graph = quotient(comm_graph, comm_town, len(towns))
    town_pop = np.bincount(np.asarray(comm_town), weights=np.asarray(population), minlength=len(towns))
    members = [[c for c in range(len(comms)) if comm_town[c] == t] for t in range(len(towns))]
    streets = [t for t, r in enumerate(towns) if r.kind == "street"]
    plans: list[StationPlan] = []
    # urban: one station per 街道, the most populous one split into two contiguous halves
    big = max(streets, key=lambda t: (town_pop[t], -t))
    for t in streets:
        seat = seat_community[t]
        if t != big:
            plans.append(StationPlan("urban", towns[t].short, [t], members[t], seat))
            continue
        halves = _split_in_two(comm_graph, members[t], population, comm_xy)
        main = 0 if seat in halves[0] else 1
        other = halves[1 - main]
        plans.append(StationPlan("urban", towns[t].short, [t], sorted(halves[main]), seat))
        first = min(c for c in other if comms[c].kind == "community") if any(
            comms[c].kind == "community" for c in other) else min(other)
        d = comm_xy[other].mean(axis=0)  # relative to the county seat
        plans.append(StationPlan("urban", _bearing_name(*d), [t], sorted(other), first))
    # rural area: central towns (most 社区, then most communities), each with a neighbour
    rest = [t for t in range(len(towns)) if towns[t].kind != "street"]
    rural_set = set(rest)
    g = [{m: v for m, v in town_graph[t].items() if m in rural_set} if t in rural_set else {}
         for t in range(len(towns))]
    n_com = [sum(comms[c].kind == "community" for c in members[t]) for t in range(len(towns))]
    rank = sorted(rest, key=lambda t: (-n_com[t], -len(members[t]), towns[t].code))
    n_central = max(1, round(N_CENTRAL * len(rest) / RURAL_TOWNSHIPS)) if rest else 0
    n_rural = min(round(N_RURAL * len(rest) / RURAL_TOWNSHIPS), max(0, len(rest) - 2 * n_central))
    central = rank[:n_central]
    groups = [[t] for t in central]
    taken = set(central)
    for grp in groups:
        free = [(v, m) for m, v in g[grp[0]].items() if m not in taken]
        if free:
            m = max(free)[1]
            grp.append(m)
            taken.add(m)
    rural: list[int] = []
    for _ in range(n_rural):
        dist = _hops(g, [t for grp in groups for t in grp] + rural)
        cand = [t for t in rank if t not in taken]
        if not cand:
            break
        pick = max(cand, key=lambda t: (dist[t], -rank.index(t)))
        rural.append(pick)
        taken.add(pick)
    groups += [[t] for t in rural]
    left = grow(g, groups, set(rest) - taken, town_pop.tolist())
    if left:
        raise RuntimeError(f"townships unreachable by any station: {left}")
    for n, grp in enumerate(groups):
        kind: StationKind = "central" if n < n_central else "rural"
        cs = sorted(c for t in grp for c in members[t])
        plans.append(StationPlan(kind, towns[grp[0]].short, grp, cs, seat_community[grp[0]]))
    return plans


def plan_sectors(plans: list[StationPlan], centre: np.ndarray) -> list[SectorPlan]:
    """Seven sectors of three stations.

    The three urban stations nearest the county seat form 城区片区; the rest are grouped by
    repeatedly taking the station farthest from the county seat with its two nearest
    unassigned stations (``centre``: jurisdiction centroids in metres from the county seat).
    """
    dist = np.hypot(centre[:, 0], centre[:, 1])
    urban = sorted((s for s, p in enumerate(plans) if p.kind == "urban"), key=lambda s: dist[s])
    core = sorted(urban[:STATIONS_PER_SECTOR])
    sectors = [SectorPlan("城区片区", core)]
    todo = [s for s in range(len(plans)) if s not in core]
    while todo:
        far = max(todo, key=lambda s: (float(dist[s]), -s))
        near = sorted((float(np.hypot(*(centre[s] - centre[far]))), s) for s in todo if s != far)
        grp = sorted([far] + [s for _, s in near[: STATIONS_PER_SECTOR - 1]])
        todo = [s for s in todo if s not in grp]
        pref = [s for s in grp if plans[s].kind == "central"] or grp
        sectors.append(SectorPlan(f"{plans[pref[0]].short}片区", grp))
    head, rest = sectors[0], sectors[1:]
    rest.sort(key=lambda sec: (90.0 - math.degrees(math.atan2(
        *centre[sec.stations].mean(axis=0)[::-1]))) % 360)  # clockwise from north
    return [head, *rest]


def plan_zones(
    plan: StationPlan,
    towns: list[TownshipRef],
    comms: list[CommunityRef],
    comm_town: Sequence[int],
    comm_graph: Graph,
    population: Sequence[float],
) -> list[ZonePlan]:
    """One zone per 社区; villages in contiguous groups of 1–4 within a township."""
    zones = [ZonePlan(f"{comms[c].name}警务区", "urban", True, [c])
             for c in plan.communities if comms[c].kind == "community"]
    for t in dict.fromkeys(comm_town[c] for c in plan.communities):
        villages = [c for c in plan.communities if comm_town[c] == t and comms[c].kind == "village"]
        for n, grp in enumerate(_village_groups(villages, comm_graph, population), start=1):
            names = "、".join(comms[c].name for c in grp)
            zones.append(ZonePlan(f"{towns[t].name}{chinese_number(n)}区 ({names})", "rural",
                                  len(grp) >= 3, grp))
    return zones


def _village_groups(villages: list[int], graph: Graph, population: Sequence[float]) -> list[list[int]]:
    todo = set(villages)
    groups: list[list[int]] = []
    while todo:
        start = min(todo, key=lambda c: (sum(m in todo for m in graph[c]), c))
        grp = [start]
        todo.discard(start)
        pop = population[start]
        while len(grp) < RURAL_ZONE_MAX_VILLAGES and pop < RURAL_ZONE_POPULATION:
            border: dict[int, float] = {}
            for c in grp:
                for m, length in graph[c].items():
                    if m in todo:
                        border[m] = border.get(m, 0.0) + length
            if not border:
                break
            nxt = max(border, key=lambda m: (border[m], -m))
            grp.append(nxt)
            todo.discard(nxt)
            pop += population[nxt]
        groups.append(sorted(grp))
    return groups
