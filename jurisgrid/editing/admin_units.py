"""Create / update / retire of the units the other edit modules do not cover: counties, sectors,
townships, grids (as units: ``createGrid``, ``updateGrid``, ``retireGrid``) and persons — so
that GraphQL has complete CRUD for every unit (issue 11 item 6).

The checks are those of every edit: the typed command (editing/commands.py), the domain rules
(editing/validation.py: code formats, names, duplicates), and here what needs geometry or
references:

- **no overlap**: a new county, township or community must not overlap one of its kind; a
  new grid must not overlap another grid. The refusal names the units and the area.
- **containment**: a township lies in its county, a community in its township's county, a grid
  in its community (and so its county); the revision's closing checks the grid invariants.
- **still referenced**: a unit is deleted only when nothing refers to it; otherwise the refusal
  (``STILL_REFERENCED``) names what does, e.g. "township 511725001 is still referenced by 12
  communities (511725001001, …)".

History: communities, stations, zones, grids, persons and assignments are historised tables
(their revision history and revert come from the row triggers). Counties, sectors and
townships are not; their edits record each row before and after in ``revision.summary.units``
(:func:`note_unit`), which is what a revert restores (editing/revert.py).
"""

from __future__ import annotations

import json
from typing import Any

import shapely
from sqlalchemy import Connection

from jurisgrid.auth.checks import require_station_scope
from jurisgrid.auth.principal import Role
from jurisgrid.editing.commands import (
    ByCode,
    CreateCounty,
    CreateGrid,
    CreatePerson,
    CreateSector,
    CreateTownship,
    UpdateCounty,
    UpdateGrid,
    UpdatePerson,
    UpdateSector,
    UpdateTownship,
)
from jurisgrid.editing.grids import area_arg
from jurisgrid.editing.lookup import unit_by_code
from jurisgrid.editing.registry import OpContext, operation
from jurisgrid.editing.scope import require_county_wide
from jurisgrid.errors import InvalidGeometry, NotFound, RuleViolation
from jurisgrid.models.invariants import AREA_TOLERANCE_M2

# geometry columns of the tables noted in revision.summary.units (stored as EWKB hex)
UNIT_GEOMETRY = {"county": ("geom",), "sector": (), "township": ("seat", "geom")}
MAX_NAMED = 20


# -- shared checks -------------------------------------------------------------------------------
def refuse_if_referenced(conn: Connection, what: str, refs: list[tuple[str, str, dict[str, Any]]]) -> None:
    """``refs``: (kind in the plural, SQL selecting the referring codes, params). Refuses with
    STILL_REFERENCED naming every kind that still refers to ``what`` and its first codes."""
    found: list[dict[str, Any]] = []
    for kind, sql, params in refs:
        codes = [str(c) for (c,) in conn.exec_driver_sql(sql, params)]
        if codes:
            found.append({"kind": kind, "count": len(codes), "codes": codes[:MAX_NAMED]})
    if found:
        text = " and ".join(
            f"{f['count']} {f['kind']} ({', '.join(f['codes'][:5])}{', …' if f['count'] > 5 else ''})"
            for f in found)
        raise RuleViolation("STILL_REFERENCED", f"{what} is still referenced by {text}: "
                            "move or retire them first", details=found)


def refuse_overlap(conn: Connection, table: str, geom: Any, *, label: str,
                   exclude_id: int | None = None) -> None:
    """Refuse (OVERLAP) when ``geom`` overlaps a row of ``table`` by more than the area
    tolerance; the refusal names each such unit and the area in m²."""
    rows = conn.exec_driver_sql(
        f"SELECT code, ST_Area(ST_Intersection(geom, g)::geography) FROM {table}, "
        "ST_GeomFromWKB(%(w)s, 4326) g WHERE geom && g AND ST_Intersects(geom, g) "
        "AND id IS DISTINCT FROM %(x)s ORDER BY code",
        {"w": shapely.to_wkb(geom), "x": exclude_id}).all()
    hits = [{"kind": table, "code": c, "m2": round(float(m2), 3)} for c, m2 in rows
            if m2 is not None and m2 > AREA_TOLERANCE_M2]
    if hits:
        raise InvalidGeometry(
            f"{label} overlaps {len(hits)} {table}(s): "
            + ", ".join(f"{h['code']} ({h['m2']} m²)" for h in hits[:MAX_NAMED]),
            details=[{"problem": "OVERLAP", **h} for h in hits[:50]])


