"""Assembles the strawberry schema with its limits (depth, aliases, tokens) and caches."""

from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.tools import merge_types

from jurisgrid.config import ApiSettings
from jurisgrid.gql.errors import DomainErrors
from jurisgrid.gql.query import Query

# Each capability contributes its own root types; they are merged here (one line per part).
QUERY_PARTS: tuple[type, ...] = (Query,)
MUTATION_PARTS: tuple[type, ...] = ()
SUBSCRIPTION_PARTS: tuple[type, ...] = ()

SDL_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"


def build_schema(api: ApiSettings | None = None) -> strawberry.Schema:
    api = api or ApiSettings()
    # The limiters' validation rules are built once: the validation cache is keyed by the rule
    # classes, and a limiter built per request makes new classes — a cache miss every time
    # (3x the CPU of a small query). Each request gets fresh extension objects around them.
    rules = [*QueryDepthLimiter(max_depth=api.max_depth).validation_rules,
             *MaxAliasesLimiter(max_alias_count=api.max_aliases).validation_rules]
    query = merge_types("Query", QUERY_PARTS) if len(QUERY_PARTS) > 1 else Query
    mutation = merge_types("Mutation", MUTATION_PARTS) if MUTATION_PARTS else None
    subscription = merge_types("Subscription", SUBSCRIPTION_PARTS) if SUBSCRIPTION_PARTS else None
    return strawberry.Schema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        extensions=[
            DomainErrors,
            lambda: AddValidationRules(rules),
            lambda: MaxTokensLimiter(max_token_count=api.max_tokens),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
        ],
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
