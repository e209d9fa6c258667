"""Edit operations on the policing geography: reassign grids or a community to a zone, move a
zone to a station, redraw, split and merge grids."""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import Connection

from jurisgrid.auth.checks import require_scope_for_moves
from jurisgrid.editing.commands import (
    MergeGrids,
    MoveZone,
    ReassignCommunity,
    ReassignGrids,
    RedrawGrid,
    SplitGrid,
    WithArea,
)
from jurisgrid.editing.lookup import (
    community_outline,
    county_outline,
    grid_geoms,
    unit_by_code,
    units_by_code,
    write_grid_geom,
)
from jurisgrid.editing.registry import OpContext, operation
from jurisgrid.errors import InvalidGeometry, InvalidInput
from jurisgrid.geo import reshape
from jurisgrid.geo.validate import Checked, GeometryProblem, parse_line, validate_area


def problem(exc: GeometryProblem, **where: Any) -> InvalidGeometry:
    return InvalidGeometry(str(exc), details=[{**where, **exc.detail}])


def area_arg(cmd: WithArea, ctx: OpContext, **where: Any) -> Checked:
    """``cmd.geometry`` validated (or repaired when ``cmd.repair``) as an area."""
    try:
        return validate_area(cmd.geometry, crs=cmd.crs_value,
                             max_vertices=ctx.settings.edit_max_vertices, repair=cmd.repair)
    except GeometryProblem as exc:
        raise problem(exc, **where) from None


def _codes(codes: list[str], key: str, *, limit: int) -> list[str]:
    """The command model has checked the list is non-empty without repeats; the cap is a setting."""
    if len(codes) > limit:
        raise InvalidInput(f"{key}: at most {limit} per edit, got {len(codes)}")
    return codes


def _move_grids(conn: Connection, ctx: OpContext, grids: list[dict[str, Any]], zone_code: str) -> None:
    zone = unit_by_code(conn, "zone", zone_code)
    require_scope_for_moves(ctx.principal, [(g["code"], g["station_code"], zone["station_code"])
                                            for g in grids])
    ids = [g["id"] for g in grids if g["zone_id"] != zone["id"]]
    if ids:
        conn.exec_driver_sql("UPDATE grid SET zone_id = %(z)s WHERE id = ANY(%(i)s)",
                             {"z": zone["id"], "i": ids})


@operation("reassignGrids", ReassignGrids)
def reassign_grids(conn: Connection, ctx: OpContext, cmd: ReassignGrids) -> list[str]:
    codes = _codes(cmd.grids, "grids", limit=ctx.settings.edit_max_grids)
    grids = units_by_code(conn, "grid", codes, lock=True)
    _move_grids(conn, ctx, grids, cmd.to_zone)
    return []


@operation("reassignCommunity", ReassignCommunity)
def reassign_community(conn: Connection, ctx: OpContext, cmd: ReassignCommunity) -> list[str]:
    community = unit_by_code(conn, "community", cmd.community)
    codes = [c for (c,) in conn.exec_driver_sql(
        "SELECT code FROM grid WHERE community_id = %(c)s ORDER BY code", {"c": community["id"]})]
    if not codes:
        raise InvalidInput(f"community {community['code']} has no grids")
    _move_grids(conn, ctx, units_by_code(conn, "grid", codes, lock=True), cmd.to_zone)
    return []


@operation("moveZone", MoveZone)
def move_zone(conn: Connection, ctx: OpContext, cmd: MoveZone) -> list[str]:
    zone = unit_by_code(conn, "zone", cmd.zone, lock=True)
    station = unit_by_code(conn, "station", cmd.to_station)
    grids = conn.exec_driver_sql("SELECT code FROM grid WHERE zone_id = %(z)s", {"z": zone["id"]}).all()
    require_scope_for_moves(ctx.principal, [(g.code, zone["station_code"], station["code"])
                                            for g in grids] or
                            [(zone["code"], zone["station_code"], station["code"])])
    conn.exec_driver_sql("UPDATE zone SET station_id = %(s)s WHERE id = %(z)s",
                         {"s": station["id"], "z": zone["id"]})
    return []