def refuse_outside(conn: Connection, outer_sql: str, params: dict[str, Any], geom: Any, *,
                   label: str, outer: str) -> None:
    """Refuse (OUTSIDE) when more than the area tolerance of ``geom`` lies outside the
    geometry ``outer_sql`` selects."""
    m2 = conn.exec_driver_sql(
        f"SELECT ST_Area(ST_Difference(ST_GeomFromWKB(%(w)s, 4326), ({outer_sql}))::geography)",
        {**params, "w": shapely.to_wkb(geom)}).scalar_one()
    if m2 is None or m2 > AREA_TOLERANCE_M2:
        shown = "all" if m2 is None else f"{m2:.3f} m²"
        raise InvalidGeometry(f"{label}: {shown} of it lie(s) outside {outer}",
                              details=[{"problem": "OUTSIDE", "outer": outer,
                                        "m2": None if m2 is None else round(float(m2), 3)}])


def _snapshot(conn: Connection, table: str, unit_id: int) -> dict[str, Any] | None:
    pairs = ", ".join(f"'{g}', encode(ST_AsEWKB(t.{g}), 'hex')" for g in UNIT_GEOMETRY[table])
    row = conn.exec_driver_sql(
        f"SELECT to_jsonb(t) || jsonb_build_object({pairs}) FROM {table} t WHERE id = %(i)s",
        {"i": unit_id}).scalar_one_or_none()
    return row if row is None else dict(row)


def note_unit(conn: Connection, table: str, unit_id: int, before: dict[str, Any] | None) -> None:
    """Record a county / sector / township row before and after in ``revision.summary.units``
    (these tables have no history of their own): the audit trail, and what a revert restores."""
    entry = {"table": table, "id": unit_id, "before": before, "after": _snapshot(conn, table, unit_id)}
    conn.exec_driver_sql(
        "UPDATE revision SET summary = jsonb_set(summary, '{units}', "
        "coalesce(summary->'units', '[]'::jsonb) || %(e)s::jsonb) "
        "WHERE id = current_setting('jurisgrid.revision')::bigint", {"e": json.dumps([entry])})


def restore_units(conn: Connection, entries: list[dict[str, Any]]) -> None:
    """Undo :func:`note_unit` entries, newest first (revert)."""
    for e in reversed(entries):
        table, uid, before = e["table"], int(e["id"]), e["before"]
        if table not in UNIT_GEOMETRY:
            continue
        if before is None:
            conn.exec_driver_sql(f"DELETE FROM {table} WHERE id = %(i)s", {"i": uid})
            continue
        conn.exec_driver_sql(
            f"INSERT INTO {table} SELECT * FROM jsonb_populate_record(NULL::{table}, %(b)s::jsonb) "
            f"ON CONFLICT (id) DO UPDATE SET ({_cols(conn, table)}) = "
            f"ROW({_cols(conn, table, prefix='EXCLUDED.')})", {"b": json.dumps(before)})


def _cols(conn: Connection, table: str, prefix: str = "") -> str:
    cols = [c for (c,) in conn.exec_driver_sql(
        "SELECT attname FROM pg_attribute WHERE attrelid = %(t)s::regclass AND attnum > 0 "
        "AND NOT attisdropped AND attname <> 'id' ORDER BY attnum", {"t": table})]
    return ", ".join(prefix + c for c in cols)


def _by_code(conn: Connection, table: str, code: str, *, lock: bool = True) -> dict[str, Any]:
    row = conn.exec_driver_sql(f"SELECT * FROM {table} WHERE code = %(c)s"
                               + (" FOR UPDATE" if lock else ""), {"c": code}).mappings().one_or_none()
    if row is None:
        raise NotFound(f"unknown {table} code {code}", details=[{"kind": table, "code": code}])
    return dict(row)


