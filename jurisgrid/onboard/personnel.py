"""Build step: persons and their assignments (jurisgrid/onboard/build.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from jurisgrid.onboard.derive import ROLES, Context, check_unique, codes_by_name, lookup_code
from jurisgrid.onboard.plan import (
    Assignment,
    Person,
    Plan,
)
from jurisgrid.onboard.readers import Table

# --- personnel ------------------------------------------------------------------------------------


def build_persons(ctx: Context, tables: dict[str, Table], plan: Plan) -> None:
    st = {s.code: s for s in plan.stations}
    st_name = codes_by_name(plan.stations)
    zs = {z.code: z for z in plan.zones}
    z_name = codes_by_name(plan.zones)
    cs = {c.code: c for c in plan.communities}
    c_name = codes_by_name(plan.communities)
    gs = {g.code for g in plan.grids}

    def assignment(t: Table, i: int, person: str) -> Assignment | None:
        role_raw = t.text(i, "role")
        role = ROLES.get((role_raw or "officer").strip().lower().replace(" ", ""))
        if role is None:
            ctx.bad(
                t,
                i,
                f"role {role_raw!r} is not one of 所长, 教导员, 副所长, 民警, 社区民警, 辅警, 网格员 "
                "(or chief, instructor, deputy_chief, officer, community_officer, auxiliary, grid_worker)",
                "role",
                person,
            )
            return None
        station = lookup_code(st, st_name, t.text(i, "station"))
        zone = lookup_code(zs, z_name, t.text(i, "zone"))
        community = lookup_code(cs, c_name, t.text(i, "community"))
        grid = t.text(i, "grid")
        for f, given, found in (
            ("station", t.text(i, "station"), station),
            ("zone", t.text(i, "zone"), zone),
            ("community", t.text(i, "community"), community),
        ):
            if given is not None and found is None:
                ctx.bad(t, i, f"unknown {f} {given!r}", f, person)
                return None
        if grid is not None and grid not in gs:
            ctx.bad(t, i, f"unknown grid {grid!r}", "grid", person)
            return None
        if station is None and zone is not None:
            station = zs[zone].station
        if station is None:
            return None
        if zone is not None and zs[zone].station != station:
            ctx.bad(t, i, f"zone {zone} belongs to station {zs[zone].station}, not {station}", "zone", person)
            return None
        frm = _date(ctx, t, i, "valid_from", person) or ctx.now
        to = _date(ctx, t, i, "valid_to", person)
        return Assignment(person, role, station, zone, community, grid, frm, to)

    codes: set[str] = set()
    if "persons" in tables:
        t = tables["persons"]
        for i in range(len(t)):
            code, name = t.text(i, "code"), t.text(i, "name")
            if not check_unique(ctx, t, i, "persons", code):
                continue
            assert code is not None
            if name is None:
                ctx.bad(t, i, "name is missing", "name", code)
                continue
            plan.persons.append(Person(code, name, t.text(i, "phone")))
            codes.add(code)
            if "assignments" not in tables and (t.has("station") or t.has("zone")):
                n_bad = len(ctx.report.bad)
                a = assignment(t, i, code)
                if a is not None:
                    plan.assignments.append(a)
                elif len(ctx.report.bad) == n_bad and (t.text(i, "station") or t.text(i, "zone")) is None:
                    pass  # a person with no station: no assignment
    if "assignments" in tables:
        t = tables["assignments"]
        for i in range(len(t)):
            person = t.text(i, "person")
            if person is None or person not in codes:
                ctx.bad(
                    t, i, f"unknown person {person!r}" if person else "person is missing", "person", person
                )
                continue
            if t.text(i, "station") is None and t.text(i, "zone") is None:
                ctx.bad(t, i, "an assignment needs a station or a zone", "station", person)
                continue
            a = assignment(t, i, person)
            if a is not None:
                plan.assignments.append(a)


def _date(ctx: Context, t: Table, i: int, f: str, code: str) -> datetime | None:
    v = t.value(i, f)
    if v is None:
        return None
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=ZoneInfo(ctx.manifest.time_zone))
    s = str(v).strip().replace("/", "-")
    try:
        d = datetime.fromisoformat(s)
    except ValueError:
        ctx.bad(t, i, f"{f} {v!r} is not a date (e.g. 2025-01-01)", f, code)
        return None
    return d if d.tzinfo else d.replace(tzinfo=ZoneInfo(ctx.manifest.time_zone))
