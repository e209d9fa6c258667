"""What the workbench's database tests share: a GraphQL post, a station's border moves, and a
stored plan made of them (models/plans.py through editing/plans.write_assignment)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from jurisgrid.config import EditSettings
from jurisgrid.editing.plans import write_assignment
from jurisgrid.editing.revisions import current_revision
from jurisgrid.models import plans as store
from jurisgrid.planning.source import read_context
from tests.plans.conftest import PLANNER


def post(client: Any, query: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    """The JSON answer of a GraphQL request (HTTP 200 asserted), with a bearer token if given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    res = client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert res.status_code == 200, res.text
    out: dict[str, Any] = res.json()
    return out


def border_moves(conn: Connection, station: str, n: int = 2) -> dict[str, str]:
    """``n`` grids of the station each moved to a neighbouring grid's zone (no grid twice)."""
    ctx = read_context(conn, station)
    live = ctx.base.assignment
    moves: dict[str, str] = {}
    for i, j in ctx.adjacency.edges.tolist():
        a, b = ctx.units.codes[i], ctx.units.codes[j]
        if live[a] != live[b] and a not in moves and b not in moves and len(moves) < n:
            moves[a] = live[b]
    return moves


def stored_plan(conn: Connection, station: str, name: str, moves: dict[str, str], *,
                settings: EditSettings, reason: str | None = None) -> int:
    """A committed plan of ``station`` holding ``moves``; its id."""
    pid = store.create_plan(conn, name=name, description=None, scope=store.Scope("station", station),
                            actor="t", base_revision=current_revision(conn))
    write_assignment(conn, pid, moves, principal=PLANNER, settings=settings, reason=reason)
    return pid
