"""Exact tilings: partition polygons into power cells with shared edges bit-identical.

Cells are never clipped one by one (separate snap-rounded overlays could round a shared edge
differently on its two sides).  Instead all boundaries of one level — the parents' edges and
every cell edge clipped to its parent — are noded together in **one** snap-rounded union on
the ``GRID`` precision grid and polygonised.  Each face then gets its parent (by a point on
its surface) and its site (smallest power distance from that point), and the faces of a site
are dissolved.  Neighbouring cells therefore share exactly the same vertices, the union of the
children is exactly the (snap-rounded) parent, and the whole hierarchy nests exactly once every
level is re-derived bottom-up with ``dissolve``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

from .frame import GRID, M2_PER_DEG2, FloatArray, geom_to_lonlat, to_xy
from .power import power_cells, power_labels

TOLERANCE_M2 = 0.01


@dataclass
class Sites:
    """Power-diagram sites of one parent, in local metres (``frame.to_xy``)."""

    centres: FloatArray
    weights: FloatArray
    anchors: list[Point | None] | None = None  # keep the part containing it, if any
    background: int | None = None  # a site that takes whatever the others' discs leave

    def __len__(self) -> int:
        return len(self.centres)


def _cell_lines(parent: Polygon, sites: Sites) -> list[shapely.Geometry]:
    if len(sites) < 2:
        return []
    px = shapely.bounds(parent)
    x0, y0 = to_xy(px[0], px[1])
    x1, y1 = to_xy(px[2], px[3])
    pad = 10.0 + 0.05 * float(max(x1 - x0, y1 - y0))
    box = (float(x0) - pad, float(y0) - pad, float(x1) + pad, float(y1) + pad)
    rings = [r for r in power_cells(sites.centres, sites.weights, box, sites.background) if r]
    cells = geom_to_lonlat(np.asarray([Polygon(r) for r in rings], dtype=object))
    lines = shapely.intersection(shapely.boundary(cells), parent)
    return [g for g in lines if not g.is_empty]


def _faces(parents: Sequence[Polygon], sites: Sequence[Sites]) -> np.ndarray:
    lines: list[shapely.Geometry] = list(shapely.boundary(np.asarray(parents, dtype=object)))
    for parent, s in zip(parents, sites, strict=True):
        lines.extend(_cell_lines(parent, s))
    noded = shapely.union_all(lines, grid_size=GRID)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    return faces[shapely.area(faces) > 0]


def _face_parents(parents: Sequence[Polygon], reps: np.ndarray) -> np.ndarray:
    tree = shapely.STRtree(np.asarray(parents, dtype=object))
    pi, gi = tree.query(reps, predicate="intersects")
    owner = np.full(len(reps), -1, dtype=np.int64)
    owner[pi[::-1]] = gi[::-1]  # first hit wins
    missing = np.flatnonzero(owner < 0)
    if len(missing):
        owner[missing] = tree.query_nearest(reps[missing], all_matches=False)[1]
    return owner


def partition(parents: Sequence[Polygon], sites: Sequence[Sites]) -> list[list[Polygon]]:
    """Split every parent into the power cells of its sites, as an exact coverage.

    Returns, per parent, one polygon per site (in site order).  A cell that a concave parent
    cuts into several pieces keeps the piece containing its anchor (else its largest piece);
    the other pieces go to the sibling sharing the longest edge with them.  Sites whose cell
    ends up empty get an empty polygon — callers drop or reseed them.
    """
    faces = _faces(parents, sites)
    reps = shapely.point_on_surface(faces)
    owner = _face_parents(parents, reps)
    rx, ry = to_xy(shapely.get_x(reps), shapely.get_y(reps))
    out: list[list[Polygon]] = []
    for p, s in enumerate(sites):
        idx = np.flatnonzero(owner == p)
        if len(s) == 1:
            label = np.zeros(len(idx), dtype=np.int64)
        else:
            label = power_labels(
                np.column_stack([rx[idx], ry[idx]]), s.centres, s.weights, s.background
            )
        groups = [faces[idx[label == j]] for j in range(len(s))]
        cells = [dissolve(g) for g in groups]
        out.append(fix_multipart(cells, s.anchors))
    return out


def dissolve(polys: Sequence[shapely.Geometry]) -> Polygon | MultiPolygon:
    """Union of polygons that form an exact coverage (shared edges bit-identical)."""
    if len(polys) == 0:
        return Polygon()
    if len(polys) == 1:
        return polys[0]
    return shapely.coverage_union_all(np.asarray(polys, dtype=object))


def _shared_length(a: shapely.Geometry, others: list[Polygon]) -> np.ndarray:
    return shapely.length(
        shapely.intersection(shapely.boundary(a), shapely.boundary(np.asarray(others, dtype=object)))
    )


def fix_multipart(
    cells: list[Polygon | MultiPolygon], anchors: list[Point | None] | None = None
) -> list[Polygon]:
    """Make every cell a single Polygon by giving detached pieces to an edge neighbour."""
    loose: list[Polygon] = []
    out: list[shapely.Geometry] = []
    for i, cell in enumerate(cells):
        if not isinstance(cell, MultiPolygon):
            out.append(cell)
            continue
        parts = sorted(cell.geoms, key=lambda g: -g.area)
        anchor = anchors[i] if anchors else None
        keep = 0
        if anchor is not None:
            hits = [n for n, g in enumerate(parts) if g.contains(anchor)]
            keep = hits[0] if hits else 0
        out.append(parts[keep])
        loose.extend(g for n, g in enumerate(parts) if n != keep)
    while loose:
        pending = []
        for piece in loose:
            shared = _shared_length(piece, out)
            j = int(np.argmax(shared))
            if shared[j] <= 0:
                pending.append(piece)
                continue
            out[j] = dissolve([out[j], piece])
        if len(pending) == len(loose):  # nothing adjacent: leave the pieces where they were
            out.extend(pending)
            break
        loose = pending
    return [shapely.normalize(g) for g in out]


def check_tiling(
    parent: Polygon | MultiPolygon, cells: Sequence[shapely.Geometry], tol_m2: float = TOLERANCE_M2
) -> list[str]:
    """Problems that keep ``cells`` from tiling ``parent`` exactly (empty list when fine).

    Checks each cell (non-empty, a single valid Polygon, vertices on the ``GRID``), the
    coverage (no overlaps, matching shared edges: ``shapely.coverage_is_valid``) and that the
    union equals the parent (symmetric difference and overlap area ≤ ``tol_m2`` m², areas in
    the local equirectangular frame).
    """
    problems: list[str] = []
    arr = np.asarray(cells, dtype=object)
    for i, c in enumerate(arr):
        if c is None or c.is_empty:
            problems.append(f"cell {i} is empty")
        elif not isinstance(c, Polygon):
            problems.append(f"cell {i} is a {c.geom_type}, not a Polygon")
        elif not c.is_valid:
            problems.append(f"cell {i} is invalid: {shapely.is_valid_reason(c)}")
    if problems:
        return problems
    coords = shapely.get_coordinates(arr)
    off = np.abs(coords / GRID - np.round(coords / GRID)).max(initial=0.0)
    if off > 1e-3:
        problems.append(f"vertices off the {GRID:g}° grid (by {off:.3g} grid steps)")
    if not shapely.coverage_is_valid(arr):
        edges = shapely.get_parts(shapely.coverage_invalid_edges(arr))
        edges = edges[~shapely.is_empty(edges)]
        where = shapely.get_coordinates(edges[:1])[:1].round(7).tolist()
        problems.append(f"coverage invalid: {len(edges)} mismatched edge(s), first near {where}")
        union = shapely.union_all(arr)
    else:
        union = shapely.coverage_union_all(arr)
    overlap = (float(shapely.area(arr).sum()) - union.area) * M2_PER_DEG2
    if overlap > tol_m2:
        problems.append(f"cells overlap by {overlap:.4f} m²")
    diff = shapely.area(shapely.symmetric_difference(union, parent)) * M2_PER_DEG2
    if diff > tol_m2:
        problems.append(f"union of cells differs from parent by {diff:.4f} m²")
    return problems
