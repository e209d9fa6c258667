"""The vertex-level steps of the repair: snapping the vertices of the polygons in a problem
onto their neighbours' (rule 2), GEOS' coverage cleaner, which nodes the coverage into faces
and gives each overlapping face to one polygon (rule 4), and removing the T-junctions next to
a changed polygon (rule 7). None of them writes the ledger: the caller does, from the polygons
before and after."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from jurisgrid.geo.topology.measure import BORDER_EPS_DEG, Scale, like_input
from jurisgrid.geo.validate import GRID_SIZE, polygons_only

__all__ = ["NODE_SNAP_DEG", "clean_coverage", "node_junctions", "snap_dirty"]

NODE_SNAP_DEG = GRID_SIZE / 10   # the coverage cleaner's node snapping: a tenth of the lattice


def snap_dirty(geoms: list[BaseGeometry], dirty: set[int], keys: Sequence[str],
                outline: BaseGeometry | None, tol_deg: float) -> list[BaseGeometry]:
    """Move vertices of the dirty polygons onto nearby vertices of other polygons or the outline.

    Vertex clustering, not ``shapely.snap``: snap also inserts reference vertices into edges,
    which spreads one misplaced vertex into every neighbour. Here a vertex moves only to a
    vertex within ``tol_deg`` that belongs to another polygon (or the outline) and ranks
    higher: outline vertices first, then vertices shared by more polygons (the consensus of
    the neighbours), then the vertex of the polygon with the smaller key. Vertices of clean
    polygons never move; a move that would make a polygon invalid is not applied.
    """
    arr = np.asarray(geoms, dtype=object)
    coords, owner = shapely.get_coordinates(arr, return_index=True)
    rim = shapely.get_coordinates(outline) if outline is not None else np.empty((0, 2))
    allc = np.vstack([coords, rim])
    uniq, inv = np.unique(allc, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    n_u = len(uniq)
    keyrank = np.empty(len(geoms), dtype=np.int64)
    keyrank[np.argsort(np.asarray(keys, dtype=object), kind="stable")] = np.arange(len(geoms))
    on_rim = np.zeros(n_u, dtype=bool)
    on_rim[inv[len(coords):]] = True
    pairs = np.unique(np.column_stack([inv[:len(coords)], owner]), axis=0)
    degree = np.bincount(pairs[:, 0], minlength=n_u)
    best_key = np.full(n_u, len(geoms), dtype=np.int64)
    np.minimum.at(best_key, pairs[:, 0], keyrank[pairs[:, 1]])
    owners: dict[int, set[int]] = {}
    for u, g in pairs.tolist():
        owners.setdefault(u, set()).add(g)
    rank = np.lexsort((-best_key, degree, on_rim))        # ascending rank
    score = np.empty(n_u, dtype=np.int64)
    score[rank] = np.arange(n_u)
    dirty_arr = np.fromiter(dirty, dtype=np.int64)
    src = np.unique(pairs[np.isin(pairs[:, 1], dirty_arr), 0])
    src = src[~on_rim[src]]
    if not src.size:
        return list(geoms)
    pts = shapely.points(uniq)
    tree = shapely.STRtree(pts)
    s_idx, t_idx = tree.query(pts[src], predicate="dwithin", distance=tol_deg)
    s_idx = src[s_idx]
    target = np.arange(n_u)
    best_score = score.copy()
    for s, t in zip(s_idx.tolist(), t_idx.tolist(), strict=True):
        if s == t or score[t] <= best_score[s]:
            continue
        if not on_rim[t] and owners.get(t, set()) <= owners.get(s, set()):
            continue  # the polygon's own vertex: moving onto it would collapse an edge
        target[s], best_score[s] = t, score[t]
    for _ in range(8):   # chains: each step goes to a strictly higher rank
        nxt = target[target]
        if (nxt == target).all():
            break
        target = nxt
    moved = np.flatnonzero(target != np.arange(n_u))
    if not moved.size:
        return list(geoms)
    mapping = {tuple(uniq[u]): tuple(uniq[target[u]]) for u in moved.tolist()}
    out = list(geoms)
    for i in sorted(dirty, key=lambda n: keys[n]):
        g = geoms[i]

        def move(c: np.ndarray) -> np.ndarray:
            res = c.copy()
            for k, (x, y) in enumerate(c.tolist()):
                t = mapping.get((x, y))
                if t is not None:
                    res[k] = t
            return res

        snapped = shapely.remove_repeated_points(shapely.transform(g, move))
        if not shapely.equals_exact(snapped, g, 0) and snapped.is_valid and not snapped.is_empty:
            out[i] = like_input(snapped, g)
    return out


def clean_coverage(geoms: list[BaseGeometry], keys: Sequence[str], scale: Scale) -> list[BaseGeometry]:
    """GEOS' coverage cleaner, run in local metres so that its "longest border" is measured in
    metres (in degrees an east–west border would count 1/cos φ too long), in key order (so
    the result does not depend on the input order; an exact tie goes to the polygon its
    spatial index meets first).

    Coordinates come back exactly: an input vertex maps back to its own input coordinates
    (looked up, not recomputed), a new node is converted back once — the same for every
    polygon that shares it, so shared edges stay identical."""
    order = sorted(range(len(geoms)), key=lambda n: keys[n])
    arr = np.asarray([geoms[n] for n in order], dtype=object)
    coords = shapely.get_coordinates(arr)
    origin = coords.min(axis=0) if len(coords) else np.zeros(2)
    k = np.array([scale.kx, scale.ky])
    back = {tuple(m): tuple(c) for m, c in zip(((coords - origin) * k).tolist(), coords.tolist(),
                                                strict=True)}

    def to_deg(c: np.ndarray) -> np.ndarray:
        res = c / k + origin
        for n, m in enumerate(c.tolist()):
            hit = back.get(tuple(m))
            if hit is not None:
                res[n] = hit
        return res

    metric = shapely.transform(arr, lambda c: (c - origin) * k)
    cleaned = shapely.coverage_clean(metric, snapping_distance=NODE_SNAP_DEG * scale.ky,
                                     gap_width=0.0, merge_strategy="longest_border")
    out: list[BaseGeometry] = list(geoms)
    for pos, n in enumerate(order):
        c = cleaned[pos]
        if c is None or c.is_empty:
            out[n] = shapely.MultiPolygon()
            continue
        g = shapely.transform(c, to_deg)
        out[n] = geoms[n] if shapely.equals(g, geoms[n]) else polygons_only(g)
    return out


def node_junctions(geoms: list[BaseGeometry], inputs: list[BaseGeometry]) -> list[BaseGeometry]:
    """No T-junction between a changed polygon and its neighbours.

    In the plane a T-junction is harmless; on the sphere (the database measures areas as
    ``geography``) the neighbour's edge U–V is one geodesic and the changed polygon's U–P–V two,
    and the sliver between them (≈ 0.02 m² along a 150 m edge) counts as overlap or gap. So,
    among the changed polygons and their neighbours: vertices closer than ``BORDER_EPS_DEG``
    (0.1 mm; floating-point residue of separate overlays) merge onto the smallest (lon, lat) of
    them, then a vertex of one lying on another's edge is inserted into that edge. Shapes move
    by at most 0.2 mm; a step that would make a polygon invalid is not applied; no repair is
    listed."""
    changed = {i for i, g in enumerate(geoms) if g is not inputs[i]}
    if not changed:
        return geoms
    out = list(geoms)
    arr = np.asarray(out, dtype=object)
    tree = shapely.STRtree(arr)
    idx = np.fromiter(sorted(changed), dtype=np.int64)
    _a, b = tree.query(arr[idx], predicate="dwithin", distance=BORDER_EPS_DEG)
    group = np.unique(np.concatenate([idx, b]))
    # 1. merge near-duplicate vertices (union-find over pairs closer than the epsilon)
    pts = np.unique(shapely.get_coordinates(arr[group]), axis=0)
    pt_tree = shapely.STRtree(shapely.points(pts))
    pa, pb = pt_tree.query(shapely.points(pts), predicate="dwithin", distance=BORDER_EPS_DEG)
    parent = np.arange(len(pts))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    for x, y in zip(pa.tolist(), pb.tolist(), strict=True):
        if x != y:
            rx, ry = find(x), find(y)
            if rx != ry:   # np.unique sorted the points: the smaller index is the smaller point
                parent[max(rx, ry)] = min(rx, ry)
    roots = np.fromiter((find(x) for x in range(len(pts))), dtype=np.int64, count=len(pts))
    moved = np.flatnonzero(roots != np.arange(len(pts)))
    if moved.size:
        mapping = {tuple(pts[m]): tuple(pts[roots[m]]) for m in moved.tolist()}

        def merge(c: np.ndarray) -> np.ndarray:
            res = c.copy()
            for k, xy in enumerate(c.tolist()):
                t = mapping.get(tuple(xy))
                if t is not None:
                    res[k] = t
            return res

        for i in group.tolist():
            g = out[i]
            try:
                h = shapely.remove_repeated_points(shapely.transform(g, merge))
            except shapely.errors.GEOSException:
                continue
            if (not shapely.equals_exact(h, g, 0) and h.is_valid and not h.is_empty
                    and shapely.hausdorff_distance(h, g) <= 2 * BORDER_EPS_DEG):
                out[i] = like_input(h, g)
    # 2. insert the vertices of neighbours that lie on a polygon's edges
    arr = np.asarray(out, dtype=object)
    ga, gb = shapely.STRtree(arr[group]).query(arr[group], predicate="dwithin", distance=BORDER_EPS_DEG)
    nbrs: dict[int, list[int]] = {}
    for x, y in zip(group[ga].tolist(), group[gb].tolist(), strict=True):
        if x != y:
            nbrs.setdefault(x, []).append(y)
    for i in sorted(nbrs):
        g = out[i]
        cand = np.unique(shapely.get_coordinates(arr[sorted(nbrs[i])]), axis=0)
        rim = g.boundary
        shapely.prepare(rim)
        on = cand[shapely.dwithin(shapely.points(cand), rim, BORDER_EPS_DEG)]
        own = set(map(tuple, shapely.get_coordinates(g).tolist()))
        missing = [v for v in on.tolist() if tuple(v) not in own]
        if not missing:
            continue
        new = _snap_kept(g, missing)
        if new is None and len(missing) > 1:   # all at once failed: one by one
            h = g
            for v in missing:
                step = _snap_kept(h, [v])
                if step is not None:
                    h = step
            new = h if h is not g else None
        if new is not None:
            out[i] = like_input(new, g)
    return out


def _snap_kept(g: BaseGeometry, points: list[list[float]]) -> BaseGeometry | None:
    """``g`` snapped to ``points`` within 0.1 mm, if that changes it, keeps it valid, and moves
    no point of it by more than 0.2 mm; else None."""
    noded = shapely.snap(g, shapely.multipoints(points), BORDER_EPS_DEG)
    if not noded.is_valid:
        # two parts of one polygon meeting at a hair's angle can cross by 1e-16° once a vertex
        # is inserted: make_valid undoes that without changing the area
        noded = polygons_only(shapely.make_valid(noded, method="structure", keep_collapsed=False))
        if abs(noded.area - g.area) > 1e-15:   # deg², ~1e-5 m²
            return None
    if (not shapely.equals_exact(noded, g, 0) and noded.is_valid
            and shapely.hausdorff_distance(noded, g) <= 2 * BORDER_EPS_DEG):
        return noded
    return None
