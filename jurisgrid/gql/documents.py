"""One extension for what every request does before execution: parse with a size and token
limit, measure and check the document (gql/cost.py, gql/hygiene.py), validate with the standard
rules — each cached by the query text — then check what depends on the variables.

It replaces strawberry's ParserCache + ValidationCache + MaxTokensLimiter + AddValidationRules
(and its depth and alias limiters, which expanded fragments without memoisation — see
gql/cost.py): the same work, but one extension instead of four (each costs every request a
context manager per hook), and a validation cache keyed by the query text instead of by the
parsed document, which is hashed node by node on every lookup. Together that was a fifth of a
single-point request.

Order, cheapest refusal first: the query text's length (before parsing: a 3 MB literal would
take the lexer a second), the parser's token limit, our one pass over the document (depth,
aliases, cost, literal arguments — linear in the text, so a fragment fan-out is refused in
microseconds), then graphql-core's rules. Per request: the operation is chosen (a document with
several operations needs ``operationName``, as the spec says), its variables' values are
checked, and a cost that depends on variables (``first: $n``) is measured with their values.

Every error here carries ``extensions.code``: ``QUERY_TOO_LARGE``, ``GRAPHQL_PARSE_FAILED``,
``QUERY_TOO_DEEP``, ``TOO_MANY_ALIASES``, ``QUERY_TOO_COSTLY``, ``BAD_USER_INPUT`` (argument
values), ``GRAPHQL_VALIDATION_FAILED`` (the rest).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, GraphQLSchema, GraphQLSyntaxError, specified_rules
from graphql.language import DocumentNode, OperationDefinitionNode, OperationType, parse
from graphql.utilities import type_from_ast
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from jurisgrid.config import ApiSettings
from jurisgrid.gql import budget
from jurisgrid.gql.cost import (
    CostLimits,
    OperationFigures,
    cost_error,
    fields_error,
    limit_errors,
    measure,
    measure_document,
    variable_sizes,
)
from jurisgrid.gql.hygiene import InputLimits, LiteralChecker, VariableCheck, check_variables, variable_checks

CACHE_SIZE = 512
RULES = tuple(specified_rules)  # graphql-core's; strawberry adds its own two
QUERY_TOO_LARGE = "QUERY_TOO_LARGE"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


@dataclass(frozen=True)
class DocumentLimits:
    max_query_chars: int
    max_tokens: int
    cost: CostLimits
    inputs: InputLimits

    @classmethod
    def from_settings(cls, api: ApiSettings) -> DocumentLimits:
        return cls(
            max_query_chars=api.max_query_chars, max_tokens=api.max_tokens,
            cost=CostLimits(max_depth=api.max_depth, max_aliases=api.max_aliases,
                            max_cost=api.max_cost, page_size_default=api.page_size_default,
                            page_size_max=api.page_size_max,
                            batch_max_points=api.batch_max_points,
                            list_default=api.cost_list_default, max_fields=api.max_fields),
            inputs=InputLimits(max_name_chars=api.max_name_chars,
                               max_text_chars=api.max_text_chars,
                               max_list_items=api.max_list_items))


@dataclass(frozen=True)
class OperationPlan:
    """What is left to check of one operation per request."""

    node: OperationDefinitionNode
    variables: tuple[VariableCheck, ...]
    # the variables that set sizes, if the cost is over the limit unless they are small
    sized_by: frozenset[str]
    size_defaults: Mapping[str, Any]


@dataclass(frozen=True)
class Checked:
    errors: list[GraphQLError]
    operations: Mapping[str | None, OperationPlan]


def chosen_operation(checked: Checked, operation_name: str | None) -> OperationPlan | None:
    """The operation a request runs: the one named, or the document's only one. None when
    there is no such operation, or several and no name (:func:`cached_documents`' per-request
    check reports that; strawberry refuses an unknown name)."""
    ops = checked.operations
    if operation_name is None:
        return next(iter(ops.values())) if len(ops) == 1 else None
    return ops.get(operation_name)


@dataclass(frozen=True)
class DocumentChecks:
    """The extension's checks, for a caller that runs an operation without the extension
    hooks (gql/prepared.py), each as the hooks run it: ``document(query)`` parses;
    ``check(schema, query)`` measures and validates (both cached by the query text);
    ``per_request(schema, query, checked, operation_name, variables)`` checks the chosen
    operation's variables and starts its time budget."""

    document: Callable[[str], DocumentNode]
    check: Callable[[GraphQLSchema, str], Checked]
    per_request: Callable[[GraphQLSchema, str, Checked, str | None, Mapping[str, Any] | None],
                          list[GraphQLError]]


def _coded(err: GraphQLError, code: str) -> GraphQLError:
    return GraphQLError(err.message, nodes=err.nodes, source=err.source,
                        positions=err.positions, extensions={**(err.extensions or {}), "code": code})


def _defaults(op: OperationDefinitionNode) -> dict[str, Any]:
    from graphql import value_from_ast_untyped

    return {vd.variable.name.value: value_from_ast_untyped(vd.default_value)
            for vd in op.variable_definitions or () if vd.default_value is not None}


