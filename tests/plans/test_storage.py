"""Plan storage (models/plans.py, editing/plans.py): create, list, rename, copy, delete, history;
the overlay is copy-on-write and live data is never touched; bad input writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from jurisgrid.config import EditSettings
from jurisgrid.editing.plans import branch_as_of, write_assignment
from jurisgrid.editing.revisions import current_revision
from jurisgrid.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from jurisgrid.models import plans as store
from tests.editing.helpers import fingerprint
from tests.plans.conftest import PLANNER, VIEWER


def two_zones(conn: Any, offset: int = 0) -> tuple[str, str, str, list[str]]:
    """A station with two zones or more, the first with grids: (station, zone A, zone B, the
    grids of A). Other tests commit edits, so it looks at the data as it is now."""
    st, za, zb = conn.exec_driver_sql(
        "SELECT s.code, min(z.code) FILTER (WHERE EXISTS (SELECT 1 FROM grid g WHERE g.zone_id = z.id)), "
        "max(z.code) FROM station s JOIN zone z ON z.station_id = s.id GROUP BY s.code "
        "HAVING count(*) >= 2 AND min(z.code) FILTER (WHERE EXISTS (SELECT 1 FROM grid g "
        "WHERE g.zone_id = z.id)) < max(z.code) ORDER BY s.code OFFSET %(o)s LIMIT 1",
        {"o": offset}).one()
    grids = [g for (g,) in conn.exec_driver_sql(
        "SELECT g.code FROM grid g JOIN zone z ON z.id = g.zone_id WHERE z.code = %(z)s "
        "ORDER BY g.code", {"z": za})]
    return st, za, zb, grids


def new_plan(conn: Any, name: str, scope: store.Scope | None = None) -> int:
    return store.create_plan(conn, name=name, description="test", scope=scope or store.Scope("county"),
                             actor=PLANNER.actor, base_revision=current_revision(conn))


def test_create_list_rename_copy_delete(plan_engine: Engine, settings: EditSettings) -> None:
    live = fingerprint(plan_engine)
    with plan_engine.begin() as conn:
        st, za, zb, grids = two_zones(conn)
        pid = new_plan(conn, "storage A", store.Scope("station", st))
        assert store.load_assignment(conn, pid)[grids[0]] == za   # empty overlay: reads as live
        out = write_assignment(conn, pid, {grids[0]: zb}, principal=PLANNER, settings=settings,
                               reason="try")
        assert out.edit_id is not None and out.overlay["grid"] == 1
        assert grids[0] in out.impact.grids
        assert store.load_assignment(conn, pid)[grids[0]] == zb
        assert store.changed_grids(conn, pid) == [{"code": grids[0], "from_zone": za, "to_zone": zb}]
        assert store.zone_stations(conn, pid)[zb] == st
        # renamed, described, listed (a station's own), its history kept
        p = store.update_plan(conn, pid, name="storage A2", description="")
        assert p["name"] == "storage A2" and p["description"] is None
        assert pid in [r["id"] for r in store.list_plans(conn, station=st)]
        assert pid not in [r["id"] for r in store.list_plans(conn, station="nope")]
        assert [e["operation"] for e in store.plan_edits(conn, pid)] == ["createPlan", "assignGrids"]
        # a copy has the same overlay; editing the copy leaves the original as it was
        cid = store.copy_plan(conn, pid, name="storage A copy", description=None, actor="t")
        assert store.load_assignment(conn, cid) == store.load_assignment(conn, pid)
        write_assignment(conn, cid, {grids[0]: za}, principal=PLANNER, settings=settings)
        assert store.load_assignment(conn, cid)[grids[0]] == za
        assert store.load_assignment(conn, pid)[grids[0]] == zb
        assert store.overlay_counts(conn, cid)["grid"] == 0   # back to live: nothing overridden
        store.delete_plan(conn, pid)
        with pytest.raises(NotFound):
            store.get_plan(conn, pid)
        assert store.get_plan(conn, cid)["base_plan"] is None   # its base went away
    assert fingerprint(plan_engine) == live   # live data never touched


def test_bad_input_writes_nothing(plan_engine: Engine, settings: EditSettings) -> None:
    with plan_engine.begin() as conn:
        st, _za, zb, grids = two_zones(conn)
        pid = new_plan(conn, "storage bad", store.Scope("station", st))
        with pytest.raises(RuleViolation):
            new_plan(conn, "STORAGE BAD")                       # names are unique, any case
        for scope in (("station", "nope"), ("sector", "nope")):
            with pytest.raises(NotFound):
                new_plan(conn, "x", store.Scope(*scope))
        with pytest.raises(InvalidInput):
            store.Scope("township", "x")
        with pytest.raises(InvalidInput):
            new_plan(conn, "  ")
        with pytest.raises(NotFound):
            write_assignment(conn, pid, {grids[0]: "nope"}, principal=PLANNER, settings=settings)
        with pytest.raises(Forbidden):
            write_assignment(conn, pid, {grids[0]: zb}, principal=VIEWER, settings=settings)
        # outside the plan's scope: a grid of another station moved between its own zones
        other = two_zones(conn, offset=1)
        with pytest.raises(InvalidInput, match="outside the plan's scope"):
            write_assignment(conn, pid, {other[3][0]: other[2]}, principal=PLANNER,
                             settings=settings)
        assert store.overlay_counts(conn, pid) == {t: 0 for t in store.PLANNED}
        assert [e["operation"] for e in store.plan_edits(conn, pid)] == ["createPlan"]
        conn.rollback()


def test_branch_as_of_restores_then(plan_engine: Engine, settings: EditSettings) -> None:
    from datetime import UTC, datetime

    from jurisgrid.editing.runner import run_edit
    from tests.plans.conftest import EDITOR

    with plan_engine.connect() as conn:
        st, za, zb, grids = two_zones(conn, offset=2)
    before = datetime.now(UTC)
    run_edit(plan_engine, "reassignGrids", {"grids": grids[:1], "toZone": zb}, principal=EDITOR,
             settings=settings, reason="live move after the instant")
    with plan_engine.begin() as conn:
        pid = new_plan(conn, "as of", store.Scope("station", st))
        counts = branch_as_of(conn, pid, before, principal=PLANNER)
        assert counts["grid"] == 1
        assert store.load_assignment(conn, pid)[grids[0]] == za
        live: dict[str, str] = dict(conn.exec_driver_sql("SELECT g.code, z.code FROM grid g JOIN zone z "
                                         "ON z.id = g.zone_id").all())
        assert live[grids[0]] == zb
