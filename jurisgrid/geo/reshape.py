"""Pure geometry of the grid-shape edits: redraw, split and merge (Shapely, 1e-7° grid).

All overlay runs with ``grid_size=GRID_SIZE`` so that results share vertices exactly with their
neighbours and the county keeps tiling without slivers.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from jurisgrid.geo.validate import GRID_SIZE, GeometryProblem, area_m2, polygons_only

TOL_M2 = 0.01
SNAP_SLACK_M2 = 5.0
# least distance (degrees, ~1 mm) of a vertex moved off an outline from that outline
CLEARANCE = GRID_SIZE / 10


def redraw(code: str, old: BaseGeometry, new: BaseGeometry, neighbours: dict[str, BaseGeometry],
           *, give_to: str | None, county: BaseGeometry,
           within: BaseGeometry | None = None) -> dict[str, shapely.MultiPolygon]:
    """New geometries of the redrawn grid and the neighbours it changes.

    The grid takes ``new``; each neighbour loses what ``new`` covers; the land the grid gives up
    (old − new) goes to ``give_to``, which must be a neighbour. Refused (GeometryProblem) when
    the new shape leaves the county, swallows a neighbour, or gives up land with no taker.

    Overlay is exact (no precision grid): where the new outline crosses a neighbour's edge the
    crossing point becomes a vertex of both, and the redrawn grid is computed as the rest of the
    area the changed grids covered, so they tile it exactly — no sliver, no T-junction.
    """
    beyond_county = area_m2(shapely.difference(new, county))
    if beyond_county > SNAP_SLACK_M2:
        raise GeometryProblem("OUTSIDE_COUNTY",
                              f"the new shape reaches {beyond_county:.1f} m² outside the county",
                              outside_m2=round(beyond_county, 3))
    if within is not None:
        # a grid lies in one community: up to SNAP_SLACK_M2 outside it is rounding of the
        # input to the 1e-7° grid and is cut off exactly; more is refused
        beyond = area_m2(shapely.difference(new, within))
        if beyond > SNAP_SLACK_M2:
            raise GeometryProblem("OUTSIDE_COMMUNITY",
                                  f"the new shape reaches {beyond:.1f} m² outside the grid's community",
                                  outside_m2=round(beyond, 3))
        new = pull_inside(new, within)
    # measured against what the grid already had outside: the seeded outline is not on the
    # 1e-7° grid, so grids along it stick out by sub-grid slivers from the start
    outside = shapely.difference(new, county)
    if area_m2(outside) > area_m2(shapely.difference(old, county)) + TOL_M2:
        raise GeometryProblem("OUTSIDE_COUNTY",
                              f"the new shape reaches {area_m2(outside):.1f} m² outside the county",
                              outside_m2=round(area_m2(outside), 3))
    out: dict[str, shapely.MultiPolygon] = {}
    for k, g in neighbours.items():
        if not shapely.intersects(g, new) or area_m2(shapely.intersection(g, new)) <= TOL_M2 / 100:
            continue
        rest = polygons_only(shapely.difference(g, new))
        if area_m2(rest) <= TOL_M2:
            raise GeometryProblem("SWALLOWS_GRID",
                                  f"the new shape covers all of grid {k}; merge the grids instead",
                                  grid=k)
        out[k] = rest
    given = polygons_only(shapely.difference(old, new))
    if area_m2(given) > TOL_M2:
        if give_to is None:
            raise GeometryProblem("LAND_WITHOUT_TAKER",
                                  f"the new shape gives up {area_m2(given):.1f} m²; name the "
                                  "neighbour that takes it (giveTo)", given_m2=round(area_m2(given), 3))
        if give_to not in neighbours or give_to == code:
            raise GeometryProblem("BAD_TAKER", f"giveTo {give_to} is not a neighbour of {code}",
                                  grid=give_to)
        base = out.get(give_to, neighbours[give_to])
        if shapely.distance(base, given) > GRID_SIZE:
            raise GeometryProblem("BAD_TAKER", f"grid {give_to} does not touch the land given up",
                                  grid=give_to)
        out[give_to] = polygons_only(shapely.union(base, given))
    total = shapely.union_all([old, *(neighbours[k] for k in out)])
    mine = polygons_only(shapely.difference(total, shapely.union_all(list(out.values()))))
    if area_m2(mine) <= TOL_M2:
        raise GeometryProblem("EMPTY", "the new shape leaves the grid no area")
    out[code] = mine
    return out


def pull_inside(geom: BaseGeometry, within: BaseGeometry) -> shapely.MultiPolygon:
    """``geom`` cut to ``within`` with no vertex on ``within``'s outline except its own vertices.

    A cut leaves vertices on the outline's edges, shared with grids that do not change — a
    T-junction: harmless in the plane, but on the sphere (geography areas) the broken edge no
    longer follows the neighbour's geodesic and tens of m² of overlap or gap appear along long
    edges. Such vertices move to the nearest grid point inside ``within``, ``CLEARANCE`` or more
    from its outline (closer, an overlay may node it back onto the edge).
    """
    cut = polygons_only(shapely.intersection(geom, within))
    own = {(x, y) for x, y in shapely.get_coordinates(within)}
    outline = within.boundary

    def fix(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        for k, (x, y) in enumerate(coords):
            if (x, y) not in own and outline.distance(shapely.Point(x, y)) < 1e-9:
                out[k] = _snap_inside(x, y, within, outline)
        return out

    return polygons_only(shapely.make_valid(shapely.transform(cut, fix)))


def _snap_inside(x: float, y: float, poly: BaseGeometry, outline: BaseGeometry) -> tuple[float, float]:
    """The grid point nearest (x, y) that ``poly`` contains, at least ``CLEARANCE`` from its
    ``outline`` (``poly.boundary``); falls back to plain rounding.

    The candidates are the 3 × 3 grid points around the rounded position, so a point already
    on the grid (say, on a horizontal or vertical outline edge) can move to either side (floor
    and floor + 1 alone miss the side below or to the left, and the point stays on the
    outline). ``contains`` alone is not enough either: a grid point 1e-15° off a slanted edge
    is "inside", and the overlay that follows nodes it onto the edge — a T-junction again."""
    rx, ry = round(x / GRID_SIZE), round(y / GRID_SIZE)
    cands = sorted(((round(i * GRID_SIZE, 7), round(j * GRID_SIZE, 7))
                    for i in (rx - 1, rx, rx + 1) for j in (ry - 1, ry, ry + 1)),
                   key=lambda p: (p[0] - x) ** 2 + (p[1] - y) ** 2)
    for cx, cy in cands:
        p = shapely.Point(cx, cy)
        if poly.contains(p) and outline.distance(p) >= CLEARANCE:
            return cx, cy
    return round(x, 7), round(y, 7)


def split(geom: BaseGeometry, line: shapely.LineString) -> list[shapely.MultiPolygon]:
    """Pieces of ``geom`` cut by ``line``, largest first; refused when the line does not cut it.

    The cut's new vertices are moved to a 1e-7° grid point strictly inside the grid, and the
    largest piece is the exact rest, so the pieces tile the grid exactly with no neighbour
    touched. Strictly: a cut vertex left on the grid's outline (where the line crosses an edge
    at a grid point, e.g. the middle of a 45° or axis-parallel edge) is a T-junction on the
    edge of the county or of a neighbour — exact in the plane, but the geodesic edge breaks
    there (see :func:`pull_inside`): the pieces together no longer cover the grid's area on the
    sphere, and once one grid holds both halves of the edge it sticks out of the county (or its
    community) by the edge's whole geodesic bulge, 0.02 m² for a 150 m edge.
    """
    from shapely.ops import split as _split

    pieces: list[BaseGeometry] = []
    for poly in shapely.get_parts(geom):
        pieces.extend(shapely.get_parts(_split(poly, line)))
    pieces = [p for p in pieces if area_m2(p) > TOL_M2]
    if len(pieces) < 2:
        raise GeometryProblem("LINE_DOES_NOT_SPLIT",
                              "the line does not cut the grid into pieces (it must cross it "
                              "from edge to edge)")
    pieces.sort(key=lambda p: -p.area)
    original = {(x, y) for x, y in shapely.get_coordinates(geom)}
    outline = geom.boundary

    def snap(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        for k, (x, y) in enumerate(coords):
            if (x, y) not in original:  # the grid's own vertices stay exactly where they are
                out[k] = _snap_inside(x, y, geom, outline)
        return out

    rest = geom
    out: list[shapely.MultiPolygon] = []
    for p in pieces[1:]:
        snapped = polygons_only(shapely.make_valid(shapely.transform(p, snap)))
        # exact overlay: every vertex is on the grid already, and a grid-size overlay would
        # collapse the sub-grid sliver between an outline edge and a cut vertex moved inside
        snapped = polygons_only(shapely.intersection(snapped, rest))
        rest = shapely.difference(rest, snapped)
        out.append(snapped)
    first = polygons_only(rest)
    if any(area_m2(p) <= TOL_M2 for p in [first, *out]):
        raise GeometryProblem("LINE_DOES_NOT_SPLIT", "a piece is too small once snapped")
    return [first, *out]


def merge(geoms: list[BaseGeometry]) -> shapely.MultiPolygon:
    """The union of adjacent grids; refused when they do not form one connected piece."""
    u = polygons_only(shapely.union_all(geoms))  # exact: shared edges are identical
    if len(u.geoms) != 1:
        raise GeometryProblem("NOT_ADJACENT", "the grids do not form one connected area")
    return u
