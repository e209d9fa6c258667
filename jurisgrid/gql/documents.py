"""One extension for what every request does before execution: parse with a token limit,
validate with the depth and alias limits — each cached by the query text.

It replaces strawberry's ParserCache + ValidationCache + MaxTokensLimiter + AddValidationRules:
the same work, but one extension instead of four (each costs every request a context manager
per hook), and a validation cache keyed by the query text instead of by the parsed document,
which is hashed node by node on every lookup. Together that was a fifth of a single-point
request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, GraphQLSchema
from graphql.language import DocumentNode, parse
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

CACHE_SIZE = 512


@lru_cache(maxsize=CACHE_SIZE)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


@lru_cache(maxsize=CACHE_SIZE)
def _validate(schema: GraphQLSchema, query: str, max_tokens: int,
              rules: tuple[type[ASTValidationRule], ...]) -> list[GraphQLError]:
    return validate_document(schema, _parse(query, max_tokens), rules)


def cached_documents(rules: Sequence[type[ASTValidationRule]], max_tokens: int,
                     base: type[SchemaExtension] = SchemaExtension) -> Callable[[], SchemaExtension]:
    """An extension factory; ``rules`` are built once (their classes key the cache). ``base``:
    another extension to fold into this one (its hooks run as they would on their own) — each
    extension costs every request a context manager per hook it implements."""
    extra = tuple(rules)

    class CachedDocuments(base):  # type: ignore[valid-type, misc]
        def on_operation(self) -> Iterator[None]:
            ec = self.execution_context
            ec.validation_rules = ec.validation_rules + extra
            ec.parse_options["max_tokens"] = max_tokens
            yield from super().on_operation()

        def on_parse(self) -> Iterator[None]:
            ec = self.execution_context
            ec.graphql_document = _parse(ec.query or "", max_tokens)
            yield

        def on_validate(self) -> Iterator[None]:
            ec = self.execution_context
            errors: Any = _validate(ec.schema._schema, ec.query or "", max_tokens,
                                    tuple(ec.validation_rules))
            ec.pre_execution_errors = list(errors)
            yield

    return CachedDocuments
