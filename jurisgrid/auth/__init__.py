"""Who may change what (issue 3): bearer tokens, principals, role and station-scope checks.

- ``principal``: :class:`Role`, :class:`Principal`, :data:`ANONYMOUS`.
- ``tokens``: create / authenticate / revoke / list tokens (only a SHA-256 of a secret is stored).
- ``checks``: :func:`require_role`, :func:`require_station_scope` (raise ``errors.Forbidden``).
- ``resolve``: the request-path resolver (``Authorization`` header → principal) with its
  short per-process cache.
"""

from jurisgrid.auth.checks import require_role, require_station_scope
from jurisgrid.auth.principal import ANONYMOUS, Principal, Role

__all__ = ["ANONYMOUS", "Principal", "Role", "require_role", "require_station_scope"]
