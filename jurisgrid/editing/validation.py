"""The one layer that checks the domain data an edit brings in, before the operation runs.

Every edit — direct, dry run, or scheduled (both when it is scheduled and again when it takes
effect) — passes :func:`validate` in ``execute.execute``, so no resolver checks these itself:

- **codes** of new units follow their format (``EditSettings.edit_*_code_format``: a regular
  expression in which ``{county}``, ``{township}``, ``{station}``, ``{community}`` stand for
  the parent's code), so a code is always under its parent: a zone ``<station>Z<nn>``, a
  community ``<township><nnn>``, a grid (15 digits) ``<community><nnn>`` — ``splitGrid``'s
  ``newCodes`` included — and a person ``P<nnnnnn>``. → ``INVALID_CODE``
- **a new code is free**: a station, zone, community, grid, address point or incident code
  that already exists is refused here by name (and a unique violation the database still
  raises maps to the same error, editing/execute.map_db_error). → ``DUPLICATE_CODE``
- **names** (and an address point's address) are not empty and hold no control characters.
  → ``INVALID_NAME``
- **points** an edit creates or moves (address points, incidents, a station's seat) lie in
  the county outline. → ``OUTSIDE_COUNTY``

Each refusal is a :class:`jurisgrid.errors.RuleViolation` (a ValidationError in GraphQL) with
the rule as its code and the offending field in ``details``; nothing is written. A parent
that does not exist is left to the operation, which raises NotFound naming it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from jurisgrid import codes
from jurisgrid.config import EditSettings
from jurisgrid.errors import InvalidInput, RuleViolation
from jurisgrid.geo.crs import CoordinateError, Crs, UnknownCrs, check_lonlat, to_wgs84

Rule = Callable[[Connection, dict[str, Any], EditSettings], None]
PLACEHOLDERS = codes.PLACEHOLDERS


def crs_arg(args: dict[str, Any]) -> Crs:
    try:
        return Crs.parse(args.get("crs") or "WGS84")
    except UnknownCrs as exc:
        raise InvalidInput(str(exc)) from None


def point_arg(args: dict[str, Any]) -> tuple[float, float] | None:
    """``(lon, lat)`` in WGS 84 from ``args`` (lon/lat in ``args["crs"]``), or None if absent."""
    if args.get("lon") is None and args.get("lat") is None:
        return None
    try:
        lon, lat = float(args["lon"]), float(args["lat"])
        check_lonlat(lon, lat)
    except (KeyError, TypeError, ValueError, CoordinateError) as exc:
        raise InvalidInput(f"lon/lat: {exc}") from None
    x, y = to_wgs84(crs_arg(args), lon, lat)
    return float(x), float(y)


# -- the rules ----------------------------------------------------------------------------------
def code_pattern(template: str, **parents: str) -> re.Pattern[str] | None:
    """The format ``template`` with the parents' codes put in (escaped); None: not checked."""
    return codes.pattern(template, **parents)


def check_code(kind: str, field: str, code: Any, template: str, **parents: str) -> None:
    """INVALID_CODE unless ``code`` has its format under ``parents`` (jurisgrid/codes.py, the
    one place the formats are checked — the import and ``jurisgrid load`` use it too)."""
    why = codes.problem(kind, code, template, **parents)
    if why is not None:
        raise RuleViolation("INVALID_CODE", f"{field}: {why}",
                            details=[{"field": field, "kind": kind, "code": code, "format": template,
                                      **parents}])


