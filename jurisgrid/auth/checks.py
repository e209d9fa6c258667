"""Authorisation checks. Both raise :class:`jurisgrid.errors.Forbidden` with a clear message."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jurisgrid.auth.principal import Principal, Role
from jurisgrid.errors import Forbidden


def require_role(principal: Principal, role: Role) -> None:
    """Refuse unless the principal's role is ``role`` or above (viewer < editor < planner < admin)."""
    if not principal.role.at_least(role):
        raise Forbidden(f"{principal.actor} has role {principal.role.value}; "
                        f"this needs {role.value} or above",
                        details=[{"actor": principal.actor, "role": principal.role.value,
                                  "required": role.value}])


def require_station_scope(principal: Principal, station_codes: Iterable[str]) -> None:
    """Refuse a station-scoped principal unless its station is one of ``station_codes``.

    Call it once per changed grid with that grid's current station and its target station:
    an editor scoped to station S may touch a grid only when it is in S now or moves into S
    (so moving a grid out of S, or into S, passes; moving one between two other stations does
    not). Unscoped principals (deployment-wide tokens) always pass. A county-scoped principal
    passes only when every station is in its county (no moving units across its border). For
    many grids at once use :func:`require_scope_for_moves`, which reports every offending grid.
    """
    codes = sorted(set(station_codes))
    require_county_scope(principal, codes)
    scope = principal.station_code
    if scope is None:
        return
    if scope not in codes:
        raise Forbidden(f"{principal.actor} may only change the jurisdiction of station {scope}; "
                        f"this touches only {', '.join(codes) or 'no station'}",
                        details=[{"actor": principal.actor, "station": scope, "stations": codes}])


def require_scope_for_moves(principal: Principal, moves: Iterable[tuple[str, str, str | None]]) -> None:
    """Check many grids at once: ``moves`` are ``(grid_code, current_station, target_station)``
    (target None when the grid stays in its station, e.g. a reshape). Refuses with one detail
    per grid outside the principal's station (or, county-scoped, with a station outside its
    county before or after)."""
    moves = list(moves)
    if principal.county_code is not None:
        out = [{"grid": g, "station": cur, "target": tgt, "county": principal.county_code}
               for g, cur, tgt in moves
               if cur not in principal.county_stations
               or (tgt is not None and tgt not in principal.county_stations)]
        if out:
            raise Forbidden(f"{principal.actor} may only change grids of county "
                            f"{principal.county_code}; {len(out)} grid(s) are or would be "
                            "outside it", details=out)
    scope = principal.station_code
    if scope is None:
        return
    bad = [{"grid": g, "station": cur, "target": tgt}
           for g, cur, tgt in moves if scope not in (cur, tgt)]
    if bad:
        raise Forbidden(f"{principal.actor} may only change grids of station {scope} or moving into it; "
                        f"{len(bad)} grid(s) are outside it", details=bad)


def require_county_scope(principal: Principal, station_codes: Iterable[str | None]) -> None:
    """Refuse a county-scoped principal unless there is a station and every one of
    ``station_codes`` is in its county (None entries — a unit in no station — are outside)."""
    if principal.county_code is None:
        return
    given = list(station_codes)
    codes = sorted({str(c) for c in given if c is not None})
    outside = [c for c in codes if c not in principal.county_stations]
    if not codes or outside or None in given:
        raise Forbidden(f"{principal.actor} may only change county {principal.county_code}; this "
                        f"touches {', '.join(outside) or 'no station of it'}",
                        details=[{"actor": principal.actor, "county": principal.county_code,
                                  "stations": codes, "outside": outside}])


def county_in_scope(principal: Principal, asked: str | None) -> str | None:
    """The county a read is restricted to: the one asked for (a ``county`` argument, ``?county=``
    on tiles and OGC items), narrowed by the principal's county scope — a county-scoped
    principal reads its county whether it asks or not, and asking for another is refused. The
    one rule for GraphQL lists, tiles and the OGC API."""
    scope = principal.county_code
    if scope is None:
        return asked
    if asked is not None and asked != scope:
        raise Forbidden(f"{principal.actor} may only read county {scope}; this asks for county "
                        f"{asked}", details=[{"actor": principal.actor, "county": scope,
                                              "asked": asked}])
    return scope


def require_plan_access(principal: Principal, plan: Mapping[str, Any], *, write: bool) -> None:
    """Who may see and change a plan (models/plans.py): anyone who reads may see a plan, a
    station-scoped token only its own station's plans, a county-scoped token only plans of a
    station of its county (a sector- or deployment-wide plan reaches beyond one county);
    planners and admins change them. Here, in auth/, so every layer that serves plans — edits,
    GraphQL, tiles — checks the same rule."""
    if write:
        require_role(principal, Role.PLANNER)
    station = plan["scope_code"] if plan["scope_kind"] == "station" else None
    scope = principal.station_code
    if scope is not None and station != scope:
        raise Forbidden(f"{principal.actor} may only see and plan station {scope}; plan "
                        f"{plan['id']} covers {plan['scope_kind']} {plan['scope_code'] or ''}".rstrip(),
                        details=[{"actor": principal.actor, "station": scope, "plan": plan["id"]}])
    county = principal.county_code
    if county is not None and scope is None and station not in principal.county_stations:
        raise Forbidden(f"{principal.actor} may only see and plan the stations of county {county}; "
                        f"plan {plan['id']} covers {plan['scope_kind']} "
                        f"{plan['scope_code'] or ''}".rstrip(),
                        details=[{"actor": principal.actor, "county": county, "plan": plan["id"]}])
