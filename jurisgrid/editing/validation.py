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
from jurisgrid.editing.commands import (
    CreateAssignment,
    CreatePerson,
    CreateStation,
    SplitGrid,
    UpdatePerson,
    UpdateStation,
)
from jurisgrid.errors import RuleViolation

# a rule reads the operation's typed command (editing/commands.py)
Rule = Callable[[Connection, Any, EditSettings], None]
PLACEHOLDERS = codes.PLACEHOLDERS


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


def check_in_county(conn: Connection, cmd: Any, field: str) -> None:
    """OUTSIDE_COUNTY unless the command's point (``cmd.point()``, WGS 84) lies in a county."""
    pt = cmd.point()
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
def _create_station(conn: Connection, a: CreateStation, s: EditSettings) -> None:
    county = _one(conn, "SELECT c.code FROM sector x JOIN county c ON c.id = x.county_id "
                        "WHERE x.code = %(v)s", a.sector)
    check_code("station", "code", a.code, s.edit_station_code_format, county=county)
    check_text("name", a.name, required=True)
    check_text("address", a.address, required=False)
    check_free(conn, "station", [a.code], "code")
    check_in_county(conn, a, "seat")


def _update_station(conn: Connection, a: UpdateStation, s: EditSettings) -> None:
    check_text("name", a.name, required=False)
    check_text("address", a.address, required=False)
    check_in_county(conn, a, "seat")


def _new_unit(kind: str, parent: str | None = None, *, seat: bool = False) -> Rule:
    """A new county, sector, township, community, zone or grid: its code in the kind's format
    under its parent's code (the parent's code is the command's field of that name), a name,
    a code not taken — and, for a township, its seat inside the county."""
    def rule(conn: Connection, a: Any, s: EditSettings) -> None:
        parents = {} if parent is None else {parent: _one(
            conn, f"SELECT code FROM {parent} WHERE code = %(v)s", getattr(a, parent))}
        check_code(kind, "code", a.code, getattr(s, f"edit_{kind}_code_format"), **parents)
        check_text("name", a.name, required=True)
        check_free(conn, kind, [a.code], "code")
        if seat:
            check_in_county(conn, a, "seat")

    return rule


def _rename(conn: Connection, a: Any, s: EditSettings) -> None:
    check_text("name", a.name, required=False)


def _split_grid(conn: Connection, a: SplitGrid, s: EditSettings) -> None:
    new = a.new_codes
    if not new:
        return  # the next free codes of the grid's community are taken
    community = _one(conn, "SELECT c.code FROM grid g JOIN community c ON c.id = g.community_id "
                           "WHERE g.code = %(v)s", a.grid)
    for code in new:
        check_code("grid", "newCodes", code, s.edit_grid_code_format, community=community)
    if len(set(new)) != len(new):
        raise RuleViolation("DUPLICATE_CODE", "newCodes: a code is listed twice",
                            details=[{"field": "newCodes", "codes": new}])
    check_free(conn, "grid", new, "newCodes")


def _assignment(conn: Connection, a: CreateAssignment, s: EditSettings) -> None:
    if a.person is not None:
        check_code("person", "person", a.person, s.edit_person_code_format)


def _point(table: str, text_field: str | None, *, create: bool) -> Rule:
    def rule(conn: Connection, a: Any, s: EditSettings) -> None:
        if create:
            check_text("code", a.code, required=True)
        if text_field is not None:
            check_text(text_field, getattr(a, text_field), required=create)
        if create:
            check_free(conn, table, [a.code], "code")
        check_in_county(conn, a, "the point")

    return rule


def _create_person(conn: Connection, a: CreatePerson, s: EditSettings) -> None:
    check_code("person", "code", a.code, s.edit_person_code_format)
    check_text("name", a.name, required=True)
    check_text("phone", a.phone, required=False)
    check_free(conn, "person", [a.code], "code")


def _update_person(conn: Connection, a: UpdatePerson, s: EditSettings) -> None:
    check_text("name", a.name, required=False)
    check_text("phone", a.phone, required=False)


RULES: dict[str, Rule] = {
    "createStation": _create_station,
    "updateStation": _update_station,
    "createZone": _new_unit("zone", "station"),
    "updateZone": _rename,
    "createCommunity": _new_unit("community", "township"),
    "updateCommunity": _rename,
    "splitGrid": _split_grid,
    "createCounty": _new_unit("county"),
    "updateCounty": _rename,
    "createSector": _new_unit("sector", "county"),
    "updateSector": _rename,
    "createTownship": _new_unit("township", "county", seat=True),
    "updateTownship": _rename,
    "createGrid": _new_unit("grid", "community"),
    "updateGrid": _rename,
    "createPerson": _create_person,
    "updatePerson": _update_person,
    "createAssignment": _assignment,
    "createAddressPoint": _point("address_point", "address", create=True),
    "updateAddressPoint": _point("address_point", "address", create=False),
    "createIncident": _point("incident", None, create=True),
    "updateIncident": _point("incident", None, create=False),
}


def validate(conn: Connection, op: str, cmd: Any, settings: EditSettings) -> None:
    """Raise :class:`RuleViolation` if the command ``cmd`` of ``op`` (editing/commands.py: typed
    attributes) breaks a rule of the domain data."""
    rule = RULES.get(op)
    if rule is not None:
        rule(conn, cmd, settings)
