"""The registry of edit operations: name → function and the role it needs.

An operation is ``fn(conn, ctx, args) -> list[str]`` (the repairs it made, if any). ``args`` is
plain JSON (codes, GeoJSON, numbers), so a scheduled edit can store it and run it later. It runs
inside an open revision and raises domain errors (NotFound, InvalidInput, InvalidGeometry,
Forbidden, Conflict) — the caller's transaction then rolls back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from jurisgrid.auth.principal import Principal, Role
from jurisgrid.config import EditSettings


@dataclass(frozen=True)
class OpContext:
    principal: Principal
    settings: EditSettings


OpFn = Callable[[Connection, OpContext, dict[str, Any]], list[str]]


@dataclass(frozen=True)
class Op:
    name: str
    fn: OpFn
    role: Role
    # True when every row the operation writes is historised (jurisgrid/models/history_tables):
    # a stale expectedRevision then conflicts only where a later revision changed the same rows
    tracked: bool = True


OPS: dict[str, Op] = {}


def operation(name: str, role: Role = Role.EDITOR, *,
              tracked: bool = True) -> Callable[[OpFn], OpFn]:
    def register(fn: OpFn) -> OpFn:
        OPS[name] = Op(name, fn, role, tracked)
        return fn

    return register
