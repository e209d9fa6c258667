"""Property: random sequences of reassign, redraw, split and merge keep the invariants of
docs/design.md (Invariants) exactly — checked after every step by an independent Shapely computation over the
exported grids, zones, stations and address points — an edit that is refused writes nothing,
and reverting the whole sequence (newest first) restores the starting state exactly."""

from __future__ import annotations

import math
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from jurisgrid.editing.runner import run_edit
from jurisgrid.errors import InvalidInput, JurisgridError
from tests.editing.conftest import ADMIN
from tests.editing.helpers import (
    fingerprint,
    grow_into,
    oracle_violations,
    shrink_towards,
    state,
)

OPS = ("reassign", "redraw", "split", "merge")


def _pairs(engine) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT a.code, b.code FROM grid a JOIN grid b ON a.community_id = b.community_id "
            "AND a.code < b.code AND ST_Length(ST_Intersection(ST_Boundary(a.geom), "
            "ST_Boundary(b.geom))) > 1e-4 "
            "ORDER BY a.code, b.code"))]  # type: ignore[misc]


def _grids(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT code FROM grid ORDER BY code"))]


def _zones(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT code FROM zone ORDER BY code"))]


def _line(engine, code: str, angle: float) -> dict:  # type: ignore[no-untyped-def]
    import json

    import shapely

    with engine.connect() as conn:
        g = shapely.geometry.shape(json.loads(conn.execute(
            text("SELECT ST_AsGeoJSON(geom, 15) FROM grid WHERE code = :c"), {"c": code}).scalar_one()))
    p = g.representative_point()
    r = math.hypot(g.bounds[2] - g.bounds[0], g.bounds[3] - g.bounds[1])
    dx, dy = r * math.cos(angle), r * math.sin(angle)
    return {"type": "LineString", "coordinates": [[p.x - dx, p.y - dy], [p.x + dx, p.y + dy]]}


def _step(engine, edit_settings, op: str, rnd: random.Random) -> int | None:  # type: ignore[no-untyped-def]
    """Run one random edit; the revision id, or None when it was (rightly) refused."""
    if op == "reassign":
        grids = rnd.sample(_grids(engine), rnd.randint(1, 3))
        args = {"grids": grids, "toZone": rnd.choice(_zones(engine))}
    elif op == "split":
        grid = rnd.choice(_grids(engine))
        op, args = "splitGrid", {"grid": grid, "line": _line(engine, grid, rnd.uniform(0, math.pi))}
    elif op in ("redraw", "merge"):
        pairs = _pairs(engine)
        if not pairs:
            return None
        a, b = rnd.choice(pairs)
        if op == "merge":
            op, args = "mergeGrids", {"grids": [a, b]}
        elif rnd.random() < 0.5:
            op, args = "redrawGrid", {"grid": a, "geometry": grow_into(engine, a, b, rnd.uniform(0.1, 0.4))}
        else:
            shape = shrink_towards(engine, a, b, rnd.uniform(0.1, 0.4))
            op, args = "redrawGrid", {"grid": a, "geometry": shape,
                                      "giveTo": b}
    op = {"reassign": "reassignGrids"}.get(op, op)
    before = fingerprint(engine)
    try:
        out = run_edit(engine, op, args, principal=ADMIN, settings=edit_settings, reason="property")
    except (InvalidInput, JurisgridError) as exc:
        assert fingerprint(engine) == before, f"{op} was refused ({exc.message}) but wrote"
        assert exc.code in ("INVALID_GEOMETRY", "BAD_USER_INPUT"), exc
        return None
    assert out.revision is not None
    return out.revision.id


@settings(max_examples=4, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(st.sampled_from(OPS), min_size=2, max_size=4).map(lambda o: ["split", *o]),
       seed=st.integers(0, 10_000))
def test_random_edit_sequences_keep_invariants_and_revert_exactly(  # type: ignore[no-untyped-def]
        edit_engine, edit_settings, ops, seed) -> None:
    rnd = random.Random(seed)
    start = state(edit_engine)
    done: list[int] = []
    for op in ops:
        rid = _step(edit_engine, edit_settings, op, rnd)
        if rid is not None:
            done.append(rid)
        assert oracle_violations(edit_engine) == [], (op, ops, seed)
    print("property:", ops, "->", len(done), "committed")
    for rid in reversed(done):
        run_edit(edit_engine, "revert", {"revision": rid}, principal=ADMIN, settings=edit_settings,
                 reason="property: undo")
    assert state(edit_engine) == start
    assert oracle_violations(edit_engine) == []
