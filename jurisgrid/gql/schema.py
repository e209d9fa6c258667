"""Assembles the strawberry schema with its limits (size, depth, aliases, cost, argument values)
and caches."""

from __future__ import annotations

import logging
from pathlib import Path

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from jurisgrid.config import ApiSettings
from jurisgrid.errors import JurisgridError
from jurisgrid.gql.balancing import BalancingMutation, BalancingQuery
from jurisgrid.gql.categories import CategoryMutation, CategoryQuery
from jurisgrid.gql.counties import CountyQuery
from jurisgrid.gql.documents import DocumentLimits, cached_documents
from jurisgrid.gql.errors import DomainErrors
from jurisgrid.gql.execution import PlainSubtreeExecutor
from jurisgrid.gql.glossary import describe
from jurisgrid.gql.history import HistoryQuery
from jurisgrid.gql.mutations import EditMutation
from jurisgrid.gql.mutations_admin import AdminUnitMutation
from jurisgrid.gql.mutations_units import UnitMutation
from jurisgrid.gql.permissions import AuthQuery
from jurisgrid.gql.planning import PlanningQuery
from jurisgrid.gql.plans import PlanMutation, PlanQuery
from jurisgrid.gql.query import Query
from jurisgrid.gql.scalars import SCALAR_MAP
from jurisgrid.gql.sizing import SizingMutation, SizingQuery
from jurisgrid.gql.subscriptions import JurisdictionSubscription

# Each capability contributes its own root types; they are merged here (one line per part).
QUERY_PARTS: tuple[type, ...] = (Query, CountyQuery, AuthQuery, HistoryQuery, SizingQuery, PlanningQuery)
MUTATION_PARTS: tuple[type, ...] = (EditMutation, UnitMutation, AdminUnitMutation, SizingMutation)
SUBSCRIPTION_PARTS: tuple[type, ...] = (JurisdictionSubscription,)
QUERY_PARTS += (PlanQuery,)          # plans (issue 12): gql/plans.py
MUTATION_PARTS += (PlanMutation,)
QUERY_PARTS += (BalancingQuery,)     # balancing jobs (issue 12): gql/balancing.py
MUTATION_PARTS += (BalancingMutation,)
QUERY_PARTS += (CategoryQuery,)      # incident categories as data (issue 11): gql/categories.py
MUTATION_PARTS += (CategoryMutation,)

SDL_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"

log = logging.getLogger("jurisgrid.gql")


class Schema(strawberry.Schema):
    """strawberry's schema, logging expected errors in one line each.

    strawberry logs every error with its traceback — 1.5 KB per bad input. Errors the client
    caused (invalid documents, refused arguments, domain errors: gql/errors.py) get one INFO line
    with their code; unexpected ones are logged with their traceback where they are masked
    (gql/errors.py), once."""

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        for err in errors:
            orig = err.original_error
            if orig is None or isinstance(orig, GraphQLError):
                code = (err.extensions or {}).get("code") or (
                    "GRAPHQL_VALIDATION_FAILED" if err.path is None else "BAD_USER_INPUT")
            elif isinstance(orig, JurisgridError):
                code = orig.code
            else:
                continue  # unexpected: logged with its traceback when masked
            if log.isEnabledFor(logging.INFO):
                where = f" at {'.'.join(map(str, err.path))}" if err.path else ""
                log.info("%s%s: %s", code, where, err.message[:200].replace("\n", " "))


def build_schema(api: ApiSettings | None = None) -> strawberry.Schema:
    api = api or ApiSettings()
    # The limits are checked by one pass of our own (gql/cost.py), made once here with its
    # caches: the validation cache is keyed by the query text, and anything made per request
    # (strawberry's limiters make new rule classes each time) would miss it every time (3x the
    # CPU of a small query).
    limits = DocumentLimits.from_settings(api)
    query = merge_types("Query", QUERY_PARTS) if len(QUERY_PARTS) > 1 else Query
    mutation = merge_types("Mutation", MUTATION_PARTS) if MUTATION_PARTS else None
    subscription = merge_types("Subscription", SUBSCRIPTION_PARTS) if SUBSCRIPTION_PARTS else None
    schema = Schema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        # one extension: cached parse/validate with the limits, and the error mapping
        extensions=[cached_documents(limits, base=DomainErrors)],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        # plain-attribute objects in one step; JURISGRID_FAST_EXECUTION=false: graphql-core's own
        execution_context_class=PlainSubtreeExecutor if api.fast_execution else None,
    )
    describe(schema._schema)  # every root field and argument described (gql/glossary.py)
    return schema


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
