"""The registry of edit operations: name → its command model, function and the role it needs
(titiler's algorithm registry is the pattern: one typed model per name, looked up by name).

An operation is ``fn(conn, ctx, cmd) -> list[str]`` (the repairs it made, if any), where ``cmd``
is an instance of the operation's :class:`jurisgrid.editing.commands.Command` model — typed
attributes, validated before the operation runs. The command's plain-JSON form
(``cmd.as_args()``) is what a scheduled edit stores and parses again when it takes effect. An
operation runs inside an open revision and raises domain errors (NotFound, InvalidInput,
InvalidGeometry, Forbidden, Conflict) — the caller's transaction then rolls back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection

from jurisgrid.auth.principal import Principal, Role
from jurisgrid.config import EditSettings
from jurisgrid.editing.commands import Command, parse
from jurisgrid.errors import InvalidInput

C = TypeVar("C", bound=Command)


@dataclass(frozen=True)
class OpContext:
    principal: Principal
    settings: EditSettings


OpFn = Callable[[Connection, OpContext, Any], list[str]]


@dataclass(frozen=True)
class Op:
    name: str
    command: type[Command]
    fn: OpFn
    role: Role
    # True when every row the operation writes is historised (jurisgrid/models/history_tables):
    # a stale expectedRevision then conflicts only where a later revision changed the same rows
    tracked: bool = True
    # False for an operation whose arguments are not plain JSON (the grid import's geometries):
    # it cannot be stored for a future effectiveFrom
    schedulable: bool = True
    # True when the operation gives every address point and incident it writes its grid itself,
    # by the in-memory mirror of the boundary rule (geo/lookup.py), and checks the invariants over
    # the whole database (``jurisgrid load``): closing its revision then does not re-home the
    # points of the reshaped area one jg_grid_at() call at a time (10⁵ of them for a county)
    places_points: bool = False

    def parse(self, args: dict[str, Any] | Command) -> Command:
        """``args`` as this operation's command, or InvalidInput naming every bad field."""
        return parse(self.name, self.command, args)


OPS: dict[str, Op] = {}


def operation(name: str, command: type[C], role: Role = Role.EDITOR, *, tracked: bool = True,
              schedulable: bool = True, places_points: bool = False
              ) -> Callable[[Callable[[Connection, OpContext, C], list[str]]],
                            Callable[[Connection, OpContext, C], list[str]]]:
    def register(fn: Callable[[Connection, OpContext, C], list[str]]
                 ) -> Callable[[Connection, OpContext, C], list[str]]:
        if name in OPS:
            raise RuntimeError(f"edit operation {name!r} registered twice")
        OPS[name] = Op(name, command, fn, role, tracked, schedulable, places_points)
        return fn

    return register


def get(name: str) -> Op:
    """The operation called ``name``, or InvalidInput listing the known ones."""
    op = OPS.get(name)
    if op is None:
        raise InvalidInput(f"unknown operation {name!r}; known: {', '.join(sorted(OPS))}",
                           details=[{"field": "operation", "operation": name}])
    return op

