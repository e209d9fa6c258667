"""Queries whose document is already checked run straight on graphql-core, without strawberry's
per-operation extension machinery.

strawberry runs every operation through its extension runner: a context manager per hook
(operation, parse, validate, execute) for each extension, an execution context, the operation
type looked up again — about a fifth of the CPU of a single-point ``responsibleFor`` that is
answered from memory in a few tens of microseconds. For a query, everything those hooks do here
is ours and cached by the query text (gql/documents.py: parse, limits, validation; then the
per-request variable checks and the time budget), and what happens after execution is ours too
(gql/schema.py logs errors, gql/errors.py maps them). So :class:`PreparedQueries` does the same
steps itself, in the same order, and executes with the same execution context class:

1. the document's cached check (parse, measure, validate): any error → not here;
2. the operation chosen as the extension chooses it; a mutation, a subscription, an unknown
   ``operationName`` → not here;
3. the per-request checks (variables, a variable-sized cost, the budget's start): any error →
   not here;
4. graphql-core executes; the errors it reports are logged and mapped exactly as the extension
   path does (``Schema.process_errors``, then :func:`jurisgrid.gql.errors.map_error`).

"Not here" means :meth:`PreparedQueries.execute` returns None before anything has run, and
strawberry's own path answers the request from the start — so every refusal before execution,
with its code and HTTP status, is produced by one path only (variable values graphql-core
refuses while executing are reported by it, on either path). The answers are the same (tests/gql/
test_prepared.py runs a set of queries both ways and compares them). Off with the rest of the
fast path (``JURISGRID_FAST_EXECUTION=false``).
"""

from __future__ import annotations

from inspect import isawaitable
from typing import Any

from graphql import ExecutionResult as CoreResult
from graphql import GraphQLError, execute
from graphql.language import OperationType
from strawberry.execution import optimized_is_awaitable
from strawberry.http import GraphQLRequestData
from strawberry.schema._graphql_core import execution_context_class_kwargs
from strawberry.types import ExecutionResult

from jurisgrid.gql.documents import DocumentChecks, chosen_operation
from jurisgrid.gql.errors import map_error


class PreparedQueries:
    def __init__(self, schema: Any) -> None:
        """``schema``: the strawberry schema of gql/schema.py (its document extension carries
        the checks; its execution context class is used as is)."""
        self.schema = schema
        self.core = schema._schema
        found = [ext.checks for ext in schema.extensions
                 if isinstance(getattr(ext, "checks", None), DocumentChecks)]
        if len(found) != 1:
            raise ValueError("the schema has no (or more than one) document-check extension")
        self.checks: DocumentChecks = found[0]
        self.executor = schema.execution_context_class
        if self.executor is None:
            raise ValueError("prepared queries run with the schema's execution context class")

    async def execute(self, data: GraphQLRequestData, context: Any,
                      root_value: Any) -> ExecutionResult | None:
        """The query's result, or None when strawberry's own path must answer (see above)."""
        query = data.query
        if not query or data.protocol != "http":
            return None
        try:
            checked = self.checks.check(self.core, query)
        except GraphQLError:  # too large, or does not parse: reported by the regular path
            return None
        if checked.errors:
            return None
        plan = chosen_operation(checked, data.operation_name)
        if plan is None or plan.node.operation is not OperationType.QUERY:
            return None
        if self.checks.per_request(self.core, query, checked, data.operation_name, data.variables):
            return None
        # as strawberry calls it (schema.py, _execute_operation): its execution context class
        # under the name this graphql-core takes, the client's operation extensions
        result = execute(self.core, self.checks.document(query), root_value=root_value,
                         variable_values=data.variables, operation_name=data.operation_name,
                         context_value=context,
                         is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                         operation_extensions=data.extensions,
                         **execution_context_class_kwargs(self.executor))
        if isawaitable(result):
            result = await result
        assert isinstance(result, CoreResult)
        errors = result.errors
        if errors:
            self.schema.process_errors(errors, None)  # logged as gql/schema.py logs them
            errors = [map_error(e) for e in errors]
        return ExecutionResult(data=result.data, errors=errors)
