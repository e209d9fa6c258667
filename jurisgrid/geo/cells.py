"""Analysis grids for heat maps: H3 hexagons and square cells over an area (pure Shapely/numpy).

* Hexagons: H3 (v4) cells of a resolution (0–15) that overlap the area (``contain='overlap'``), so
  every point of the area is in exactly one listed cell; a point's cell is ``latlng_to_cell``.
* Squares: cells of ``size_m`` metres on a local equirectangular frame anchored at the area's
  south-west corner (x scaled by cos(latitude) of the area's centre — within 0.2 % of true
  metres across a county); ``i,j`` count cells east and north of the anchor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import h3
import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from jurisgrid.geo.earth import METRES_PER_DEGREE as M_PER_DEG_LAT

MAX_CELLS = 50_000


class CellError(ValueError):
    """Bad cell parameters, or an area that would need too many cells."""


@dataclass(frozen=True)
class Cells:
    ids: list[str]
    polygons: list[shapely.Polygon]

    def __len__(self) -> int:
        return len(self.ids)


def _check_area(area: BaseGeometry) -> None:
    if area.is_empty or area.area == 0:
        raise CellError("the area is empty")


def hex_cells(area: BaseGeometry, resolution: int, *, max_cells: int = MAX_CELLS) -> Cells:
    if not 0 <= resolution <= 15:
        raise CellError(f"H3 resolution must be 0–15, got {resolution}")
    _check_area(area)
    est = (
        area.area
        * (M_PER_DEG_LAT**2)
        * math.cos(math.radians(area.centroid.y))
        / (h3.average_hexagon_area(resolution, unit="m^2"))
    )
    if est > max_cells:
        raise CellError(
            f"about {est:,.0f} H3 cells at resolution {resolution}; at most {max_cells:,}: "
            "choose a coarser resolution or a smaller area"
        )
    shape = h3.geo_to_h3shape(shapely.geometry.mapping(area))
    ids = sorted(h3.h3shape_to_cells_experimental(shape, resolution, contain="overlap"))
    if len(ids) > max_cells:
        raise CellError(f"{len(ids):,} H3 cells; at most {max_cells:,}")
    polys = [shapely.Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(c)]) for c in ids]
    return Cells(ids, polys)


def hex_index(lon: NDArray[np.float64], lat: NDArray[np.float64], resolution: int) -> list[str]:
    return [h3.latlng_to_cell(y, x, resolution) for x, y in zip(lon.tolist(), lat.tolist(), strict=True)]


@dataclass(frozen=True)
class SquareFrame:
    lon0: float
    lat0: float
    dx: float  # degrees of longitude per cell
    dy: float  # degrees of latitude per cell

    @classmethod
    def over(cls, area: BaseGeometry, size_m: float) -> SquareFrame:
        if not size_m > 0:
            raise CellError(f"cell size must be > 0 m, got {size_m}")
        minx, miny, _, maxy = area.bounds
        cos = math.cos(math.radians((miny + maxy) / 2))
        return cls(minx, miny, size_m / (M_PER_DEG_LAT * cos), size_m / M_PER_DEG_LAT)

    def index(
        self, lon: NDArray[np.float64], lat: NDArray[np.float64]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        return (
            np.floor((lon - self.lon0) / self.dx).astype(np.int64),
            np.floor((lat - self.lat0) / self.dy).astype(np.int64),
        )

    def box(self, i: int, j: int) -> shapely.Polygon:
        x, y = self.lon0 + i * self.dx, self.lat0 + j * self.dy
        return shapely.box(x, y, x + self.dx, y + self.dy)


def square_cells(
    area: BaseGeometry, size_m: float, *, max_cells: int = MAX_CELLS
) -> tuple[SquareFrame, Cells]:
    _check_area(area)
    frame = SquareFrame.over(area, size_m)
    minx, miny, maxx, maxy = area.bounds
    ni = max(1, math.ceil((maxx - minx) / frame.dx))
    nj = max(1, math.ceil((maxy - miny) / frame.dy))
    if ni * nj > max_cells * 4:
        raise CellError(
            f"{ni * nj:,} square cells of {size_m:g} m over the area's bounds; "
            f"at most {max_cells:,}: choose larger cells or a smaller area"
        )
    gi, gj = np.meshgrid(np.arange(ni), np.arange(nj), indexing="ij")
    ii, jj = gi.ravel(), gj.ravel()
    boxes = shapely.box(
        frame.lon0 + ii * frame.dx,
        frame.lat0 + jj * frame.dy,
        frame.lon0 + (ii + 1) * frame.dx,
        frame.lat0 + (jj + 1) * frame.dy,
    )
    shapely.prepare(area)
    keep = shapely.intersects(area, boxes) & ~shapely.touches(area, boxes)
    if int(keep.sum()) > max_cells:
        raise CellError(f"{int(keep.sum()):,} square cells; at most {max_cells:,}")
    ids = [f"{i},{j}" for i, j in zip(ii[keep].tolist(), jj[keep].tolist(), strict=True)]
    return frame, Cells(ids, list(boxes[keep]))


def square_ids(frame: SquareFrame, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> list[str]:
    i, j = frame.index(lon, lat)
    return [f"{a},{b}" for a, b in zip(i.tolist(), j.tolist(), strict=True)]
