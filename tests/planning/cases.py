"""Hand-made and random unit sets for the planning tests (lon/lat near Qu County)."""

from __future__ import annotations

import numpy as np
import shapely

from jurisgrid.planning.units import UnitSet

LON0, LAT0, STEP = 106.90, 30.80, 0.01  # a lattice cell is about 0.96 × 1.11 km


def lattice(rows: int = 10, cols: int = 10, *, seed: int = 0, village: int | None = None,
            step: float = STEP) -> UnitSet:
    """rows × cols square cells, code ``r{row}c{col}``, random population and incidents;
    ``village=v`` groups v × v cells into one village."""
    rng = np.random.default_rng(seed)
    codes, geoms, vill = [], [], []
    for r in range(rows):
        for c in range(cols):
            # on the 1e-7° grid, so neighbours share their edges exactly
            x0, x1 = round(LON0 + c * step, 7), round(LON0 + (c + 1) * step, 7)
            y0, y1 = round(LAT0 + r * step, 7), round(LAT0 + (r + 1) * step, 7)
            codes.append(f"r{r}c{c}")
            geoms.append(shapely.box(x0, y0, x1, y1))
            vill.append(f"v{r // village}-{c // village}" if village else None)
    n = rows * cols
    return UnitSet(
        tuple(codes), np.array(geoms, dtype=object),
        {"population": rng.integers(500, 1500, n).astype(float),
         "households": rng.integers(150, 500, n).astype(float),
         "incidents": rng.integers(5, 40, n).astype(float)},
        village=tuple(vill) if village else None,
    )


def voronoi(n: int = 60, *, seed: int = 0) -> UnitSet:
    """``n`` Voronoi cells of random points clipped to a 0.2° box, with a few holes between
    cells and a multipolygon unit, villages of about five cells."""
    rng = np.random.default_rng(seed)
    box = shapely.box(LON0, LAT0, LON0 + 0.2, LAT0 + 0.2)
    pts = shapely.MultiPoint(rng.uniform((LON0, LAT0), (LON0 + 0.2, LAT0 + 0.2), (n, 2)))
    cells = [c.intersection(box) for c in shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=box))]
    cells = [shapely.set_precision(c, 1e-7) for c in cells if c.area > 0]
    # an island: one unit gets a detached part
    island = shapely.box(LON0 + 0.25, LAT0 + 0.05, LON0 + 0.26, LAT0 + 0.06)
    cells[0] = shapely.MultiPolygon([*shapely.get_parts(cells[0]), island])
    m = len(cells)
    return UnitSet(
        tuple(f"u{i:03d}" for i in range(m)), np.array(cells, dtype=object),
        {"population": rng.integers(0, 3000, m).astype(float),
         "households": rng.integers(0, 900, m).astype(float),
         "incidents": rng.poisson(20, m).astype(float)},
        village=tuple(f"v{i // 5}" for i in range(m)),
    )