def _set(conn: Connection, table: str, unit_id: int, values: dict[str, Any]) -> None:
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        raise RuleViolation("NOTHING_TO_UPDATE", "nothing to update: give at least one field")
    sets = ", ".join(f"{k} = %({k})s" for k in given)
    conn.exec_driver_sql(f"UPDATE {table} SET {sets} WHERE id = %(id_)s", {**given, "id_": unit_id})


def _area(cmd: Any, ctx: OpContext, **where: Any) -> tuple[Any, list[str]]:
    checked = area_arg(cmd, ctx, **where)
    return checked.geom, checked.repairs


def _update_unhistorised(conn: Connection, table: str, code: str, values: dict[str, Any]) -> list[str]:
    """Change a county, sector or township (no history tables): the row before is kept in the
    revision's summary (note_unit), from which revert restores it."""
    row = _by_code(conn, table, code)
    before = _snapshot(conn, table, row["id"])
    _set(conn, table, row["id"], values)
    note_unit(conn, table, row["id"], before)
    return []


def _retire_unhistorised(conn: Connection, table: str, code: str,
                         referenced_by: list[tuple[str, str]]) -> list[str]:
    """Delete a county, sector or township nothing refers to (``referenced_by``: what, and the
    SQL listing its codes for ``%(i)s``, the unit's id), keeping the row in the summary."""
    row = _by_code(conn, table, code)
    p = {"i": row["id"]}
    refuse_if_referenced(conn, f"{table} {code}", [(what, sql, p) for what, sql in referenced_by])
    before = _snapshot(conn, table, row["id"])
    conn.exec_driver_sql(f"DELETE FROM {table} WHERE id = %(i)s", p)  # table: ours, not input
    note_unit(conn, table, row["id"], before)
    return []


# -- counties ------------------------------------------------------------------------------------
@operation("createCounty", CreateCounty, Role.ADMIN)
def create_county(conn: Connection, ctx: OpContext, cmd: CreateCounty) -> list[str]:
    require_county_wide(ctx.principal, "a new county")
    geom, repairs = _area(cmd, ctx, county=cmd.code)
    refuse_overlap(conn, "county", geom, label=f"county {cmd.code}")
    uid = conn.exec_driver_sql(
        "INSERT INTO county (code, name, geom) VALUES (%(c)s, %(n)s, "
        "ST_Multi(ST_GeomFromWKB(%(w)s, 4326))) RETURNING id",
        {"c": cmd.code, "n": cmd.name, "w": shapely.to_wkb(geom)}).scalar_one()
    note_unit(conn, "county", uid, None)
    return repairs


@operation("updateCounty", UpdateCounty, Role.ADMIN)
def update_county(conn: Connection, ctx: OpContext, cmd: UpdateCounty) -> list[str]:
    require_county_wide(ctx.principal, "a county")
    return _update_unhistorised(conn, "county", cmd.code, {"name": cmd.name})


@operation("retireCounty", ByCode, Role.ADMIN)
def retire_county(conn: Connection, ctx: OpContext, cmd: ByCode) -> list[str]:
    require_county_wide(ctx.principal, "a county")
    return _retire_unhistorised(conn, "county", cmd.code, [
        ("sectors", "SELECT code FROM sector WHERE county_id = %(i)s ORDER BY code"),
        ("townships", "SELECT code FROM township WHERE county_id = %(i)s ORDER BY code")])


# -- sectors (警务片区 / 分局: the level between county and station) -------------------------------
@operation("createSector", CreateSector, Role.ADMIN)
def create_sector(conn: Connection, ctx: OpContext, cmd: CreateSector) -> list[str]:
    require_county_wide(ctx.principal, "a new sector")
    county = _by_code(conn, "county", cmd.county, lock=False)
    uid = conn.exec_driver_sql(
        "INSERT INTO sector (code, name, county_id) VALUES (%(c)s, %(n)s, %(k)s) RETURNING id",
        {"c": cmd.code, "n": cmd.name, "k": county["id"]}).scalar_one()
    note_unit(conn, "sector", uid, None)
    return []


@operation("updateSector", UpdateSector, Role.ADMIN)
def update_sector(conn: Connection, ctx: OpContext, cmd: UpdateSector) -> list[str]:
    require_county_wide(ctx.principal, "a sector")
    return _update_unhistorised(conn, "sector", cmd.code, {"name": cmd.name})


