"""Domain errors. Lower layers raise these; gql/errors.py and the REST routes map them to
GraphQL errors / typed results and HTTP statuses in one place each."""

from __future__ import annotations

from typing import Any


class JurisgridError(Exception):
    code = "ERROR"
    http_status = 400

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidInput(JurisgridError):
    code = "BAD_USER_INPUT"


class InvalidGeometry(InvalidInput):
    code = "INVALID_GEOMETRY"


class NotFound(JurisgridError):
    code = "NOT_FOUND"
    http_status = 404


class Conflict(JurisgridError):
    code = "CONFLICT"
    http_status = 409


class Forbidden(JurisgridError):
    code = "FORBIDDEN"
    http_status = 403


class Unauthenticated(Forbidden):
    """No valid credentials: a missing (when anonymous reads are off), unknown or revoked token.
    A Forbidden, so code that refuses on Forbidden refuses this too; maps to HTTP 401."""

    code = "UNAUTHENTICATED"
    http_status = 401


class ServiceUnavailable(JurisgridError):
    """The database does not answer (down, restarting, or every pooled connection busy): try
    again shortly. Maps to HTTP 503 with ``Retry-After`` and GraphQL ``SERVICE_UNAVAILABLE``."""

    code = "SERVICE_UNAVAILABLE"
    http_status = 503
    retry_after_s = 5


class RuleViolation(InvalidInput):
    """Input that breaks a rule of the domain data (editing/validation.py): a code in the wrong
    format or outside its parent's range, an empty name, a point outside the county, a code that
    already exists. ``code`` names the rule (e.g. ``INVALID_CODE``, ``OUTSIDE_COUNTY``)."""

    def __init__(self, code: str, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message, details=details)
        self.code = code