def _plan(schema: GraphQLSchema, op: OperationFigures, checker: LiteralChecker,
          limits: DocumentLimits) -> OperationPlan:
    types: dict[str, Any] = {}
    for vd in op.node.variable_definitions or ():
        t = type_from_ast(schema, vd.type)
        if t is not None:
            types[vd.variable.name.value] = t
    over = op.figures.cost > limits.cost.max_cost
    return OperationPlan(node=op.node, variables=variable_checks(types, checker.uses),
                         sized_by=op.figures.sized_by if over else frozenset(),
                         size_defaults=_defaults(op.node))


def cached_documents(limits: DocumentLimits,
                     base: type[SchemaExtension] = SchemaExtension) -> Callable[[], SchemaExtension]:
    """An extension factory. Its caches are made once, here: the validation cache must not be
    keyed by objects made per request (see gql/schema.py). ``base``: another extension to fold
    into this one (its hooks run as they would on their own) — each extension costs every
    request a context manager per hook it implements."""

    @lru_cache(maxsize=CACHE_SIZE)
    def parse_query(query: str) -> DocumentNode:
        if len(query) > limits.max_query_chars:
            raise GraphQLError(f"the query is {len(query)} characters long; at most"
                               f" {limits.max_query_chars} are allowed (send values as variables)",
                               extensions={"code": QUERY_TOO_LARGE})
        try:
            return parse(query, max_tokens=limits.max_tokens)
        except GraphQLSyntaxError as exc:
            too_many = "tokens" in exc.message and "Parsing aborted" in exc.message
            raise _coded(exc, QUERY_TOO_LARGE if too_many else GRAPHQL_PARSE_FAILED) from None

    @lru_cache(maxsize=CACHE_SIZE)
    def check(schema: GraphQLSchema, query: str) -> Checked:
        document = parse_query(query)
        checker = LiteralChecker(limits.inputs)
        ops, written = measure_document(schema, document, limits.cost, visit_argument=checker)
        # over a limit whatever the variables: refused before the standard rules run
        errors = [e for op in ops for e in limit_errors(op, limits.cost,
                                                        cost=not op.figures.sized_by)]
        if written > limits.cost.max_fields:
            errors.append(fields_error(written, limits.cost.max_fields))
        errors += checker.errors
        if not errors:
            errors = [_coded(e, GRAPHQL_VALIDATION_FAILED) if not (e.extensions or {}).get("code")
                      else e for e in validate_document(schema, document, RULES)]
        if errors:
            return Checked(errors, {})
        return Checked([], {op.name: _plan(schema, op, checker, limits) for op in ops})

    @lru_cache(maxsize=CACHE_SIZE)
    def cost_with(schema: GraphQLSchema, query: str, name: str | None,
                  sizes: tuple[tuple[str, int | None], ...]) -> int:
        ops = measure(schema, parse_query(query), limits.cost, dict(sizes))
        return next(op.figures.cost for op in ops if op.name == name)

    def per_request(schema: GraphQLSchema, query: str, checked: Checked,
                    operation_name: str | None, variables: Mapping[str, Any] | None) -> list[GraphQLError]:
        """The chosen operation's variables and variable-sized cost; a query's time budget
        starts once it has passed (gql/budget.py)."""
        plan = chosen_operation(checked, operation_name)
        if plan is None:
            if operation_name is None and len(checked.operations) > 1:
                return [GraphQLError("Must provide operationName if the query contains several"
                                     " operations.", extensions={"code": GRAPHQL_VALIDATION_FAILED})]
            return []  # an unknown operationName: strawberry refuses it before validation
        name = plan.node.name.value if plan.node.name else None
        errors = check_variables(plan.variables, variables, limits.inputs)
        if not errors and plan.sized_by:
            given = {**plan.size_defaults, **(variables or {})}
            cost = cost_with(schema, query, name, variable_sizes(plan.sized_by, given))
            if cost > limits.cost.max_cost:
                figures = OperationFigures(name, plan.node, None)  # type: ignore[arg-type]
                errors.append(cost_error(figures, cost, limits.cost))
        if not errors and plan.node.operation is OperationType.QUERY:
            budget.start()
        return errors

    class CachedDocuments(base):  # type: ignore[valid-type, misc]
        checks = DocumentChecks(document=parse_query, check=check, per_request=per_request)

        def on_operation(self) -> Iterator[None]:
            ec = self.execution_context
            ec.parse_options["max_tokens"] = limits.max_tokens
            yield from super().on_operation()

        def on_parse(self) -> Iterator[None]:
            ec = self.execution_context
            ec.graphql_document = parse_query(ec.query or "")
            yield

        def on_validate(self) -> Iterator[None]:
            ec = self.execution_context
            schema = ec.schema._schema
            query = ec.query or ""
            checked = check(schema, query)
            # the name the client gave: strawberry's ``operation_name`` falls back to the first
            # operation's, which would run the first of several unnamed-for operations
            given = getattr(ec, "_provided_operation_name", ec.operation_name)
            errors = checked.errors or per_request(schema, query, checked, given, ec.variables)
            ec.pre_execution_errors = list(errors)
            yield

    return CachedDocuments
