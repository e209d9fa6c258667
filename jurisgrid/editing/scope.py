"""Station-scope checks the edit operations share beyond auth/checks.py (issue 16: every unit
mutation is scope-checked — a token scoped to station S changes only what is in S, or moves
into or out of S).

- Units that are not under one station — a new station, a community (it may straddle
  stations), a community without grids — are for county-wide principals only, unless every
  grid of the community is in S.
- A unit that may have been in several stations over an edit (a zone, an assignment, a point,
  anything a revert restores) passes when S is one of them, as a grid move does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Connection

from jurisgrid.auth.checks import require_county_scope
from jurisgrid.auth.principal import Principal
from jurisgrid.errors import Forbidden


def require_county_wide(principal: Principal, what: str) -> None:
    """Refuse a station-scoped principal: ``what`` is not under one station. A county-scoped
    one is refused too: a new station or community is not yet known to be in its county."""
    if principal.county_code is not None:
        raise Forbidden(f"{principal.actor} may only change county {principal.county_code}; "
                        f"{what} needs a deployment-wide token",
                        details=[{"actor": principal.actor, "county": principal.county_code,
                                  "required": "deployment-wide"}])
    if principal.station_code is not None:
        raise Forbidden(f"{principal.actor} may only change the jurisdiction of station "
                        f"{principal.station_code}; {what} needs a county-wide token",
                        details=[{"actor": principal.actor, "station": principal.station_code,
                                  "required": "county-wide"}])


def community_stations(conn: Connection, community_id: int) -> list[str]:
    return [s for (s,) in conn.exec_driver_sql(
        "SELECT DISTINCT s.code FROM grid g JOIN zone z ON z.id = g.zone_id "
        "JOIN station s ON s.id = z.station_id WHERE g.community_id = %(c)s ORDER BY 1",
        {"c": community_id})]


def require_whole_community(principal: Principal, conn: Connection, community: Mapping[str, object]) -> None:
    """A scoped principal changes a community only when every grid of it is in its station
    (county-scoped: in its county)."""
    if not principal.is_scoped:
        return
    stations = community_stations(conn, int(community["id"]))  # type: ignore[call-overload]
    if principal.county_code is not None:
        if not stations:
            require_county_wide(principal, f"community {community['code']} (it has no grids)")
        require_county_scope(principal, stations)
    scope = principal.station_code
    if scope is None:
        return
    if not stations:
        require_county_wide(principal, f"community {community['code']} (it has no grids)")
    outside = [s for s in stations if s != scope]
    if outside:
        raise Forbidden(f"{principal.actor} may only change the jurisdiction of station {scope}; "
                        f"community {community['code']} also has grids in {', '.join(outside)}",
                        details=[{"community": community["code"], "station": scope,
                                  "stations": stations}])


def require_scope_for_units(principal: Principal, units: Mapping[str, Iterable[str | None]]) -> None:
    """``units``: a label (``"zone 511725PS01Z01"``) → the stations it was in before and after.
    Refuses, naming each, the units none of whose stations is the principal's (county-scoped:
    the units with a station outside its county)."""
    if principal.county_code is not None:
        for label, st in units.items():
            try:
                require_county_scope(principal, [x for x in st if x is not None])
            except Forbidden as exc:
                raise Forbidden(f"{label}: {exc.message}", details=exc.details) from None
    scope = principal.station_code
    if scope is None:
        return
    bad = [{"unit": label, "stations": sorted({s for s in st if s is not None})}
           for label, st in units.items()]
    bad = [b for b in bad if scope not in b["stations"]]
    if bad:
        raise Forbidden(f"{principal.actor} may only change the jurisdiction of station {scope}; "
                        f"{len(bad)} unit(s) are outside it: "
                        + ", ".join(str(b["unit"]) for b in bad[:10]), details=bad[:50])
