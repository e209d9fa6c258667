"""Geometry fields: every one takes ``format``, ``crs``, ``simplify`` / ``simplifyZoom`` and
``precision`` (docs/design.md, GraphQL conventions)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import shapely
import strawberry
from strawberry.types import Info

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import Crs
from jurisgrid.geo.geojson import format_geometry, simplify_tolerance_deg
from jurisgrid.gql.scalars import GeoJSON
from jurisgrid.gql.source import loaders
from jurisgrid.models.source import LIVE, Source, source_of

CrsEnum = strawberry.enum(Crs, name="Crs", description="Coordinate system of inputs and outputs: "
                          "WGS84, CGCS2000 (same as WGS84 to < 1 m), GCJ02 (AMap, Tencent), "
                          "BD09 (Baidu).")


@strawberry.enum(description="How geometry is written out.")
class GeometryFormat(Enum):
    GEOJSON = "GEOJSON"
    WKT = "WKT"


MAX_PRECISION = 15


async def resolve_geometry(info: Info, table: str, column: str, unit_id: int, *,
                           format: GeometryFormat, crs: Crs, simplify: float | None,
                           simplify_zoom: int | None, precision: int | None,
                           src: Source = LIVE) -> Any:
    """The geometry of a unit under ``src``."""
    if simplify is not None and simplify < 0:
        raise InvalidInput("simplify must be ≥ 0 metres")
    if simplify_zoom is not None and not 0 <= simplify_zoom <= 24:
        raise InvalidInput("simplifyZoom must be a zoom level from 0 to 24")
    if precision is not None and not 0 <= precision <= MAX_PRECISION:
        raise InvalidInput(f"precision must be from 0 to {MAX_PRECISION} decimals")
    tol = simplify_tolerance_deg(metres=simplify, zoom=simplify_zoom)
    wkb = await loaders(info).geometry(table, column, tol, src).load(unit_id)
    if wkb is None:
        return None
    return format_geometry(shapely.from_wkb(wkb), fmt=format.value, crs=crs, precision=precision)


def geometry_field(table: str, column: str = "geom", description: str = "") -> Any:
    """A strawberry field resolving ``table.column`` of the node's row, from the source the
    row was read from."""

    async def resolver(
        root: Any, info: Info,
        format: GeometryFormat = GeometryFormat.GEOJSON,
        crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
        simplify: Annotated[float | None, strawberry.argument(
            description="tolerance in metres (topology-preserving)")] = None,
        simplify_zoom: Annotated[int | None, strawberry.argument(
            description="simplify for display at this web-map zoom level")] = None,
        precision: Annotated[int | None, strawberry.argument(
            description="decimals kept in coordinates")] = None,
    ) -> GeoJSON | None:
        return await resolve_geometry(info, table, column, root.row["id"], format=format,
                                      crs=Crs(crs), simplify=simplify,
                                      simplify_zoom=simplify_zoom, precision=precision,
                                      src=source_of(root.row))

    return strawberry.field(resolver=resolver, description=description or None)