@operation("redrawGrid", RedrawGrid)
def redraw_grid(conn: Connection, ctx: OpContext, cmd: RedrawGrid) -> list[str]:
    checked = area_arg(cmd, ctx, grid=cmd.grid)
    grid = unit_by_code(conn, "grid", cmd.grid, lock=True)
    give_to = cmd.give_to
    if give_to is not None:
        unit_by_code(conn, "grid", give_to)
    old = grid_geoms(conn, ids=[grid["id"]])[grid["code"]][1]
    near = grid_geoms(conn, near=shapely.union(old, checked.geom))
    neighbours = {k: g for k, (_, g) in near.items() if k != grid["code"]}
    try:
        out = reshape.redraw(grid["code"], old, checked.geom, neighbours, give_to=give_to,
                             county=county_outline(conn),
                             within=community_outline(conn, grid["community_id"]))
    except GeometryProblem as exc:
        raise problem(exc, grid=grid["code"]) from None
    require_scope_for_moves(ctx.principal, [(k, near[k][0]["station_code"], None) for k in out])
    for k, geom in out.items():
        write_grid_geom(conn, near[k][0]["id"] if k in near else grid["id"], geom)
    return checked.repairs


def next_grid_codes(conn: Connection, community_code: str, n: int) -> list[str]:
    """The next ``n`` unused 15-digit codes of a community (never reusing a retired one)."""
    top = conn.exec_driver_sql(
        "SELECT max(code) FROM (SELECT code FROM grid WHERE code LIKE %(p)s "
        "UNION ALL SELECT code FROM grid_history WHERE code LIKE %(p)s) c",
        {"p": community_code + "%"}).scalar_one()
    start = int(top[12:]) + 1 if top else 1
    if start + n - 1 > 999:
        raise InvalidInput(f"community {community_code} has no free grid codes left")
    return [f"{community_code}{i:03d}" for i in range(start, start + n)]


@operation("splitGrid", SplitGrid)
def split_grid(conn: Connection, ctx: OpContext, cmd: SplitGrid) -> list[str]:
    try:
        line = parse_line(cmd.line, crs=cmd.crs_value, max_vertices=ctx.settings.edit_max_vertices)
    except GeometryProblem as exc:
        raise problem(exc, grid=cmd.grid) from None
    grid = unit_by_code(conn, "grid", cmd.grid, lock=True)
    require_scope_for_moves(ctx.principal, [(grid["code"], grid["station_code"], None)])
    old = grid_geoms(conn, ids=[grid["id"]])[grid["code"]][1]
    try:
        pieces = reshape.split(old, line)
    except GeometryProblem as exc:
        raise problem(exc, grid=grid["code"]) from None
    community = conn.exec_driver_sql("SELECT code FROM community WHERE id = %(c)s",
                                     {"c": grid["community_id"]}).scalar_one()
    new_codes = cmd.new_codes or next_grid_codes(conn, community, len(pieces) - 1)
    if len(new_codes) != len(pieces) - 1:
        raise InvalidInput(f"the line cuts {len(pieces)} pieces: give {len(pieces) - 1} new codes")
    write_grid_geom(conn, grid["id"], pieces[0])
    for code, piece in zip(new_codes, pieces[1:], strict=True):
        conn.exec_driver_sql(
            "INSERT INTO grid (code, name, community_id, zone_id, geom) "
            "VALUES (%(c)s, %(n)s, %(cm)s, %(z)s, ST_Multi(ST_GeomFromWKB(%(w)s, 4326)))",
            {"c": code, "n": f"{grid['name']} ({code[-3:]})", "cm": grid["community_id"],
             "z": grid["zone_id"], "w": shapely.to_wkb(piece)})
    return []


@operation("mergeGrids", MergeGrids)
def merge_grids(conn: Connection, ctx: OpContext, cmd: MergeGrids) -> list[str]:
    codes = _codes(cmd.grids, "grids", limit=ctx.settings.edit_max_grids)
    grids = units_by_code(conn, "grid", codes, lock=True)
    require_scope_for_moves(ctx.principal, [(g["code"], g["station_code"], None) for g in grids])
    if len({g["community_id"] for g in grids}) > 1:
        raise InvalidInput("grids of different communities cannot be merged",
                           details=[{"grid": g["code"], "communityId": g["community_id"]} for g in grids])
    geoms = grid_geoms(conn, ids=[g["id"] for g in grids])
    try:
        merged = reshape.merge([geoms[c][1] for c in codes])
    except GeometryProblem as exc:
        raise problem(exc, grids=codes) from None
    keep, gone = grids[0], [g["id"] for g in grids[1:]]
    for table in ("address_point", "incident", "assignment"):
        conn.exec_driver_sql(f"UPDATE {table} SET grid_id = %(k)s WHERE grid_id = ANY(%(g)s)",
                             {"k": keep["id"], "g": gone})
    conn.exec_driver_sql("DELETE FROM grid WHERE id = ANY(%(g)s)", {"g": gone})
    write_grid_geom(conn, keep["id"], merged)
    return []
