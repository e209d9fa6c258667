"""``subscription { jurisdictionChanged { revision codes { … } bbox } }`` over WebSocket
(graphql-transport-ws, or the older graphql-ws), fired by ``NOTIFY jurisdiction_changed`` when an
edit commits (jurisgrid/live/listener.py: one LISTEN per process, fanned out).

Optional filters: ``bbox`` (only changes whose box meets it) and ``stations`` (only changes that
touch one of these stations). The caller must be allowed to read: the router refuses the
WebSocket at ``connection_init`` otherwise (token in the payload's ``Authorization``, or a header).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from jurisgrid.geo.crs import Crs, from_wgs84
from jurisgrid.gql.context import Context
from jurisgrid.gql.geometry import CrsEnum
from jurisgrid.gql.inputs import spatial_filter
from jurisgrid.live.listener import ChangeListener, JurisdictionChange, listener_for


@strawberry.type(description="Codes of the units whose boundary or membership a revision changed.")
class ChangedCodes:
    grids: list[str]
    zones: list[str]
    stations: list[str]
    communities: list[str]


@strawberry.type(description="A committed change to the jurisdictions.")
class JurisdictionChanged:
    revision: int | None = strawberry.field(description="the revision that committed it")
    codes: ChangedCodes
    bbox: list[float] | None = strawberry.field(
        description="[minLon, minLat, maxLon, maxLat] of the changed area in `crs`; null if unknown")

    @classmethod
    def of(cls, change: JurisdictionChange, crs: Crs) -> JurisdictionChanged:
        bbox: list[float] | None = None
        if change.bbox is not None:
            x0, y0, x1, y1 = change.bbox
            if crs.is_wgs84_like:
                bbox = [x0, y0, x1, y1]
            else:
                (ax, ay), (bx, by) = from_wgs84(crs, x0, y0), from_wgs84(crs, x1, y1)
                bbox = [min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)]
        c = change.codes
        return cls(revision=change.revision, bbox=bbox, codes=ChangedCodes(
            grids=list(c.get("grid", ())), zones=list(c.get("zone", ())),
            stations=list(c.get("station", ())), communities=list(c.get("community", ()))))


BBoxFilter = Annotated[list[float] | None, strawberry.argument(
    description="only changes whose box meets [minLon, minLat, maxLon, maxLat] (in `crs`)")]
StationsFilter = Annotated[list[str] | None, strawberry.argument(
    description="only changes that touch one of these stations")]


@strawberry.type
class JurisdictionSubscription:
    @strawberry.subscription(description="Every committed change to grids, zones and stations: "
                             "the revision, the changed codes and their bounding box.")
    async def jurisdiction_changed(
            self, info: Info[Context, None], bbox: BBoxFilter = None, stations: StationsFilter = None,
            crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
    ) -> AsyncGenerator[JurisdictionChanged, None]:
        # validated before the stream starts, so a bad filter is an `error` message, not a `next`
        if info.context.auth_error is not None:  # the router refuses such sockets; belt and braces
            raise info.context.auth_error
        c = Crs(crs)
        box = spatial_filter(bbox=bbox, intersects=None, within=None, crs=c).bbox
        return _stream(listener_for(info.context.engine), c, box, set(stations or ()))


async def _stream(listener: ChangeListener, crs: Crs, box: tuple[float, float, float, float] | None,
                  stations: set[str]) -> AsyncGenerator[JurisdictionChanged, None]:
    async with listener.subscribe() as changes:
        async for change in changes:
            if box is not None and not change.touches_bbox(box):
                continue
            if stations and not stations.intersection(change.codes.get("station", ())):
                continue
            yield JurisdictionChanged.of(change, crs)
