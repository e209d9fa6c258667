"""Incident categories as data in GraphQL (issue 11 item 5): ``incidentCategories`` and the
mutations that add a category, rename it, set its weight and map local 警情 codes to it
(models/categories.py). Admins with a county-wide token; results are typed
(``IncidentCategoryResult``: the category, or ValidationError / ForbiddenError / NotFound)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import strawberry
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from jurisgrid.auth.checks import require_role
from jurisgrid.auth.principal import Role
from jurisgrid.editing.scope import require_county_wide
from jurisgrid.errors import JurisgridError
from jurisgrid.gql.edit_types import ForbiddenError, NotFoundError, ValidationError, failure
from jurisgrid.models import categories as cat_m


@strawberry.type(description="A local 警情 category code mapped to a category.")
class LocalCategoryCode:
    local_code: str
    name: str | None


@strawberry.type(description="An incident (警情) category: what incidents are counted under, with "
                 "its weight in the sizing policy and the local codes that map to it.")
class IncidentCategory:
    code: str
    name: str
    weight: float = strawberry.field(description="its weight in the current sizing policy")
    incidents: int = strawberry.field(description="incidents of this category")
    local_codes: list[LocalCategoryCode] = strawberry.field(
        description="local 警情 codes an import maps to this category")


LocalCode = Annotated[str, strawberry.argument(
    description="a local 警情 category code, as the bureau's dispatch system writes it")]
IncidentCategoryResult = Annotated[IncidentCategory | ValidationError | ForbiddenError | NotFoundError,
                                   strawberry.union("IncidentCategoryResult")]


def _type(c: cat_m.Category) -> IncidentCategory:
    return IncidentCategory(code=c.code, name=c.name, weight=c.weight, incidents=c.incidents,
                            local_codes=[LocalCategoryCode(local_code=a, name=n) for a, n in c.aliases])


async def _write(info: Info, fn: Callable[[Connection], cat_m.Category]) -> Any:
    ctx = info.context
    try:
        require_role(ctx.principal, Role.ADMIN)
        require_county_wide(ctx.principal, "incident categories (they apply to every station)")

        def run() -> cat_m.Category:
            with ctx.engine.begin() as conn:
                return fn(conn)

        return _type(await run_in_threadpool(run))
    except JurisgridError as exc:
        return failure(exc)


@strawberry.type
class CategoryQuery:
    @strawberry.field(description="Every incident category with its weight and local codes.")
    async def incident_categories(self, info: Info) -> list[IncidentCategory]:
        return [_type(c) for c in await info.context.db(cat_m.categories)]


@strawberry.type
class CategoryMutation:
    @strawberry.mutation(description="Add an incident category (code: upper-case letters, digits, _), "
                         "optionally with its weight in the sizing policy (a new policy version).")
    async def create_incident_category(
            self, info: Info, code: str, name: str,
            weight: Annotated[float | None, strawberry.argument(
                description="its weight (default: the policy's default_weight)")] = None,
    ) -> IncidentCategoryResult:
        actor = info.context.principal.actor
        return await _write(info, lambda conn: cat_m.create(conn, code, name, weight=weight, actor=actor))

    @strawberry.mutation(description="Give an incident category a new name.")
    async def rename_incident_category(self, info: Info, code: str, name: str) -> IncidentCategoryResult:
        return await _write(info, lambda conn: cat_m.rename(conn, code, name))

    @strawberry.mutation(description="Set an incident category's weight in the sizing policy (a new "
                         "policy version).")
    async def set_incident_category_weight(
            self, info: Info, code: str,
            weight: Annotated[float, strawberry.argument(description="from 0 to 1000")],
    ) -> IncidentCategoryResult:
        actor = info.context.principal.actor
        return await _write(info, lambda conn: cat_m.set_weight(conn, code, weight, actor=actor))

    @strawberry.mutation(description="Map a local 警情 category code (as a 110 dispatch export "
                         "writes it) to a category; imports then count it there. Re-mapping moves it.")
    async def map_incident_category(
            self, info: Info, local_code: LocalCode, category: str,
            name: Annotated[str | None, strawberry.argument(
                description="what the local code means (as the bureau calls it)")] = None,
    ) -> IncidentCategoryResult:
        return await _write(info, lambda conn: cat_m.map_local(conn, local_code, category, name=name))

    @strawberry.mutation(description="Remove a local category code's mapping.")
    async def unmap_incident_category(self, info: Info, local_code: LocalCode) -> IncidentCategoryResult:
        return await _write(info, lambda conn: cat_m.unmap_local(conn, local_code))
