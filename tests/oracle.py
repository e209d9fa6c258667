"""An independent oracle for the boundary rule, in plain Shapely over exported grids.

Deliberately naive: an envelope prefilter, then per-pair distances — no prepared geometries, no
vectorised predicates, no SQL — so that it shares no code path with the implementations it checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely import STRtree

TOL = 1e-7


@dataclass
class Grids:
    codes: list[str]
    geoms: list[shapely.Geometry]


def export_grids(engine) -> Grids:  # type: ignore[no-untyped-def]
    """The grids as GeoJSON, the way a client exports them."""
    import json

    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, ST_AsGeoJSON(geom, 15) FROM grid ORDER BY code")).all()
    return Grids([r[0] for r in rows], [shapely.geometry.shape(json.loads(r[1])) for r in rows])


def oracle(grids: Grids, lon: np.ndarray, lat: np.ndarray) -> tuple[list[str | None], list[bool]]:
    tree = STRtree(grids.geoms)
    codes: list[str | None] = []
    boundary: list[bool] = []
    for x, y in zip(lon.tolist(), lat.tolist(), strict=True):
        p = shapely.Point(x, y)
        near = tree.query(shapely.box(x - 2 * TOL, y - 2 * TOL, x + 2 * TOL, y + 2 * TOL))
        cands = sorted(grids.codes[i] for i in near if grids.geoms[i].distance(p) <= TOL)
        if not cands:
            codes.append(None)
            boundary.append(False)
            continue
        codes.append(cands[0])
        boundary.append(False)
    # second pass for the boundary flag, with a code → geometry map
    by_code = dict(zip(grids.codes, grids.geoms, strict=True))
    for k, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
        if codes[k] is not None:
            boundary[k] = by_code[codes[k]].boundary.distance(shapely.Point(x, y)) <= TOL
    return codes, boundary


def probe_points(grids: Grids, n_random: int, seed: int = 0) -> np.ndarray:
    """n random points over the grids' extent, plus every grid vertex and edge midpoint."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = shapely.total_bounds(grids.geoms)
    rand = np.column_stack([rng.uniform(x0, x1, n_random), rng.uniform(y0, y1, n_random)])
    pts = [rand]
    for g in grids.geoms:
        for ring in shapely.get_rings(shapely.get_parts(g)):
            c = shapely.get_coordinates(ring)
            pts.append(c[:-1])
            pts.append((c[:-1] + c[1:]) / 2)
    allpts = np.unique(np.vstack(pts), axis=0)
    return allpts
