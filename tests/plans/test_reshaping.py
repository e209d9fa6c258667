"""A plan that reshapes grids (a grid split in the plan): points are placed by the boundary rule
over the plan's grids (``reshapes``: stored memberships do not hold), checked against Shapely;
the live data keeps its grids and memberships."""

from __future__ import annotations

import json

import shapely
from shapely.geometry import shape
from sqlalchemy import Engine

from jurisgrid.config import EditSettings
from jurisgrid.editing.plans import edit_plan
from jurisgrid.models import plans as store
from jurisgrid.models.plan_source import PlanSource
from jurisgrid.models.responsible import responsible_for
from jurisgrid.models.rows import points_by_grid
from tests.editing.helpers import cut_line, fingerprint
from tests.plans.conftest import PLANNER
from tests.plans.test_storage import new_plan


def test_split_in_a_plan_places_points_by_the_rule(plan_engine: Engine,
                                                   settings: EditSettings) -> None:
    with plan_engine.connect() as conn:
        code, st = conn.exec_driver_sql(
            "SELECT g.code, s.code FROM grid g JOIN zone z ON z.id = g.zone_id JOIN station s "
            "ON s.id = z.station_id WHERE (SELECT count(*) FROM address_point p WHERE p.grid_id = g.id) >= 4 "
            "ORDER BY ST_Area(g.geom) DESC, g.code LIMIT 1").one()
    live = fingerprint(plan_engine)
    with plan_engine.begin() as conn:
        pid = new_plan(conn, "reshaping", store.Scope("station", st))
    out = edit_plan(plan_engine, pid, "splitGrid", {"grid": code, "line": cut_line(plan_engine, code)},
                    principal=PLANNER, settings=settings)
    halves = out.impact.grids
    assert len(halves) >= 2 and code in halves
    with plan_engine.connect() as conn:
        plan = store.get_plan(conn, pid)
        assert plan["reshapes"]
        src = PlanSource(pid, plan["reshapes"])
        assert not src.stores_membership
        rows = conn.exec_driver_sql(
            "SELECT o.id, o.code, ST_AsGeoJSON(o.geom, 15) FROM plan_grid o WHERE o.plan_id = %(p)s "
            "AND NOT o.deleted", {"p": pid}).all()
        shapes = {c: shape(json.loads(g)) for _i, c, g in rows}
        ids = {c: i for i, c, _g in rows}
        got = points_by_grid(conn, src, "address_point", list(ids.values()), first=10_000)
        pts = conn.exec_driver_sql(
            "SELECT p.code, ST_X(p.geom), ST_Y(p.geom) FROM address_point p WHERE ST_Intersects(p.geom, "
            "(SELECT geom FROM grid WHERE code = %(c)s))", {"c": code}).all()
        # the oracle: each point in the plan's half that contains it (smallest code on an edge)
        expect: dict[str, list[str]] = {}
        for pc, x, y in pts:
            near = sorted(c for c, g in shapes.items() if g.distance(shapely.Point(x, y)) <= 1e-7)
            if near:
                expect.setdefault(near[0], []).append(pc)
        assert {c: sorted(r["code"] for r in got.get(ids[c], [])) for c in shapes} == {
            c: sorted(expect.get(c, [])) for c in shapes}
        assert sum(len(v) for v in expect.values()) == len(pts) >= 4
        # responsibleFor under the plan names the half; live names the whole grid
        pc, x, y = pts[0]
        want = next(c for c, v in expect.items() if pc in v)
        planned = responsible_for(conn, lon=x, lat=y, source=src).units["grid"]
        live_grid = responsible_for(conn, lon=x, lat=y).units["grid"]
        assert planned is not None and planned["code"] == want
        assert live_grid is not None and live_grid["code"] == code
    assert fingerprint(plan_engine) == live
