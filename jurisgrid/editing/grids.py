"""Edit operations on the policing geography: reassign grids or a community to a zone, move a
zone to a station, redraw, split and merge grids."""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import Connection

from jurisgrid.auth.checks import require_scope_for_moves
from jurisgrid.editing.lookup import (
    community_outline,
    county_outline,
    grid_geoms,
    unit_by_code,
    units_by_code,
    write_grid_geom,
)
from jurisgrid.editing.registry import OpContext, operation
from jurisgrid.editing.validation import crs_arg
from jurisgrid.errors import InvalidGeometry, InvalidInput
from jurisgrid.geo import reshape
from jurisgrid.geo.validate import Checked, GeometryProblem, parse_line, validate_area


def problem(exc: GeometryProblem, **where: Any) -> InvalidGeometry:
    return InvalidGeometry(str(exc), details=[{**where, **exc.detail}])


def area_arg(args: dict[str, Any], ctx: OpContext, **where: Any) -> Checked:
    """``args["geometry"]`` validated (or repaired when ``args["repair"]``) as an area."""
    try:
        return validate_area(args.get("geometry"), crs=crs_arg(args),
                             max_vertices=ctx.settings.edit_max_vertices,
                             repair=bool(args.get("repair")))
    except GeometryProblem as exc:
        raise problem(exc, **where) from None


def _codes(args: dict[str, Any], key: str, *, limit: int) -> list[str]:
    codes = args.get(key) or []
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes) or not codes:
        raise InvalidInput(f"{key} must be a non-empty list of codes")
    if len(codes) > limit:
        raise InvalidInput(f"{key}: at most {limit} per edit, got {len(codes)}")
    if len(set(codes)) != len(codes):
        raise InvalidInput(f"{key}: a code is listed twice")
    return codes


def _move_grids(conn: Connection, ctx: OpContext, grids: list[dict[str, Any]], zone_code: str) -> None:
    zone = unit_by_code(conn, "zone", zone_code)
    require_scope_for_moves(ctx.principal, [(g["code"], g["station_code"], zone["station_code"])
                                            for g in grids])
    ids = [g["id"] for g in grids if g["zone_id"] != zone["id"]]
    if ids:
        conn.exec_driver_sql("UPDATE grid SET zone_id = %(z)s WHERE id = ANY(%(i)s)",
                             {"z": zone["id"], "i": ids})


@operation("reassignGrids")
def reassign_grids(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    codes = _codes(args, "grids", limit=ctx.settings.edit_max_grids)
    grids = units_by_code(conn, "grid", codes, lock=True)
    _move_grids(conn, ctx, grids, args["toZone"])
    return []


@operation("reassignCommunity")
def reassign_community(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    community = unit_by_code(conn, "community", args["community"])
    codes = [c for (c,) in conn.exec_driver_sql(
        "SELECT code FROM grid WHERE community_id = %(c)s ORDER BY code", {"c": community["id"]})]
    if not codes:
        raise InvalidInput(f"community {community['code']} has no grids")
    _move_grids(conn, ctx, units_by_code(conn, "grid", codes, lock=True), args["toZone"])
    return []


@operation("moveZone")
def move_zone(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    zone = unit_by_code(conn, "zone", args["zone"], lock=True)
    station = unit_by_code(conn, "station", args["toStation"])
    grids = conn.exec_driver_sql("SELECT code FROM grid WHERE zone_id = %(z)s", {"z": zone["id"]}).all()
    require_scope_for_moves(ctx.principal, [(g.code, zone["station_code"], station["code"])
                                            for g in grids] or
                            [(zone["code"], zone["station_code"], station["code"])])
    conn.exec_driver_sql("UPDATE zone SET station_id = %(s)s WHERE id = %(z)s",
                         {"s": station["id"], "z": zone["id"]})
    return []


@operation("redrawGrid")
def redraw_grid(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    checked = area_arg(args, ctx, grid=args.get("grid"))
    grid = unit_by_code(conn, "grid", args["grid"], lock=True)
    give_to = args.get("giveTo")
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


@operation("splitGrid")
def split_grid(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    try:
        line = parse_line(args.get("line"), crs=crs_arg(args), max_vertices=ctx.settings.edit_max_vertices)
    except GeometryProblem as exc:
        raise problem(exc, grid=args.get("grid")) from None
    grid = unit_by_code(conn, "grid", args["grid"], lock=True)
    require_scope_for_moves(ctx.principal, [(grid["code"], grid["station_code"], None)])
    old = grid_geoms(conn, ids=[grid["id"]])[grid["code"]][1]
    try:
        pieces = reshape.split(old, line)
    except GeometryProblem as exc:
        raise problem(exc, grid=grid["code"]) from None
    community = conn.exec_driver_sql("SELECT code FROM community WHERE id = %(c)s",
                                     {"c": grid["community_id"]}).scalar_one()
    new_codes = args.get("newCodes") or next_grid_codes(conn, community, len(pieces) - 1)
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


@operation("mergeGrids")
def merge_grids(conn: Connection, ctx: OpContext, args: dict[str, Any]) -> list[str]:
    codes = _codes(args, "grids", limit=ctx.settings.edit_max_grids)
    if len(codes) < 2:
        raise InvalidInput("merge needs at least two grids")
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
