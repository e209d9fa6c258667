"""A limit on request bodies, before anything reads them: HTTP 413 with a JSON error.

Applied by the edge middleware (routes/edge.py).

Why in front of everything: a 60 MB GraphQL body was accepted, read into memory and parsed
before any limit looked at it. A ``Content-Length`` over the limit is answered at once, without
reading the body; a chunked body (no length declared) is read here up to the limit, refused when it passes it,
else handed on whole (the apps read it whole anyway).

The default (``JURISGRID_MAX_BODY_BYTES``, 8 MiB) holds a ``responsibleForMany`` of the
100,000-point cap with room to spare (about 4 MB as JSON with full-precision coordinates).
"""

from __future__ import annotations

from typing import Any

import orjson

PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"


def _answer(limit: int) -> tuple[dict[str, Any], dict[str, Any]]:
    body = orjson.dumps({
        "errors": [{"message": f"request body too large: at most {limit} bytes are allowed",
                    "extensions": {"code": PAYLOAD_TOO_LARGE, "maxBytes": limit}}],
        "detail": f"request body too large: at most {limit} bytes are allowed"})
    start = {"type": "http.response.start", "status": 413,
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode()),
                         (b"connection", b"close")]}
    return start, {"type": "http.response.body", "body": body}


async def refuse(send: Any, limit: int) -> None:
    """Answer 413 (the body is not read)."""
    start, body = _answer(limit)
    await send(start)
    await send(body)


async def buffered(receive: Any, send: Any, limit: int) -> Any | None:
    """A chunked body (no length declared): read it up to the limit, and return a ``receive``
    that hands it on as one message — or None when it was refused (413 sent) or the client
    went away."""
    chunks, received = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return None
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            await refuse(send, limit)
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
    delivered = False

    async def replay() -> Any:
        nonlocal delivered
        if not delivered:
            delivered = True
            return whole
        return await receive()  # http.disconnect, when it comes

    return replay
