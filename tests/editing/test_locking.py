"""Optimistic locking by revision: a stale ``expectedRevision`` conflicts only where a later
revision changed a row the edit changes (grids, zones, stations, communities, people,
assignments); edits of other units from the same revision both commit and the invariants hold.
Point edits (no row history) and reverts keep the strict rule."""

from __future__ import annotations

from sqlalchemy import Engine, text

from tests.editing.helpers import fingerprint, oracle_violations

REASSIGN = """mutation($grids: [String!]!, $zone: String!, $exp: Int) {
  reassignGrids(grids: $grids, toZone: $zone, expectedRevision: $exp) {
    __typename ... on EditError { code message details }
    ... on ConflictError { currentRevision } ... on EditSuccess { revision { id } } } }"""
UPDATE_ZONE = """mutation($zone: String!, $name: String!, $exp: Int) {
  updateZone(code: $zone, name: $name, expectedRevision: $exp) {
    __typename ... on EditError { code message details } ... on EditSuccess { revision { id } } } }"""
UPDATE_POINT = """mutation($code: String!, $exp: Int) {
  updateAddressPoint(code: $code, households: 3, expectedRevision: $exp) {
    __typename ... on EditError { code message } ... on EditSuccess { revision { id } } } }"""


def _two_grids_two_zones(engine: Engine) -> list[tuple[str, str, str]]:
    """(grid, its zone, another zone of its station) for grids of two different stations."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT DISTINCT ON (z.station_id) g.code, z.code, (SELECT z2.code FROM zone z2 "
            "WHERE z2.station_id = z.station_id AND z2.id <> z.id ORDER BY z2.code LIMIT 1) "
            "FROM grid g JOIN zone z ON z.id = g.zone_id "
            "WHERE EXISTS (SELECT 1 FROM zone z3 WHERE z3.station_id = z.station_id AND z3.id <> z.id) "
            "ORDER BY z.station_id, g.code LIMIT 2"))]  # type: ignore[misc]


def _zone_of(engine: Engine, grid: str) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT z.code FROM grid g JOIN zone z ON z.id = g.zone_id "
                                 "WHERE g.code = :g"), {"g": grid}).scalar_one()


def test_edits_of_different_grids_from_the_same_revision_both_commit(edit_engine, egql) -> None:  # type: ignore[no-untyped-def]
    (g1, home1, to1), (g2, home2, to2) = _two_grids_two_zones(edit_engine)
    seen = egql("{ currentRevision }")["currentRevision"]
    a = egql(REASSIGN, {"grids": [g1], "zone": to1, "exp": seen})["reassignGrids"]
    b = egql(REASSIGN, {"grids": [g2], "zone": to2, "exp": seen})["reassignGrids"]
    try:
        assert a["__typename"] == "EditSuccess" and b["__typename"] == "EditSuccess", (a, b)
        assert b["revision"]["id"] > a["revision"]["id"] > seen
        assert _zone_of(edit_engine, g1) == to1 and _zone_of(edit_engine, g2) == to2
        assert oracle_violations(edit_engine, points=False) == []
        # the same grid again from the old revision: now it conflicts, naming grid and revision
        before = fingerprint(edit_engine)
        c = egql(REASSIGN, {"grids": [g1, g2], "zone": home1, "exp": seen})["reassignGrids"]
        assert c["__typename"] == "ConflictError" and c["currentRevision"] == b["revision"]["id"], c
        clashes = {(d["code"], d["revision"]) for d in c["details"] if d.get("kind") == "grid"}
        assert clashes == {(g1, a["revision"]["id"]), (g2, b["revision"]["id"])}, c
        assert fingerprint(edit_engine) == before
    finally:
        for g, home in ((g1, home1), (g2, home2)):
            r = egql(REASSIGN, {"grids": [g], "zone": home})["reassignGrids"]
            assert r["__typename"] == "EditSuccess", r


def test_a_zone_renamed_after_it_gained_a_grid_conflicts(edit_engine, egql) -> None:  # type: ignore[no-untyped-def]
    """A later revision changed the zone row itself (its outline grew): renaming it from the
    older revision is refused — the client did not see that zone."""
    (g1, home1, to1), _ = _two_grids_two_zones(edit_engine)
    seen = egql("{ currentRevision }")["currentRevision"]
    a = egql(REASSIGN, {"grids": [g1], "zone": to1, "exp": seen})["reassignGrids"]
    assert a["__typename"] == "EditSuccess", a
    try:
        before = fingerprint(edit_engine)
        r = egql(UPDATE_ZONE, {"zone": to1, "name": "改名警务区", "exp": seen})["updateZone"]
        assert r["__typename"] == "ConflictError" and to1 in r["message"], r
        assert fingerprint(edit_engine) == before
    finally:
        r = egql(REASSIGN, {"grids": [g1], "zone": home1})["reassignGrids"]
        assert r["__typename"] == "EditSuccess", r


def test_point_edits_and_unknown_revisions_keep_the_strict_rule(edit_engine, egql) -> None:  # type: ignore[no-untyped-def]
    (g1, home1, to1), _ = _two_grids_two_zones(edit_engine)
    with edit_engine.connect() as conn:
        point = conn.execute(text("SELECT code FROM address_point ORDER BY code LIMIT 1")).scalar_one()
    seen = egql("{ currentRevision }")["currentRevision"]
    a = egql(REASSIGN, {"grids": [g1], "zone": to1, "exp": seen})["reassignGrids"]
    assert a["__typename"] == "EditSuccess", a
    try:
        before = fingerprint(edit_engine)
        r = egql(UPDATE_POINT, {"code": point, "exp": seen})["updateAddressPoint"]
        assert r["__typename"] == "ConflictError", r
        now = a["revision"]["id"]
        r = egql(REASSIGN, {"grids": [g1], "zone": home1, "exp": now + 1000})["reassignGrids"]
        assert r["__typename"] == "ConflictError" and r["currentRevision"] == now, r
        assert fingerprint(edit_engine) == before
    finally:
        r = egql(REASSIGN, {"grids": [g1], "zone": home1})["reassignGrids"]
        assert r["__typename"] == "EditSuccess", r