@operation("retireSector", ByCode, Role.ADMIN)
def retire_sector(conn: Connection, ctx: OpContext, cmd: ByCode) -> list[str]:
    require_county_wide(ctx.principal, "a sector")
    return _retire_unhistorised(conn, "sector", cmd.code, [
        ("stations", "SELECT code FROM station WHERE sector_id = %(i)s ORDER BY code")])


# -- townships (乡镇/街道) -----------------------------------------------------------------------
@operation("createTownship", CreateTownship, Role.ADMIN)
def create_township(conn: Connection, ctx: OpContext, cmd: CreateTownship) -> list[str]:
    require_county_wide(ctx.principal, "a new township")
    county = _by_code(conn, "county", cmd.county, lock=False)
    geom, repairs = _area(cmd, ctx, township=cmd.code)
    refuse_outside(conn, "SELECT geom FROM county WHERE id = %(k)s", {"k": county["id"]}, geom,
                   label=f"township {cmd.code}", outer=f"county {cmd.county}")
    refuse_overlap(conn, "township", geom, label=f"township {cmd.code}")
    seat = cmd.point()
    uid = conn.exec_driver_sql(
        "INSERT INTO township (code, name, kind, county_id, seat, geom) VALUES (%(c)s, %(n)s, "
        "%(kd)s, %(k)s, CASE WHEN %(x)s::float8 IS NULL THEN NULL ELSE "
        "ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326) END, ST_Multi(ST_GeomFromWKB(%(w)s, 4326))) "
        "RETURNING id",
        {"c": cmd.code, "n": cmd.name, "kd": cmd.kind, "k": county["id"],
         "x": seat[0] if seat else None, "y": seat[1] if seat else None,
         "w": shapely.to_wkb(geom)}).scalar_one()
    note_unit(conn, "township", uid, None)
    return repairs


@operation("updateTownship", UpdateTownship, Role.ADMIN)
def update_township(conn: Connection, ctx: OpContext, cmd: UpdateTownship) -> list[str]:
    require_county_wide(ctx.principal, "a township")
    return _update_unhistorised(conn, "township", cmd.code, {"name": cmd.name, "kind": cmd.kind})


@operation("retireTownship", ByCode, Role.ADMIN)
def retire_township(conn: Connection, ctx: OpContext, cmd: ByCode) -> list[str]:
    require_county_wide(ctx.principal, "a township")
    return _retire_unhistorised(conn, "township", cmd.code, [
        ("communities", "SELECT code FROM community WHERE township_id = %(i)s ORDER BY code")])


# -- grids as units ------------------------------------------------------------------------------
@operation("createGrid", CreateGrid)
def create_grid(conn: Connection, ctx: OpContext, cmd: CreateGrid) -> list[str]:
    """A grid on land no grid covers yet (a county being built up): inside its community,
    overlapping no grid. Where grids already tile the county, splitGrid makes new grids."""
    community = unit_by_code(conn, "community", cmd.community)
    zone = unit_by_code(conn, "zone", cmd.zone)
    require_station_scope(ctx.principal, [zone["station_code"]])
    geom, repairs = _area(cmd, ctx, grid=cmd.code)
    refuse_outside(conn, "SELECT geom FROM community WHERE id = %(c)s", {"c": community["id"]},
                   geom, label=f"grid {cmd.code}", outer=f"community {cmd.community}")
    refuse_outside(conn, "SELECT ST_Union(geom) FROM county", {}, geom,
                   label=f"grid {cmd.code}", outer="the county")
    refuse_overlap(conn, "grid", geom, label=f"grid {cmd.code}")
    conn.exec_driver_sql(
        "INSERT INTO grid (code, name, community_id, zone_id, geom) VALUES (%(c)s, %(n)s, %(cm)s, "
        "%(z)s, ST_Multi(ST_GeomFromWKB(%(w)s, 4326)))",
        {"c": cmd.code, "n": cmd.name, "cm": community["id"], "z": zone["id"],
         "w": shapely.to_wkb(geom)})
    return repairs


