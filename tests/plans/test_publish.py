"""Publishing a plan (editing/publish.py): ONE revision, only by editors and admins, refused with
a conflict naming the grids when live data changed them since the plan branched (nothing
written), rebased then published; one revert restores the state before."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from jurisgrid.config import EditSettings
from jurisgrid.editing.plans import rebase_plan, write_assignment
from jurisgrid.editing.publish import publish_plan
from jurisgrid.editing.runner import run_edit
from jurisgrid.errors import Conflict, Forbidden
from jurisgrid.models import plans as store
from tests.editing.helpers import fingerprint, oracle_violations, state
from tests.plans.conftest import ADMIN, EDITOR, PLANNER
from tests.plans.test_storage import new_plan


def _zone_of(engine: Engine, grid: str) -> str:
    with engine.connect() as conn:
        return str(conn.exec_driver_sql("SELECT z.code FROM grid g JOIN zone z ON z.id = g.zone_id "
                                        "WHERE g.code = %(g)s", {"g": grid}).scalar_one())


def _three_zones(engine: Engine) -> tuple[str, list[str], list[str]]:
    """A station with three zones or more: (station, its zones, the grids of the first)."""
    with engine.connect() as conn:
        st = conn.exec_driver_sql(
            "SELECT s.code FROM station s JOIN zone z ON z.station_id = s.id "
            "JOIN grid g ON g.zone_id = z.id GROUP BY s.code "
            "HAVING count(DISTINCT z.id) >= 3 AND count(*) >= 4 ORDER BY s.code DESC LIMIT 1"
        ).scalar_one()
        zones = [z for (z,) in conn.exec_driver_sql(
            "SELECT z.code FROM zone z JOIN station s ON s.id = z.station_id "
            "JOIN grid g ON g.zone_id = z.id WHERE s.code = %(s)s GROUP BY z.code "
            "ORDER BY count(*) DESC, z.code", {"s": st})]
        grids = [g for (g,) in conn.exec_driver_sql(
            "SELECT g.code FROM grid g JOIN zone z ON z.id = g.zone_id WHERE z.code = %(z)s "
            "ORDER BY g.code", {"z": zones[0]})]
    return st, zones, grids


def test_publish_one_revision_conflict_rebase_revert(plan_engine: Engine,
                                                     settings: EditSettings) -> None:
    st, zones, grids = _three_zones(plan_engine)
    za, zb, zc = zones[:3]
    assert len(grids) >= 2
    with plan_engine.begin() as conn:
        pid = new_plan(conn, "publish A", store.Scope("station", st))
        write_assignment(conn, pid, {grids[0]: zb}, principal=PLANNER, settings=settings)
        pid2 = new_plan(conn, "publish B", store.Scope("station", st))
        write_assignment(conn, pid2, {grids[1]: zb}, principal=PLANNER, settings=settings)
    before = state(plan_engine)

    with pytest.raises(Forbidden):                      # planners plan; they do not publish
        publish_plan(plan_engine, pid, principal=PLANNER, settings=settings)
    out = publish_plan(plan_engine, pid, principal=EDITOR, settings=settings, reason="go")
    assert out.revision is not None and grids[0] in out.impact.grids
    assert _zone_of(plan_engine, grids[0]) == zb
    with plan_engine.connect() as conn:
        kinds = conn.exec_driver_sql("SELECT kind FROM revision WHERE id > %(r)s ORDER BY id",
                                     {"r": out.revision.id - 1}).scalars().all()
        plan = store.get_plan(conn, pid)
    assert kinds == ["publishPlan"]                     # one revision
    assert plan["status"] == "published" and plan["published_revision"] == out.revision.id
    assert oracle_violations(plan_engine, points=False) == []

    # plan B branched before a live edit that moved its grid elsewhere: a conflict naming it
    run_edit(plan_engine, "reassignGrids", {"grids": [grids[1]], "toZone": zc}, principal=EDITOR,
             settings=settings, reason="live change after plan B branched")
    live = fingerprint(plan_engine)
    with pytest.raises(Conflict) as err:
        publish_plan(plan_engine, pid2, principal=ADMIN, settings=settings)
    assert grids[1] in err.value.message
    assert any(d.get("code") == grids[1] for d in err.value.details)
    assert fingerprint(plan_engine) == live             # nothing written
    with plan_engine.begin() as conn:                   # rebase: its own change kept
        rebase_plan(conn, pid2, principal=PLANNER)
        assert store.load_assignment(conn, pid2)[grids[1]] == zb
    out2 = publish_plan(plan_engine, pid2, principal=ADMIN, settings=settings)
    assert out2.revision is not None and _zone_of(plan_engine, grids[1]) == zb

    # one revert of each publish restores the state before (newest first)
    for rid in (out2.revision.id, out.revision.id):
        run_edit(plan_engine, "revert", {"revision": rid}, principal=ADMIN, settings=settings)
    run_edit(plan_engine, "reassignGrids", {"grids": [grids[1]], "toZone": za}, principal=EDITOR,
             settings=settings)
    assert _strip(state(plan_engine)) == _strip(before)
    assert oracle_violations(plan_engine, points=False) == []


def _strip(s: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in s.items() if k in ("grid", "zone", "points")}
