"""Each edit operation on a real PostGIS: the invariants hold afterwards (independent Shapely
oracle), the impact is right, and reverting restores the previous state exactly."""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy import text

from jurisgrid.editing.runner import run_edit
from jurisgrid.models.invariants import check_invariants
from tests.editing.conftest import ADMIN
from tests.editing.helpers import (
    cut_line,
    fingerprint,
    grid_shape,
    grow_into,
    m2,
    neighbour_pair,
    oracle_violations,
    shrink_towards,
    state,
)


def _edit(engine, settings, op, args, **kw):  # type: ignore[no-untyped-def]
    return run_edit(engine, op, args, principal=ADMIN, settings=settings, reason="test", **kw)


def _check_and_revert(engine, settings, before, out):  # type: ignore[no-untyped-def]
    assert oracle_violations(engine) == []
    with engine.connect() as conn:
        assert check_invariants(conn) == []
    rev = _edit(engine, settings, "revert", {"revision": out.revision.id})
    assert state(engine) == before
    assert oracle_violations(engine) == []
    return rev


def _other_zone(engine, grid: str) -> str:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT z.code FROM zone z JOIN grid g ON g.code = :g JOIN zone gz ON gz.id = g.zone_id "
            "WHERE z.station_id <> gz.station_id ORDER BY z.code LIMIT 1"), {"g": grid}).scalar_one()


def test_reassign_grids_moves_population_and_reverts(edit_engine, edit_settings) -> None:
    a, b = neighbour_pair(edit_engine)
    to = _other_zone(edit_engine, a)
    before = state(edit_engine)
    with edit_engine.connect() as conn:
        pop = conn.execute(text("SELECT coalesce(sum(p.population), 0) FROM address_point p JOIN grid g "
                                "ON g.id = p.grid_id WHERE g.code IN (:a, "
                                ":b)"), {"a": a, "b": b}).scalar_one()
    out = _edit(edit_engine, edit_settings, "reassignGrids", {"grids": [a, b], "toZone": to})
    assert out.revision is not None and out.impact.grids == sorted([a, b])
    assert out.impact.population == pop and to in out.impact.zones and len(out.impact.stations) == 2
    with edit_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grid g JOIN zone z ON z.id = g.zone_id "
                                 "WHERE z.code = :z AND g.code IN (:a, "
                                 ":b)"), {"z": to, "a": a, "b": b}).scalar_one() == 2
    _check_and_revert(edit_engine, edit_settings, before, out)


def test_dry_run_reports_impact_and_writes_nothing(edit_engine, edit_settings) -> None:
    a, _ = neighbour_pair(edit_engine)
    fp = fingerprint(edit_engine)
    out = _edit(edit_engine, edit_settings, "reassignGrids",
                {"grids": [a], "toZone": _other_zone(edit_engine, a)},
                dry_run=True)
    assert out.revision is None and out.impact.grids == [a] and out.impact.zones
    # the grid's points and people change zone with it (a planner's dry run once said 0 points)
    with edit_engine.connect() as conn:
        n, pop = conn.execute(text(
            "SELECT count(*), coalesce(sum(p.population), 0) FROM address_point p "
            "JOIN grid g ON g.id = p.grid_id WHERE g.code = :g"), {"g": a}).one()
    assert (out.impact.address_points, out.impact.population) == (n, pop)
    assert fingerprint(edit_engine) == fp


def test_reassign_community_and_move_zone(edit_engine, edit_settings) -> None:  # type: ignore[no-untyped-def]
    with edit_engine.connect() as conn:
        community, grid = conn.execute(text(
            "SELECT c.code, min(g.code) FROM community c JOIN grid g ON g.community_id = c.id "
            "GROUP BY c.code ORDER BY c.code LIMIT 1")).one()
        zone, station = conn.execute(text(
            "SELECT z.code, s.code FROM zone z JOIN station s ON s.id <> z.station_id "
            "ORDER BY z.code, s.code LIMIT 1")).one()
    before = state(edit_engine)
    out = _edit(edit_engine, edit_settings, "reassignCommunity",
                {"community": community, "toZone": _other_zone(edit_engine, grid)})
    assert grid in out.impact.grids
    _check_and_revert(edit_engine, edit_settings, before, out)
    with edit_engine.connect() as conn:
        pop = conn.execute(text("SELECT coalesce(sum(p.population), 0) FROM address_point p JOIN grid g "
                                "ON g.id = p.grid_id JOIN zone z ON z.id = g.zone_id WHERE z.code = :z"),
                           {"z": zone}).scalar_one()
    out = _edit(edit_engine, edit_settings, "moveZone", {"zone": zone, "toStation": station})
    assert station in out.impact.stations and out.impact.population == pop > 0
    with edit_engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM address_point p JOIN grid g ON g.id = p.grid_id "
                              "JOIN zone z ON z.id = g.zone_id WHERE z.code = :z"), {"z": zone}).scalar_one()
    assert out.impact.address_points == n > 0
    _check_and_revert(edit_engine, edit_settings, before, out)


