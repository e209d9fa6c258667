"""Assembles the strawberry schema with its limits (depth, aliases, tokens) and caches."""

from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from jurisgrid.config import ApiSettings
from jurisgrid.gql.errors import DomainErrors
from jurisgrid.gql.query import Query

SDL_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"


def build_schema(api: ApiSettings | None = None) -> strawberry.Schema:
    api = api or ApiSettings()
    return strawberry.Schema(
        query=Query,
        extensions=[
            DomainErrors,
            lambda: QueryDepthLimiter(max_depth=api.max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=api.max_aliases),
            lambda: MaxTokensLimiter(max_token_count=api.max_tokens),
            # the caches must outlive a request, so these two are shared instances
            ParserCache(maxsize=256),  # type: ignore[list-item]
            ValidationCache(maxsize=256),  # type: ignore[list-item]
        ],
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
