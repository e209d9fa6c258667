"""Roles and principals: who is asking."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Ordered: each role may do everything the roles before it may.

    viewer reads; editor changes jurisdictions (within its station when scoped); planner may
    also plan (scenarios, sizing policy); admin may do everything, tokens included.
    """

    VIEWER = "viewer"
    EDITOR = "editor"
    PLANNER = "planner"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {r: i for i, r in enumerate(Role)}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. ``actor`` is what revisions record; ``station_code`` scopes
    an editor (or planner) to one station's jurisdiction; ``county_code`` scopes any role to one
    county — it reads and changes only that county, whose stations are ``county_stations`` (read
    when the token is verified). Neither: the whole deployment."""

    actor: str
    role: Role
    station_code: str | None = None
    token_id: int | None = None  # the api_token it came from (scheduled edits keep it)
    county_code: str | None = None
    county_stations: frozenset[str] = frozenset()

    @property
    def is_scoped(self) -> bool:
        """Scoped to a station or to a county: not deployment-wide."""
        return self.station_code is not None or self.county_code is not None

    @property
    def is_anonymous(self) -> bool:
        return self is ANONYMOUS


# used only when settings.api.anonymous_reads is true
ANONYMOUS = Principal(actor="anonymous", role=Role.VIEWER, station_code=None)
