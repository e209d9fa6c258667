"""``?plan=`` on tiles (tiles/plan.py): a plan's grids, zones and stations as it has them — a
moved grid carries its plan zone, the zones their plan grid counts — while live tiles do not
change; refusals are 400/404/403 with nothing drawn."""

from __future__ import annotations

from typing import Any

import mapbox_vector_tile
from sqlalchemy import Engine

from jurisgrid.tiles.layers import tile_of

Z = 12


def _features(client: Any, layer: str, x: int, y: int, query: str = "",
              token: str | None = None) -> dict[str, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    res = client.get(f"/tiles/{layer}/{Z}/{x}/{y}.mvt{query}", headers=headers)
    assert res.status_code == 200, res.text
    tile = mapbox_vector_tile.decode(res.content, default_options={"y_coord_down": True})
    return {f["properties"]["code"]: f["properties"] for f in tile.get(layer, {}).get("features", [])
            if f["properties"].get("feature", "area") == "area"}


def test_plan_tiles(plan_engine: Engine, plan_client: Any, pgql: Any,
                    plan_tokens: dict[str, str]) -> None:
    with plan_engine.connect() as conn:
        st, za, zb = conn.exec_driver_sql(
            "SELECT s.code, min(z.code), max(z.code) FROM station s JOIN zone z ON z.station_id = s.id "
            "WHERE EXISTS (SELECT 1 FROM grid g WHERE g.zone_id = z.id) "
            "GROUP BY s.code HAVING count(*) >= 2 ORDER BY s.code OFFSET 6 LIMIT 1").one()
        grid, lon, lat = conn.exec_driver_sql(
            "SELECT g.code, ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)) "
            "FROM grid g JOIN zone z ON z.id = g.zone_id WHERE z.code = %(z)s ORDER BY g.code LIMIT 1",
            {"z": za}).one()
    x, y = tile_of(lon, lat, Z)
    pid = pgql("""mutation($st: String) { createPlan(name: "tiles", scope: {kind: "station",
               code: $st}) { ... on PlanSuccess { plan { id } } } }""", {"st": st}
               )["createPlan"]["plan"]["id"]
    pgql("""mutation($p: ID!, $a: JSON!) { assignPlanGrids(plan: $p, assignment: $a) { __typename } }""",
         {"p": pid, "a": {grid: zb}})
    token = plan_tokens["viewer"]
    live_grids = _features(plan_client, "grids", x, y, token=token)
    plan_grids = _features(plan_client, "grids", x, y, f"?plan={pid}", token)
    assert live_grids[grid]["zone_code"] == za and plan_grids[grid]["zone_code"] == zb
    assert set(plan_grids) == set(live_grids)
    counts = pgql("""query($st: String!, $p: ID) { zones(station: $st, plan: $p, first: 100) {
                     edges { node { code grids { code } } } } }""", {"st": st, "p": pid})
    want = {e["node"]["code"]: len(e["node"]["grids"]) for e in counts["zones"]["edges"]}
    plan_zones = _features(plan_client, "zones", x, y, f"?plan={pid}", token)
    for code, props in plan_zones.items():
        if code in want:
            assert props["grids"] == want[code], code
    assert "population" not in plan_zones.get(za, {})          # no figures, as asOf tiles
    assert _features(plan_client, "grids", x, y, token=token) == live_grids

    for query, status in (("?plan=x", 400), ("?plan=999999", 404),
                          (f"?plan={pid}&asOf=2020-01-01T00:00:00Z", 400)):
        res = plan_client.get(f"/tiles/grids/{Z}/{x}/{y}.mvt{query}",
                              headers={"Authorization": f"Bearer {token}"})
        assert res.status_code == status, (query, res.text)
    res = plan_client.get(f"/tiles/incidents/{Z}/{x}/{y}.mvt?plan={pid}",
                          headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 400
