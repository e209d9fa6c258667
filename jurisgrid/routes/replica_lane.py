"""REST reads on read replicas (issue 17; jurisgrid/replicas.py): tiles, OGC API – Features and
``/api`` answers (``GET``/``HEAD``) go to a replica in rotation, the rest to the primary.

The lane chooses the server before the app runs and leaves the engine in the ASGI scope, where
the routes find it (:func:`jurisgrid.replicas.reader`); the answer names it in
``X-Jurisgrid-Served-By``. A client's ``X-Jurisgrid-After-LSN`` is honoured as in GraphQL.

A read that finds its replica unreachable — an exception the database layer calls
"unavailable", or a 503 answer, before anything was sent — takes the replica out of rotation
and is answered again by the primary (a ``GET`` has no body to replay). A read that finds it
must write first (:class:`jurisgrid.db.NeedsPrimary`: a ``zones`` tile whose sizing figures for
the current data the replica does not hold yet — tiles/sizing.py) is answered again by the
primary, and the replica stays in rotation.

Added by app.py only when replicas are configured: without them it costs nothing.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jurisgrid.db import NeedsPrimary, unavailable
from jurisgrid.replicas import SCOPE_KEY, SERVED_BY_HEADER, Server, router_of, scope_lsn

ROUTED_PREFIXES = ("/tiles/", "/ogc", "/api/")
_SERVED_BY = SERVED_BY_HEADER.lower().encode()


def routed(scope: Scope) -> bool:
    """A read this lane routes (and names the server of)."""
    return (scope["type"] == "http" and scope["method"] in ("GET", "HEAD")
            and scope["path"].startswith(ROUTED_PREFIXES))


class ReplicaLane:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        router = router_of(scope["app"]) if routed(scope) else None
        if router is None:
            await self.app(scope, receive, send)
            return
        server = await router.choose(scope_lsn(scope))
        if not server.is_replica:
            await self._serve(scope, receive, send, server)
            return
        failed = False
        started = False

        async def out(message: Message) -> None:
            nonlocal failed, started
            if failed:
                return  # the body of a 503 that is answered again
            if message["type"] == "http.response.start":
                if message["status"] == 503:
                    failed = True
                    return
                started = True
                message["headers"] = [*message.get("headers", ()),
                                      (_SERVED_BY, server.name.encode())]
            await send(message)

        try:
            await self._serve(scope, receive, out, server, named=False)
        except NeedsPrimary:
            if started:
                raise
            await self._serve(scope, receive, send, router.primary)
            return
        except Exception as exc:
            if started or unavailable(exc) is None:
                raise
            failed = True
        if failed:
            router.mark_down(server, "a read found it unreachable")
            await self._serve(scope, receive, send, router.primary)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, server: Server, *,
                     named: bool = True) -> None:
        scope[SCOPE_KEY] = server.engine
        if not named:
            await self.app(scope, receive, send)
            return

        async def out(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()),
                                      (_SERVED_BY, server.name.encode())]
            await send(message)

        await self.app(scope, receive, out)
