"""A plan published at an effective date is ONE scheduled edit: the plan is read-only until then;
at the cut-over it takes effect as ONE revision (effective at that instant); a live edit
committed after it was scheduled is never overwritten — the cut-over conflicts instead, and the
plan is a draft again."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from jurisgrid.config import EditSettings
from jurisgrid.editing.plans import write_assignment
from jurisgrid.editing.publish import publish_plan
from jurisgrid.editing.runner import run_edit
from jurisgrid.editing.schedule import apply_due
from jurisgrid.errors import InvalidInput
from jurisgrid.models import plans as store
from tests.plans.conftest import EDITOR, PLANNER
from tests.plans.test_publish import _three_zones, _zone_of
from tests.plans.test_storage import new_plan


def _wait_until(t: datetime) -> None:
    time.sleep(max(0.0, (t - datetime.now(UTC)).total_seconds()) + 0.05)


def settle(engine: Engine, settings: EditSettings, *ids: int) -> list[int | None]:
    """Apply what is due until the scheduled edits ``ids`` are settled (the app's background
    applier, when a test client runs, may take them first); their applied revisions."""
    sql = ("SELECT id, applied_revision FROM scheduled_edit WHERE id = ANY(%(i)s) "
           "AND status <> 'pending'")
    for _ in range(100):
        apply_due(engine, settings=settings)
        with engine.connect() as conn:
            done: dict[int, int | None] = dict(conn.exec_driver_sql(sql, {"i": list(ids)}).all())
        if len(done) == len(ids):
            return [done[i] for i in ids]
        time.sleep(0.1)
    raise AssertionError(f"scheduled edits {ids} not settled")


def test_scheduled_publish_one_revision_and_no_lost_update(plan_engine: Engine,
                                                           settings: EditSettings) -> None:
    st, zones, grids = _three_zones(plan_engine)
    za, zb, zc = zones[:3]
    with plan_engine.begin() as conn:
        pid = new_plan(conn, "scheduled A", store.Scope("station", st))
        write_assignment(conn, pid, {grids[0]: zb}, principal=PLANNER, settings=settings)
        pid2 = new_plan(conn, "scheduled B", store.Scope("station", st))
        write_assignment(conn, pid2, {grids[1]: zc}, principal=PLANNER, settings=settings)
    at = datetime.now(UTC) + timedelta(seconds=2)
    out = publish_plan(plan_engine, pid, principal=EDITOR, settings=settings, reason="cut-over",
                       effective_from=at)
    out2 = publish_plan(plan_engine, pid2, principal=EDITOR, settings=settings, effective_from=at)
    assert out.scheduled_id is not None and out.revision is None
    with plan_engine.begin() as conn:
        assert store.get_plan(conn, pid)["status"] == "scheduled"
        with pytest.raises(InvalidInput, match="scheduled"):      # read-only until then
            write_assignment(conn, pid, {grids[0]: zc}, principal=PLANNER, settings=settings)
    assert _zone_of(plan_engine, grids[0]) == za                   # not applied early
    # a live edit after plan B was scheduled, on the grid B moves
    run_edit(plan_engine, "reassignGrids", {"grids": [grids[1]], "toZone": zb}, principal=EDITOR,
             settings=settings, reason="live, after scheduling")

    _wait_until(at)
    assert out.scheduled_id is not None and out2.scheduled_id is not None
    rid = settle(plan_engine, settings, out.scheduled_id, out2.scheduled_id)[0]
    assert rid is not None
    with plan_engine.connect() as conn:
        kind, eff = conn.exec_driver_sql("SELECT kind, effective_from FROM revision WHERE id = %(r)s",
                                         {"r": rid}).one()
        n = conn.exec_driver_sql("SELECT count(*) FROM revision WHERE kind = 'publishPlan' AND "
                                 "effective_from = %(t)s", {"t": at}).scalar_one()
        status2, conflicts = conn.exec_driver_sql(
            "SELECT status, conflicts FROM scheduled_edit WHERE id = %(s)s",
            {"s": out2.scheduled_id}).one()
        plan, plan2 = store.get_plan(conn, pid), store.get_plan(conn, pid2)
    assert kind == "publishPlan" and eff == at and n == 1           # ONE revision, effective then
    assert _zone_of(plan_engine, grids[0]) == zb
    assert plan["status"] == "published" and plan["published_revision"] == rid
    assert status2 == "conflict" and grids[1] in str(conflicts)     # no lost update
    assert _zone_of(plan_engine, grids[1]) == zb                    # the live edit stands
    assert plan2["status"] == "draft"                               # B can be rebased, retried
