"""Assembles the strawberry schema with its limits (depth, aliases, tokens) and caches."""

from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from jurisgrid.config import ApiSettings
from jurisgrid.gql.documents import cached_documents
from jurisgrid.gql.errors import DomainErrors
from jurisgrid.gql.execution import PlainSubtreeExecutor
from jurisgrid.gql.history import HistoryQuery
from jurisgrid.gql.mutations import EditMutation
from jurisgrid.gql.mutations_units import UnitMutation
from jurisgrid.gql.permissions import AuthQuery
from jurisgrid.gql.query import Query
from jurisgrid.gql.scalars import SCALAR_MAP
from jurisgrid.gql.sizing import SizingMutation, SizingQuery
from jurisgrid.gql.subscriptions import JurisdictionSubscription

# Each capability contributes its own root types; they are merged here (one line per part).
QUERY_PARTS: tuple[type, ...] = (Query, AuthQuery, HistoryQuery, SizingQuery)
MUTATION_PARTS: tuple[type, ...] = (EditMutation, UnitMutation, SizingMutation)
SUBSCRIPTION_PARTS: tuple[type, ...] = (JurisdictionSubscription,)

SDL_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"


def build_schema(api: ApiSettings | None = None) -> strawberry.Schema:
    api = api or ApiSettings()
    # The limiters' validation rules are built once: the validation cache is keyed by the rule
    # classes, and a limiter built per request makes new classes — a cache miss every time
    # (3x the CPU of a small query).
    rules = [*QueryDepthLimiter(max_depth=api.max_depth).validation_rules,
             *MaxAliasesLimiter(max_alias_count=api.max_aliases).validation_rules]
    query = merge_types("Query", QUERY_PARTS) if len(QUERY_PARTS) > 1 else Query
    mutation = merge_types("Mutation", MUTATION_PARTS) if MUTATION_PARTS else None
    subscription = merge_types("Subscription", SUBSCRIPTION_PARTS) if SUBSCRIPTION_PARTS else None
    return strawberry.Schema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        # one extension: cached parse/validate with the limits, and the error mapping
        extensions=[cached_documents(rules, api.max_tokens, base=DomainErrors)],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        # plain-attribute objects in one step; JURISGRID_FAST_EXECUTION=false: graphql-core's own
        execution_context_class=PlainSubtreeExecutor if api.fast_execution else None,
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
