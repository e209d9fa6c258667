"""The one place where errors become GraphQL errors (docs/design.md: Architecture, GraphQL conventions).

Domain errors keep their message and get ``extensions.code`` (and ``details`` where given);
GraphQL's own parse and validation errors pass through with a code; anything unexpected is
logged and masked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from jurisgrid.db import log_unavailable, unavailable
from jurisgrid.errors import JurisgridError, ServiceUnavailable

log = logging.getLogger("jurisgrid.gql")


def map_error(err: GraphQLError) -> GraphQLError:
    orig = err.original_error
    if orig is None or isinstance(orig, GraphQLError):
        ext = dict(err.extensions or {})
        ext.setdefault("code", "GRAPHQL_VALIDATION_FAILED" if err.path is None else "BAD_USER_INPUT")
        return GraphQLError(err.message, nodes=err.nodes, source=err.source,
                            positions=err.positions, path=err.path, extensions=ext)
    if isinstance(orig, JurisgridError):
        ext = {"code": orig.code}
        if orig.details:
            ext["details"] = orig.details
        if isinstance(orig, ServiceUnavailable):
            ext["retryAfter"] = orig.retry_after_s
        return GraphQLError(orig.message, nodes=err.nodes, source=err.source,
                            positions=err.positions, path=err.path, extensions=ext)
    down = unavailable(orig)
    if down is not None:  # the database does not answer: a typed, retryable error, one log line
        log_unavailable(f"GraphQL {'.'.join(map(str, err.path or []))}", orig)
        return GraphQLError(down.message, nodes=err.nodes, source=err.source,
                            positions=err.positions, path=err.path,
                            extensions={"code": down.code, "retryAfter": down.retry_after_s})
    log.error("unexpected error at %s", err.path, exc_info=orig)
    return GraphQLError("Unexpected error.", nodes=err.nodes, source=err.source,
                        positions=err.positions, path=err.path,
                        extensions={"code": "INTERNAL_SERVER_ERROR"})


class DomainErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [map_error(e) for e in result.errors]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Subscriptions: every streamed result (``next``/``error`` messages) is mapped alike."""
        if getattr(result, "errors", None):
            result.errors = [map_error(e) for e in result.errors]
        yield
