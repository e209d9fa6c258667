"""Many counties in one deployment (issue 11): ``counties``, ``county(code)``, and the county
scope of a token applied to reads.

A token scoped to a county (``jurisgrid token create --county CODE``) reads only that county:
every list is filtered to it (asking for another county is Forbidden), and a lookup by code of a
unit elsewhere answers null, as for a code that does not exist. Edits are checked in auth/checks.py
and editing/scope.py.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from jurisgrid.auth.checks import county_in_scope
from jurisgrid.errors import Forbidden
from jurisgrid.gql.connections import Connection, Edge, PageInfo
from jurisgrid.gql.nodes import County
from jurisgrid.gql.source import loaders, read
from jurisgrid.models import county_scope, listing
from jurisgrid.models.listing import ListFilter
from jurisgrid.models.rows import Row
from jurisgrid.models.source import LIVE, Source


def scoped_county(info: Info, asked: str | None) -> str | None:
    """The county a list is restricted to: the one asked for (``county`` argument), narrowed
    by the caller's county scope; asking a county-scoped token for another county is refused."""
    return county_in_scope(info.context.principal, asked)


async def visible(info: Info, table: str, src: Source, row: Row) -> bool:
    """Whether the caller may see ``row`` (a unit found by code): always, unless the token is
    scoped to a county the unit is not in."""
    scope = info.context.principal.county_code
    if scope is None:
        return True
    return bool(await read(info, src, county_scope.contains, table, row["code"], scope))


@strawberry.type
class CountyQuery:
    @strawberry.field(description="The county-level units (县/区/市) this deployment covers, by "
                      "code — one, or a prefecture's or a province's many.")
    async def counties(self, info: Info, first: int | None = None, after: str | None = None,
                       code: str | None = None, codes: list[str] | None = None,
                       search: Annotated[str | None, strawberry.argument(
                           description="counties whose code or name contains this text "
                                       "(spaces ignored)")] = None) -> Connection[County]:
        ctx = info.context
        f = ListFilter(code=code, codes=codes, search=search, county=scoped_county(info, None))
        n = ctx.page_size(first if first is not None else ctx.settings.api.page_size_default)
        rows = await read(info, LIVE, listing.page, "county", f, first=n, after=after)
        edges = [Edge(cursor=r[listing.CURSOR], node=County(row=r)) for r in rows[:n]]

        async def count() -> int:
            return int(await read(info, LIVE, listing.count, "county", f))

        return Connection(edges=edges, count_fn=count,
                          page_info=PageInfo(has_next_page=len(rows) > n,
                                             end_cursor=edges[-1].cursor if edges else None))

    @strawberry.field(description="One county by code. Without `code`: the county a "
                      "county-scoped token is scoped to, else the first by code (the only one "
                      "when the deployment holds one county).")
    async def county(self, info: Info, code: str | None = None) -> County | None:
        asked = scoped_county(info, code) if code is not None else (
            info.context.principal.county_code)
        f = ListFilter(code=asked)
        rows: list[Any] = await read(info, LIVE, listing.page, "county", f, first=1)
        if not rows:
            return None
        return County(row=rows[0])


async def require_in_scope(info: Info, township: Row | None) -> None:
    """Refuse a county-scoped caller an answer about a place in another county (the township
    the point lies in names its county); a point in no grid passes (it names no unit)."""
    p = info.context.principal
    if p.county_code is None or township is None:
        return
    county = await loaders(info).by_code("county", LIVE).load(p.county_code)
    if county is None or township["county_id"] != county["id"]:
        raise Forbidden(f"{p.actor} may only read county {p.county_code}; this point lies in "
                        "another county", details=[{"actor": p.actor, "county": p.county_code}])