def test_redraw_takes_from_neighbour_and_reverts(edit_engine, edit_settings) -> None:
    a, b = neighbour_pair(edit_engine, offset=1)
    new = grow_into(edit_engine, a, b)
    before = state(edit_engine)
    out = _edit(edit_engine, edit_settings, "redrawGrid", {"grid": a, "geometry": new})
    assert set(out.impact.grids) >= {a, b}
    got = grid_shape(edit_engine, a)
    # the input is rounded to the 1e-7° grid and cut to its community: a few m² at most
    assert m2(shapely.symmetric_difference(got, shapely.geometry.shape(new))) < 5.0
    _check_and_revert(edit_engine, edit_settings, before, out)


def test_redraw_gives_land_to_named_neighbour(edit_engine, edit_settings) -> None:
    a, b = neighbour_pair(edit_engine, offset=2)
    new = shrink_towards(edit_engine, a, b)
    before = state(edit_engine)
    b_area = grid_shape(edit_engine, b).area
    out = _edit(edit_engine, edit_settings, "redrawGrid", {"grid": a, "geometry": new, "giveTo": b})
    assert grid_shape(edit_engine, b).area > b_area
    assert out.impact.grids == sorted([a, b])
    _check_and_revert(edit_engine, edit_settings, before, out)


def test_split_then_merge_and_revert(edit_engine, edit_settings) -> None:  # type: ignore[no-untyped-def]
    a, _ = neighbour_pair(edit_engine, offset=3)
    before = state(edit_engine)
    out = _edit(edit_engine, edit_settings, "splitGrid", {"grid": a, "line": cut_line(edit_engine, a)})
    new_codes = [c for c in out.impact.grids if c != a]
    assert len(new_codes) >= 1 and all(c[:12] == a[:12] for c in new_codes)
    assert oracle_violations(edit_engine) == []
    merged = _edit(edit_engine, edit_settings, "mergeGrids", {"grids": [a, *new_codes]})
    assert oracle_violations(edit_engine) == []
    assert merged.impact.grids == sorted([a, *new_codes])
    with edit_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grid WHERE code = ANY(:c)"),
                            {"c": new_codes}).scalar_one() == 0
    # revert the merge, then the split: back to the start exactly
    _edit(edit_engine, edit_settings, "revert", {"revision": merged.revision.id})
    _edit(edit_engine, edit_settings, "revert", {"revision": out.revision.id})
    assert state(edit_engine) == before
    assert oracle_violations(edit_engine) == []


def test_revert_refused_when_later_edit_touched_same_grid(edit_engine, edit_settings) -> None:
    from jurisgrid.errors import Conflict

    a, _ = neighbour_pair(edit_engine, offset=4)
    z1 = _other_zone(edit_engine, a)
    first = _edit(edit_engine, edit_settings, "reassignGrids", {"grids": [a], "toZone": z1})
    with edit_engine.connect() as conn:
        z2 = conn.execute(text("SELECT code FROM zone WHERE code <> :z ORDER BY code DESC LIMIT 1"),
                          {"z": z1}).scalar_one()
    second = _edit(edit_engine, edit_settings, "reassignGrids", {"grids": [a], "toZone": z2})
    fp = fingerprint(edit_engine)
    with pytest.raises(Conflict):
        _edit(edit_engine, edit_settings, "revert", {"revision": first.revision.id})
    assert fingerprint(edit_engine) == fp
    _edit(edit_engine, edit_settings, "revert", {"revision": second.revision.id})
    _edit(edit_engine, edit_settings, "revert", {"revision": first.revision.id})
