"""Which database answers a GraphQL operation, when read replicas are configured (issue 17;
jurisgrid/replicas.py).

- A **query** runs on a replica in rotation — one that has replayed the client's
  ``X-Jurisgrid-After-LSN`` when it sends one — else on the primary. The caller's token was
  already checked on the primary (it stamps ``last_used_at``, a write). If the replica turns out
  unreachable (an error with code ``SERVICE_UNAVAILABLE``), it is taken out of rotation and the
  query runs again on the primary: a query writes nothing, so running it twice is safe.
- A **mutation** runs on the primary, and its answer carries the primary's WAL position after
  it (header ``X-Jurisgrid-LSN``, ``extensions.lsn``) for the client to send back.
- **Subscriptions** (LISTEN/NOTIFY) and anything unparsable stay on the primary.

Every answer names its server in ``X-Jurisgrid-Served-By``. Without replicas nothing here runs
(gql/router.py asks :func:`jurisgrid.replicas.router_of` first).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.concurrency import run_in_threadpool
from strawberry.types import ExecutionResult

from jurisgrid.errors import ServiceUnavailable
from jurisgrid.gql.loaders import Loaders
from jurisgrid.replicas import (
    LSN_HEADER,
    SERVED_BY_HEADER,
    ReadRouter,
    commit_lsn,
    lsn_header,
)


@lru_cache(maxsize=512)
def operation_kind(query: str | None, operation_name: str | None) -> str | None:
    """``query``, ``mutation`` or ``subscription`` for the operation a request runs; None when
    the document does not parse or names no single operation (the primary then answers, and
    strawberry reports the error)."""
    if not query:
        return None
    try:
        doc = parse(query, no_location=True)
    except (GraphQLError, RecursionError):
        return None
    ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        ops = [o for o in ops if o.name is not None and o.name.value == operation_name]
    return ops[0].operation.value if len(ops) == 1 else None


def _unavailable(result: Any) -> bool:
    errors = getattr(result, "errors", None) or ()
    return any((e.extensions or {}).get("code") == ServiceUnavailable.code for e in errors)


def _with_extension(result: Any, key: str, value: Any) -> Any:
    if isinstance(result, ExecutionResult):
        result.extensions = {**(result.extensions or {}), key: value}
    return result


async def routed(router: ReadRouter, context: Any, request_data: Any, sub_response: Any,
                 run: Callable[[], Awaitable[Any]]) -> Any:
    """``run()`` (the operation) on the server chosen for it; see the module docstring."""
    kind = operation_kind(getattr(request_data, "query", None),
                          getattr(request_data, "operation_name", None))
    headers = sub_response.headers
    if kind == "mutation":
        result = await run()
        lsn = await run_in_threadpool(commit_lsn, router.primary.engine)
        headers[LSN_HEADER] = lsn
        headers[SERVED_BY_HEADER] = router.primary.name
        return _with_extension(result, "lsn", lsn)
    if kind != "query":
        headers[SERVED_BY_HEADER] = router.primary.name
        return await run()
    server = await router.choose(lsn_header(context.request.headers))
    context.engine = server.engine
    result = await run()
    if server.is_replica and _unavailable(result):
        router.mark_down(server, "a query found it unreachable")
        server = router.primary
        context.engine = server.engine
        context.loaders = Loaders(context.db)  # nothing cached from the failed run
        result = await run()
    headers[SERVED_BY_HEADER] = server.name
    return result
