"""Authorisation checks. Both raise :class:`jurisgrid.errors.Forbidden` with a clear message."""

from __future__ import annotations

from collections.abc import Iterable

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
    not). Unscoped principals (county-wide tokens) always pass. For many grids at once use
    :func:`require_scope_for_moves`, which reports every offending grid.
    """
    scope = principal.station_code
    if scope is None:
        return
    codes = sorted(set(station_codes))
    if scope not in codes:
        raise Forbidden(f"{principal.actor} may only change the jurisdiction of station {scope}; "
                        f"this touches only {', '.join(codes) or 'no station'}",
                        details=[{"actor": principal.actor, "station": scope, "stations": codes}])


def require_scope_for_moves(principal: Principal, moves: Iterable[tuple[str, str, str | None]]) -> None:
    """Check many grids at once: ``moves`` are ``(grid_code, current_station, target_station)``
    (target None when the grid stays in its station, e.g. a reshape). Refuses with one detail
    per grid outside the principal's station."""
    scope = principal.station_code
    if scope is None:
        return
    bad = [{"grid": g, "station": cur, "target": tgt}
           for g, cur, tgt in moves if scope not in (cur, tgt)]
    if bad:
        raise Forbidden(f"{principal.actor} may only change grids of station {scope} or moving into it; "
                        f"{len(bad)} grid(s) are outside it", details=bad)
