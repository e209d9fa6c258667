"""``subscription { jurisdictionChanged { revision codes { … } bbox } }`` over WebSocket
(graphql-transport-ws, or the older graphql-ws), fired by ``NOTIFY jurisdiction_changed`` when an
edit commits (jurisgrid/live/listener.py: one LISTEN per process, fanned out).

Optional filters: ``bbox`` (only changes whose box meets it) and ``stations`` (only changes that
touch one of these stations). The caller must be allowed to read: the router refuses the
WebSocket at ``connection_init`` otherwise (token in the payload's ``Authorization``, or a header).

A subscription made with a token lives only as long as the token: it is checked again before
each event and every ``token_cache_ttl_s`` seconds (through the per-process token cache, so at
most one lookup per token and TTL), and once it is revoked the WebSocket is closed with code
:data:`REVOKED_CLOSE_CODE` and the reason "token revoked". While the database cannot be asked,
the stream goes on (no events arrive then anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from jurisgrid.auth.resolve import resolve_principal
from jurisgrid.errors import ServiceUnavailable, Unauthenticated
from jurisgrid.geo.crs import Crs, from_wgs84
from jurisgrid.gql.context import Context
from jurisgrid.gql.geometry import CrsEnum
from jurisgrid.gql.inputs import spatial_filter
from jurisgrid.live.listener import ChangeListener, JurisdictionChange, listener_for

log = logging.getLogger("jurisgrid.live")

# graphql-transport-ws closes a refused connection with 4403 Forbidden; a revoked token is one
REVOKED_CLOSE_CODE = 4403
REVOKED_REASON = "token revoked"


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
        ctx = info.context
        auth = credentials(ctx)
        token = TokenWatch(ctx, auth) if auth else None
        if token is not None and not await token.valid():  # revoked since connection_init
            raise Unauthenticated("the token was revoked")
        return _stream(listener_for(ctx.engine), c, box, set(stations or ()), token)


def credentials(ctx: Context) -> str | None:
    """The ``Authorization`` the socket was accepted with: ``connection_init``'s payload wins
    over the handshake's header (as in the router)."""
    params = ctx.connection_params if isinstance(ctx.connection_params, dict) else {}
    auth = params.get("Authorization") or params.get("authorization")
    if auth:
        return str(auth)
    request = ctx.request
    return request.headers.get("authorization") if request is not None else None


class TokenWatch:
    """Re-checks a subscription's token; closes its WebSocket once the token is refused."""

    def __init__(self, ctx: Context, authorization: str) -> None:
        self.ctx, self.authorization = ctx, authorization
        self.interval_s = max(0.2, ctx.settings.api.token_cache_ttl_s)

    async def valid(self) -> bool:
        try:
            await resolve_principal(self.ctx.engine, self.ctx.settings.api, self.authorization)
        except Unauthenticated:
            return False
        except ServiceUnavailable:  # cannot tell now; the next check will
            return True
        return True

    async def close(self) -> None:
        ws: Any = self.ctx.request
        log.info("closing a subscription: its token was revoked")
        with contextlib.suppress(Exception):  # already closing or closed
            await ws.close(code=REVOKED_CLOSE_CODE, reason=REVOKED_REASON)

    async def watch(self) -> None:
        """Every interval: a revoked token closes the socket (ends every subscription on it)."""
        while True:
            await asyncio.sleep(self.interval_s)
            if not await self.valid():
                await self.close()
                return


async def _stream(listener: ChangeListener, crs: Crs, box: tuple[float, float, float, float] | None,
                  stations: set[str], token: TokenWatch | None
                  ) -> AsyncGenerator[JurisdictionChanged, None]:
    async with listener.subscribe() as changes:
        watcher = asyncio.create_task(token.watch()) if token is not None else None
        try:
            async for change in changes:
                if box is not None and not change.touches_bbox(box):
                    continue
                if stations and not stations.intersection(change.codes.get("station", ())):
                    continue
                if token is not None and not await token.valid():
                    await token.close()
                    return
                yield JurisdictionChanged.of(change, crs)
        finally:
            if watcher is not None:
                watcher.cancel()