def check_text(field: str, value: Any, *, required: bool) -> None:
    """Not empty (when given or ``required``), no control characters."""
    if value is None and not required:
        return
    if not isinstance(value, str) or not value.strip():
        raise RuleViolation("INVALID_NAME", f"{field} must not be empty",
                            details=[{"field": field, "value": value}])
    bad = sorted({f"U+{ord(c):04X}" for c in value
                  if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn")})
    if bad:
        raise RuleViolation("INVALID_NAME", f"{field} contains control characters ({', '.join(bad)})",
                            details=[{"field": field, "characters": bad}])


_TABLE_WORD = {"address_point": "address point"}


def check_free(conn: Connection, table: str, codes: list[str], field: str) -> None:
    taken = [c for (c,) in conn.exec_driver_sql(
        f"SELECT code FROM {table} WHERE code = ANY(%(c)s) ORDER BY code", {"c": codes})]
    if taken:
        raise RuleViolation("DUPLICATE_CODE", f"{_TABLE_WORD.get(table, table)} code "
                            f"{', '.join(taken)} already exists",
                            details=[{"field": field, "kind": table, "code": c} for c in taken])


def check_in_county(conn: Connection, args: dict[str, Any], field: str) -> None:
    pt = point_arg(args)
    if pt is None:
        return
    inside = conn.exec_driver_sql(
        "SELECT EXISTS (SELECT 1 FROM county WHERE ST_Covers(geom, "
        "ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326)))", {"x": pt[0], "y": pt[1]}).scalar_one()
    if not inside:
        raise RuleViolation("OUTSIDE_COUNTY", f"{field} ({pt[0]:.6f}, {pt[1]:.6f}) lies outside the "
                            "county", details=[{"field": field, "lon": pt[0], "lat": pt[1]}])


def _one(conn: Connection, sql: str, value: Any) -> Any:
    return conn.exec_driver_sql(sql, {"v": value}).scalar_one_or_none() if value is not None else None


# -- per operation ------------------------------------------------------------------------------
def _create_station(conn: Connection, a: dict[str, Any], s: EditSettings) -> None:
    county = _one(conn, "SELECT c.code FROM sector x JOIN county c ON c.id = x.county_id "
                        "WHERE x.code = %(v)s", a.get("sector"))
    check_code("station", "code", a.get("code"), s.edit_station_code_format, county=county)
    check_text("name", a.get("name"), required=True)
    check_text("address", a.get("address"), required=False)
    check_free(conn, "station", [a["code"]], "code")
    check_in_county(conn, a, "seat")


def _update_station(conn: Connection, a: dict[str, Any], s: EditSettings) -> None:
    check_text("name", a.get("name"), required=False)
    check_text("address", a.get("address"), required=False)
    check_in_county(conn, a, "seat")


def _create_zone(conn: Connection, a: dict[str, Any], s: EditSettings) -> None:
    station = _one(conn, "SELECT code FROM station WHERE code = %(v)s", a.get("station"))
    check_code("zone", "code", a.get("code"), s.edit_zone_code_format, station=station)
    check_text("name", a.get("name"), required=True)
    check_free(conn, "zone", [a["code"]], "code")


def _create_community(conn: Connection, a: dict[str, Any], s: EditSettings) -> None:
    township = _one(conn, "SELECT code FROM township WHERE code = %(v)s", a.get("township"))
    check_code("community", "code", a.get("code"), s.edit_community_code_format, township=township)
    check_text("name", a.get("name"), required=True)
    check_free(conn, "community", [a["code"]], "code")


def _rename(conn: Connection, a: dict[str, Any], s: EditSettings) -> None:
    check_text("name", a.get("name"), required=False)


def _split_grid(conn: Connection, a: dict[str, Any], s: EditSettings) -> None:
    codes = a.get("newCodes")
    if not codes:
        return  # the next free codes of the grid's community are taken
    if not isinstance(codes, list):
        raise InvalidInput("newCodes must be a list of grid codes")
    community = _one(conn, "SELECT c.code FROM grid g JOIN community c ON c.id = g.community_id "
                           "WHERE g.code = %(v)s", a.get("grid"))
    for code in codes:
        check_code("grid", "newCodes", code, s.edit_grid_code_format, community=community)
    if len(set(codes)) != len(codes):
        raise RuleViolation("DUPLICATE_CODE", "newCodes: a code is listed twice",
                            details=[{"field": "newCodes", "codes": codes}])
    check_free(conn, "grid", codes, "newCodes")


def _assignment(conn: Connection, a: dict[str, Any], s: EditSettings) -> None:
    if "person" in a:
        check_code("person", "person", a.get("person"), s.edit_person_code_format)


def _point(table: str, text_field: str | None, *, create: bool) -> Rule:
    def rule(conn: Connection, a: dict[str, Any], s: EditSettings) -> None:
        if create:
            check_text("code", a.get("code"), required=True)
        if text_field is not None:
            check_text(text_field, a.get(text_field), required=create)
        if create:
            check_free(conn, table, [a["code"]], "code")
        check_in_county(conn, a, "the point")

    return rule


def _create_county(conn: Connection, a: dict[str, Any], s: EditSettings) -> None:
    check_code("county", "code", a.get("code"), s.edit_county_code_format)
    check_text("name", a.get("name"), required=True)
    check_free(conn, "county", [a["code"]], "code")


def _create_sector(conn: Connection, a: dict[str, Any], s: EditSettings) -> None:
    county = _one(conn, "SELECT code FROM county WHERE code = %(v)s", a.get("county"))
    check_code("sector", "code", a.get("code"), s.edit_sector_code_format, county=county)
    check_text("name", a.get("name"), required=True)
    check_free(conn, "sector", [a["code"]], "code")


def _create_township(conn: Connection, a: dict[str, Any], s: EditSettings) -> None:
    county = _one(conn, "SELECT code FROM county WHERE code = %(v)s", a.get("county"))
    check_code("township", "code", a.get("code"), s.edit_township_code_format, county=county)
    check_text("name", a.get("name"), required=True)
    check_free(conn, "township", [a["code"]], "code")
    check_in_county(conn, a, "seat")


def _create_grid(conn: Connection, a: dict[str, Any], s: EditSettings) -> None:
    community = _one(conn, "SELECT code FROM community WHERE code = %(v)s", a.get("community"))
    check_code("grid", "code", a.get("code"), s.edit_grid_code_format, community=community)
    check_text("name", a.get("name"), required=True)
    check_free(conn, "grid", [a["code"]], "code")


def _create_person(conn: Connection, a: dict[str, Any], s: EditSettings) -> None:
    check_code("person", "code", a.get("code"), s.edit_person_code_format)
    check_text("name", a.get("name"), required=True)
    check_text("phone", a.get("phone"), required=False)
    check_free(conn, "person", [a["code"]], "code")


def _update_person(conn: Connection, a: dict[str, Any], s: EditSettings) -> None:
    check_text("name", a.get("name"), required=False)
    check_text("phone", a.get("phone"), required=False)


RULES: dict[str, Rule] = {
    "createStation": _create_station,
    "updateStation": _update_station,
    "createZone": _create_zone,
    "updateZone": _rename,
    "createCommunity": _create_community,
    "updateCommunity": _rename,
    "splitGrid": _split_grid,
    "createCounty": _create_county,
    "updateCounty": _rename,
    "createSector": _create_sector,
    "updateSector": _rename,
    "createTownship": _create_township,
    "updateTownship": _rename,
    "createGrid": _create_grid,
    "updateGrid": _rename,
    "createPerson": _create_person,
    "updatePerson": _update_person,
    "createAssignment": _assignment,
    "createAddressPoint": _point("address_point", "address", create=True),
    "updateAddressPoint": _point("address_point", "address", create=False),
    "createIncident": _point("incident", None, create=True),
    "updateIncident": _point("incident", None, create=False),
}


def validate(conn: Connection, op: str, args: dict[str, Any], settings: EditSettings) -> None:
    """Raise :class:`RuleViolation` if ``args`` of ``op`` break a rule of the domain data."""
    rule = RULES.get(op)
    if rule is not None:
        rule(conn, args, settings)