@operation("updateGrid", UpdateGrid)
def update_grid(conn: Connection, ctx: OpContext, cmd: UpdateGrid) -> list[str]:
    """The grid's name (its zone: reassignGrids; its shape: redrawGrid)."""
    grid = unit_by_code(conn, "grid", cmd.code, lock=True)
    require_station_scope(ctx.principal, [grid["station_code"]])
    _set(conn, "grid", grid["id"], {"name": cmd.name})
    return []


@operation("retireGrid", ByCode)
def retire_grid(conn: Connection, ctx: OpContext, cmd: ByCode) -> list[str]:
    """Delete a grid nothing refers to. Where grids tile the county the revision's coverage
    check refuses the gap it would leave (merge it into a neighbour instead: mergeGrids)."""
    grid = unit_by_code(conn, "grid", cmd.code, lock=True)
    require_station_scope(ctx.principal, [grid["station_code"]])
    p = {"i": grid["id"]}
    refuse_if_referenced(conn, f"grid {cmd.code}", [
        ("address points", "SELECT code FROM address_point WHERE grid_id = %(i)s ORDER BY code", p),
        ("incidents", "SELECT code FROM incident WHERE grid_id = %(i)s ORDER BY code", p),
        ("assignments", "SELECT id FROM assignment WHERE grid_id = %(i)s ORDER BY id", p),
    ])
    conn.exec_driver_sql("DELETE FROM grid WHERE id = %(i)s", p)
    return []


# -- persons -------------------------------------------------------------------------------------
@operation("createPerson", CreatePerson)
def create_person(conn: Connection, ctx: OpContext, cmd: CreatePerson) -> list[str]:
    """A person is under no station until assigned: county-wide principals only."""
    require_county_wide(ctx.principal, "a new person")
    conn.exec_driver_sql("INSERT INTO person (code, name, phone) VALUES (%(c)s, %(n)s, %(p)s)",
                         {"c": cmd.code, "n": cmd.name, "p": cmd.phone})
    return []


def _person_scope(conn: Connection, ctx: OpContext, person_id: int, code: str) -> None:
    """A station-scoped principal changes only a person whose current assignments are all in
    its station, a county-scoped one a person assigned only in its county (a person with none:
    unscoped principals only)."""
    if not ctx.principal.is_scoped:
        return
    stations = [s for (s,) in conn.exec_driver_sql(
        "SELECT DISTINCT s.code FROM assignment a JOIN station s ON s.id = a.station_id "
        "WHERE a.person_id = %(p)s AND a.valid_to IS NULL ORDER BY 1", {"p": person_id})]
    if not stations:
        require_county_wide(ctx.principal, f"person {code} (no current assignment)")
    require_station_scope(ctx.principal, stations)  # a county-scoped one: all in its county
    if len(stations) > 1 and ctx.principal.station_code is not None:
        require_county_wide(ctx.principal, f"person {code} (assigned in {', '.join(stations)})")


@operation("updatePerson", UpdatePerson)
def update_person(conn: Connection, ctx: OpContext, cmd: UpdatePerson) -> list[str]:
    row = _by_code(conn, "person", cmd.code)
    _person_scope(conn, ctx, row["id"], cmd.code)
    _set(conn, "person", row["id"], {"name": cmd.name, "phone": cmd.phone})
    return []


@operation("retirePerson", ByCode, Role.ADMIN)
def retire_person(conn: Connection, ctx: OpContext, cmd: ByCode) -> list[str]:
    """Delete a person who was never assigned (one with assignments keeps their history:
    end the assignments instead, retireAssignment)."""
    row = _by_code(conn, "person", cmd.code)
    _person_scope(conn, ctx, row["id"], cmd.code)
    refuse_if_referenced(conn, f"person {cmd.code}", [
        ("assignments", "SELECT a.id || ' (' || s.code || ', ' || a.role || ')' FROM assignment a "
                        "JOIN station s ON s.id = a.station_id WHERE a.person_id = %(i)s ORDER BY a.id",
         {"i": row["id"]})])
    conn.exec_driver_sql("DELETE FROM person WHERE id = %(i)s", {"i": row["id"]})
    return []
