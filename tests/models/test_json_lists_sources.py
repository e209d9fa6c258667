"""A JSON list page (models/json_lists.py) reads through its Source like every list: under a
plan, a grid the plan moved shows the plan's zone in the nested relation, and the page holds
the same rows as models/listing.py's page under the same plan. Written in a transaction that
is rolled back (nothing stays in the shared test database)."""

from __future__ import annotations

import json

from sqlalchemy import text

from jurisgrid.models import listing
from jurisgrid.models.json_lists import Geo, Rel, Shape, page_json
from jurisgrid.models.listing import ListFilter, Window
from jurisgrid.models.plan_source import PlanSource
from jurisgrid.models.plans import Scope, create_plan
from jurisgrid.models.source import LIVE

SHAPE = Shape("grid", (("nodes", "nodes", (
    ("code", "col", "code"),
    ("zone", "rel", Rel("zone", "zone_id", (("code", "col", "code"),))),
    ("station", "rel", Rel("station", "station_id", (("code", "col", "code"),),
                           via="zone_id", via_table="zone")),
    ("geometry", "geo", Geo("geom", 0.0, 6)))),
    ("pageInfo", "pageInfo", (("hasNextPage", "hasNextPage", None),)),
    ("totalCount", "totalCount", None)))


def test_a_plan_page_shows_the_plans_zone(engine) -> None:
    with engine.connect() as conn, conn.begin() as tx:
        grid_id, grid_code, old_zone = conn.execute(text(
            "SELECT id, code, zone_id FROM grid ORDER BY code LIMIT 1")).one()
        new_zone, new_code, new_station = conn.execute(text(
            "SELECT z.id, z.code, s.code FROM zone z JOIN station s ON s.id = z.station_id "
            "WHERE z.id <> :z ORDER BY z.code DESC LIMIT 1"), {"z": old_zone}).one()
        revision = conn.execute(text("SELECT coalesce(max(id), 0) FROM revision")).scalar_one()
        pid = create_plan(conn, name="json lists test", description=None,
                          scope=Scope(kind="county"), actor="test", base_revision=revision)
        cols = [r[0] for r in conn.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'grid' "
            "ORDER BY ordinal_position"))]
        select_cols = ", ".join(":z" if c == "zone_id" else c for c in cols)
        conn.execute(text(f"INSERT INTO plan_grid (plan_id, deleted, {', '.join(cols)}) "
                          f"SELECT :p, false, {select_cols} FROM grid WHERE id = :g"),
                     {"p": pid, "z": new_zone, "g": grid_id})
        src = PlanSource(pid)
        f = ListFilter(codes=[grid_code])
        page = json.loads(page_json(conn, src, "grid", f, Window(size=10), SHAPE))
        assert page["totalCount"] == 1 and page["pageInfo"] == {"hasNextPage": False}
        node = page["nodes"][0]
        assert node["code"] == grid_code
        assert node["zone"] == {"code": new_code} and node["station"] == {"code": new_station}
        # the same rows as the regular page, under the plan and live
        rows = listing.page(conn, src, "grid", f, first=10)
        assert [r["zone_id"] for r in rows] == [new_zone]
        live = json.loads(page_json(conn, LIVE, "grid", f, Window(size=10), SHAPE))
        assert live["nodes"][0]["zone"]["code"] != new_code
        tx.rollback()

