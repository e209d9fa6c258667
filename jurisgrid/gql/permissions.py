"""Who am I? ``me`` tells a client the principal its request runs as (role, station scope).

Mutations check permissions themselves (jurisgrid.auth.checks) so they can answer with a typed
``ForbiddenError``; reads are gated by the router (anonymous reads on or off).
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from jurisgrid.gql.context import Context


@strawberry.type(description="The caller: the principal a request runs as.")
class Caller:
    actor: str = strawberry.field(
        description="what revisions record, e.g. `gis-office#3`; `anonymous` without a token")
    role: str = strawberry.field(description="viewer < editor < planner < admin")
    station_code: str | None = strawberry.field(
        description="the station an editor is scoped to; null = not scoped to a station")
    county_code: str | None = strawberry.field(
        description="the county the token is scoped to (it reads and edits only that county); "
                    "null = not scoped to a county")
    anonymous: bool


@strawberry.type
class AuthQuery:
    @strawberry.field(description="The principal this request runs as.")
    def me(self, info: Info[Context, None]) -> Caller:
        p = info.context.principal
        return Caller(actor=p.actor, role=p.role.value, station_code=p.station_code,
                      county_code=p.county_code, anonymous=p.is_anonymous)
