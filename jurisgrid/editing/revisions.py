"""Revisions: every committed change of the jurisdiction data is one ``revision`` row.

Protocol (notes/contracts.md)::

    rid = open_revision(conn, actor=..., reason=..., kind="reassignGrids", expected_revision=n)
    ...writes to grid / zone / station / community / assignment / person / points...
    summary = close_revision(conn, rid)   # raises → the caller's transaction rolls back

Concurrency — optimistic locking by revision: ``expectedRevision`` is the newest revision id
(``currentRevision``) the client saw. ``open_revision`` first takes a transaction-scoped advisory
lock, so writers run one at a time (held until commit/rollback). If revisions committed after
the expected one, the edit still goes ahead as long as none of them changed a row this edit
changes: :func:`check_unchanged_since` compares, after the operation's own writes and before the
derived outlines are refreshed, the history of every row the edit wrote with the revisions
committed since. Of two clients that saw the same revision and edit the same grid (or zone,
station, community, person, assignment) at once, exactly one commits; the other waits on the
lock, then gets the Conflict naming the units and the revisions that changed them. Edits of
different units from the same revision both commit — the outlines they share are derived and
recomputed. Operations that write rows without history (address points, incidents) and revert
keep the strict rule: any later revision is a Conflict. Edits sent without ``expected_revision``
are serialised the same way, so none is lost (last writer wins on the rows both touch, each
recorded as its own revision).

Row triggers (migration 0003) write the before/after versions of the historised tables, keyed by
``jurisgrid.revision`` / ``jurisgrid.effective`` which ``open_revision`` sets with SET LOCAL.
``close_revision`` then works from that history: it refreshes the outlines of only the zones
and stations the revision touched, re-homes only the address points and incidents inside the
reshaped area, checks the invariants there, records the changed area and summary, and queues
``NOTIFY jurisdiction_changed`` (delivered on commit).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from jurisgrid.errors import Conflict, InvalidGeometry
from jurisgrid.models.history_tables import HISTORISED
from jurisgrid.models.invariants import AREA_TOLERANCE_M2
from jurisgrid.models.sqlfiles import named_statements

LOCK_KEY = 0x6A67_6564  # 'jged': the one advisory lock all writers of jurisdiction data take
CHANNEL = "jurisdiction_changed"
NOTIFY_MAX_CODES = 200


SQL = named_statements("editing.sql")


@dataclass
class Impact:
    grids: list[str] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)
    stations: list[str] = field(default_factory=list)
    population: int = 0
    households: int = 0
    incidents: int = 0
    address_points: int = 0
    # what a person should know before committing: {"code", "message", "units"} (edit_warnings)
    warnings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RevisionSummary:
    id: int
    impact: Impact
    bbox: list[float] | None
    changed_area_geojson: dict[str, Any] | None


def current_revision(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT max(id) FROM revision").scalar_one())


def open_revision(conn: Connection, *, actor: str, reason: str | None, kind: str,
                  effective_from: datetime | None = None, expected_revision: int | None = None,
                  role: str | None = None, reverts: int | None = None, tracked: bool = False) -> int:
    """Start a revision in the caller's transaction; raises Conflict on a stale expectation —
    at once when not ``tracked``; when ``tracked`` the caller runs the operation and then
    :func:`check_unchanged_since` (only the rows it wrote must be unchanged)."""
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%(k)s)", {"k": LOCK_KEY})
    newest = current_revision(conn)
    if expected_revision is not None and (expected_revision > newest or expected_revision < 0
                                          or (expected_revision != newest and not tracked)):
        raise Conflict(f"the data changed since revision {expected_revision}: the current revision "
                       f"is {newest}; reload and try again",
                       details=[{"expectedRevision": expected_revision, "currentRevision": newest}])
    rid, eff = conn.exec_driver_sql(
        "INSERT INTO revision (actor, role, reason, kind, effective_from, reverts) "
        "VALUES (%(a)s, %(role)s, %(why)s, %(k)s, coalesce(%(eff)s, clock_timestamp()), %(rv)s) "
        "RETURNING id, effective_from",
        {"a": actor, "role": role, "why": reason, "k": kind, "eff": effective_from, "rv": reverts},
    ).one()
    conn.exec_driver_sql("SELECT set_config('jurisgrid.revision', %(r)s, true), "
                         "set_config('jurisgrid.effective', %(e)s, true)",
                         {"r": str(rid), "e": eff.isoformat()})
    return int(rid)


_CHANGED_SINCE = """
SELECT DISTINCT {key}, l.rev_from
FROM {t}_history m JOIN {t}_history l ON l.id = m.id
WHERE (m.rev_from = %(r)s OR m.rev_to = %(r)s) AND l.rev_from > %(e)s AND l.rev_from < %(r)s
  AND NOT (l.rev_from = ANY(%(ignore)s))
ORDER BY 1, 2
"""


def _refuse(expected_revision: int, clashes: list[dict[str, Any]]) -> None:
    if clashes:
        names = ", ".join(sorted({f"{c['kind']} {c['code']}" for c in clashes})[:10])
        raise Conflict(f"the data changed since revision {expected_revision}: {names} changed in "
                       f"revision {max(c['revision'] for c in clashes)}; reload and try again",
                       details=[{"expectedRevision": expected_revision}, *clashes[:50]])


def check_unchanged_since(conn: Connection, revision_id: int, expected_revision: int, *,
                          ignore: Collection[int] = ()) -> None:
    """Conflict if a revision after ``expected_revision`` (other than those in ``ignore``)
    changed a row that revision ``revision_id`` (open, its operation's writes done) changed too.
    Details: ``{"expectedRevision"}`` then one ``{kind, code, revision}`` per clash."""
    if expected_revision >= revision_id - 1:
        return
    clashes = [{"kind": t, "code": code, "revision": int(rev)} for t in HISTORISED
               for code, rev in conn.exec_driver_sql(
                   _CHANGED_SINCE.format(t=t, key="m.id::text" if t == "assignment" else "m.code"),
                   {"r": revision_id, "e": expected_revision, "ignore": sorted(ignore)})]
    _refuse(expected_revision, clashes)


_POINTS_CHANGED_SINCE = """
WITH mine AS (
    SELECT DISTINCT e->>'table' AS t, e->>'code' AS code
    FROM revision, jsonb_array_elements(coalesce(summary->'points', '[]'::jsonb)) e
    WHERE id = %(r)s)
SELECT DISTINCT m.t, m.code, l.id
FROM mine m JOIN revision l ON l.id > %(e)s AND l.id < %(r)s AND NOT (l.id = ANY(%(ignore)s))
 AND l.summary->'points' @> jsonb_build_array(jsonb_build_object('table', m.t, 'code', m.code))
ORDER BY 1, 2, 3
"""


def check_points_unchanged_since(conn: Connection, revision_id: int, expected_revision: int, *,
                                 ignore: Collection[int] = ()) -> None:
    """Like :func:`check_unchanged_since` for address points and incidents, which have no
    history tables: their edits are noted in ``revision.summary.points`` (editing/units.py)."""
    if expected_revision >= revision_id - 1:
        return
    clashes = [{"kind": t, "code": code, "revision": int(rev)} for t, code, rev in conn.exec_driver_sql(
        _POINTS_CHANGED_SINCE, {"r": revision_id, "e": expected_revision, "ignore": sorted(ignore)})]
    _refuse(expected_revision, clashes)


# Is any historised row of the revision different in content (a rewrite with the same values
# still makes a history version)? The versions' bookkeeping columns do not count.
_SAME = "'{hid,rev_from,rev_to,valid}'::text[]"
_REALLY_CHANGED = "SELECT " + " OR ".join(
    f"EXISTS (SELECT 1 FROM (SELECT * FROM {t}_history WHERE rev_to = %(r)s) b "
    f"FULL JOIN (SELECT * FROM {t}_history WHERE rev_from = %(r)s) a ON a.id = b.id "
    f"WHERE a.id IS NULL OR b.id IS NULL OR (to_jsonb(a) - {_SAME}) IS DISTINCT FROM (to_jsonb(b) - {_SAME}))"
    for t in sorted(HISTORISED))


def edit_warnings(conn: Connection, revision_id: int, *, tracked: bool) -> list[dict[str, Any]]:
    """What the edit does that its author may not mean: zones cut into pieces, grids or zones
    that change station, and (for an edit of historised units, ``tracked``) an edit that changes
    nothing. Not refusals — a dry run shows them, and so does the committed result."""
    out: list[dict[str, Any]] = []
    if not tracked:  # a point edit writes no grid or zone version: nothing to look at
        return out
    r = {"r": revision_id}
    if not conn.exec_driver_sql(_REALLY_CHANGED, r).scalar_one():
        out.append({"code": "NO_CHANGE", "message": "the edit changes nothing: the units are already so",
                    "units": []})
        return out
    for code, before, after in conn.exec_driver_sql(SQL["zone_pieces"], r):
        if after > max(before, 1):
            out.append({"code": "ZONE_SPLIT", "units": [code], "before": int(before), "after": int(after),
                        "message": f"zone {code} is left in {after} pieces (it was in {before})"})
    moves = conn.exec_driver_sql(SQL["station_moves"], r).all()
    if moves:
        pairs = sorted({(m.from_station, m.to_station) for m in moves})
        out.append({"code": "STATION_CHANGE", "units": [m.code for m in moves],
                    "stations": [list(p) for p in pairs],
                    "message": "; ".join(f"{sum(1 for m in moves if (m.from_station, m.to_station) == p)} "
                                         f"unit(s) move from station {p[0]} to {p[1]}" for p in pairs)})
    return out


def close_revision(conn: Connection, revision_id: int, *, rehome: bool = True) -> RevisionSummary:
    """Bring derived data up to date for what the revision changed, check, record, announce.

    ``rehome=False``: the operation placed its points itself and checked the invariants over the
    whole database (the registry's ``places_points``, ``jurisgrid load``); the points of the
    reshaped area are then neither re-homed nor counted as moved, and the local checks are skipped."""
    r = {"r": revision_id}
    changed = conn.exec_driver_sql(SQL["changed_units"], r).all()
    moved_grid_ids = [c.id for c in changed if c.kind == "grid" and c.before_parent is not None
                      and c.after_parent is not None and c.before_parent != c.after_parent]
    moved_zone_ids = [c.id for c in changed if c.kind == "zone" and c.before_parent is not None
                      and c.after_parent is not None and c.before_parent != c.after_parent]
    if moved_zone_ids:  # a zone that changes station takes its grids' people along
        moved_grid_ids += [g for (g,) in conn.exec_driver_sql(
            "SELECT id FROM grid WHERE zone_id = ANY(%(z)s) AND NOT (id = ANY(%(g)s))",
            {"z": moved_zone_ids, "g": moved_grid_ids})]
    zone_ids = {p for c in changed if c.kind == "grid" for p in (c.before_parent, c.after_parent)}
    zone_ids |= {c.id for c in changed if c.kind == "zone"}
    zone_ids.discard(None)
    station_ids = {p for c in changed if c.kind == "zone" for p in (c.before_parent, c.after_parent)}
    station_ids |= {c.id for c in changed if c.kind == "station"}
    if zone_ids:
        station_ids |= {s for (s,) in conn.exec_driver_sql(
            "SELECT DISTINCT station_id FROM zone WHERE id = ANY(%(z)s)", {"z": sorted(zone_ids)})}
    station_ids.discard(None)
    zl, sl = sorted(zone_ids), sorted(station_ids)

    # like models/derived.refresh_outlines, restricted to what changed, but exact (see the SQL)
    empty_zones, empty_stations = SQL["empty_outlines"].split(";\n")
    if zl:
        conn.exec_driver_sql(SQL["refresh_zones"], {"z": zl})
        conn.exec_driver_sql(empty_zones, {"z": zl})
    if sl:
        conn.exec_driver_sql(SQL["refresh_stations"], {"s": sl})
        conn.exec_driver_sql(empty_stations, {"s": sl})

    reshaped, area = conn.exec_driver_sql(SQL["areas"], r).one()
    impact = Impact()
    if moved_grid_ids:
        # their points keep their grid, and change zone (and station) with it: they count as
        # moved, like their people (a planner's dry run used to show 0 address points here)
        n_ap, pop, hh, n_inc = conn.exec_driver_sql(SQL["moved_counts"], {"g": moved_grid_ids}).one()
        impact.address_points = int(n_ap)
        impact.population, impact.households, impact.incidents = int(pop), int(hh), int(n_inc)
    if reshaped is not None and rehome:
        n_ap, pop, hh, n_inc, _touched = conn.exec_driver_sql(SQL["rehome"], {"area": reshaped}).one()
        impact.address_points += int(n_ap)
        impact.population += int(pop)
        impact.households += int(hh)
        impact.incidents += int(n_inc)
        _check_local(conn, reshaped, [c.id for c in changed if c.kind == "grid" and c.reshaped])

    outline = conn.exec_driver_sql(SQL["outline_changed"], r).all()
    impact.grids = sorted({c.code for c in changed if c.kind == "grid"})
    impact.zones = sorted({code for kind, code in outline if kind == "zone"})
    impact.stations = sorted({code for kind, code in outline if kind == "station"})

    summary = {"grids": impact.grids, "zones": impact.zones, "stations": impact.stations,
               "population": impact.population, "households": impact.households,
               "incidents": impact.incidents, "addressPoints": impact.address_points,
               "communities": sorted({c.code for c in changed if c.kind == "community"})}
    row = conn.exec_driver_sql(
        "UPDATE revision SET changed_area = CASE WHEN changed_area IS NULL THEN %(a)s::geometry "
        "WHEN %(a)s IS NULL THEN changed_area ELSE ST_Collect(changed_area, %(a)s::geometry) END, "
        "summary = summary || %(s)s::jsonb "
        "WHERE id = %(r)s RETURNING ST_XMin(changed_area), ST_YMin(changed_area), "
        "ST_XMax(changed_area), ST_YMax(changed_area), ST_AsGeoJSON(changed_area, 7)",
        {"a": area, "s": json.dumps(summary), "r": revision_id}).one()
    bbox = None if row[0] is None else [float(v) for v in row[:4]]
    payload = {"revision": revision_id, "bbox": bbox,
               "codes": {"grid": impact.grids[:NOTIFY_MAX_CODES],
                         "zone": impact.zones[:NOTIFY_MAX_CODES],
                         "station": impact.stations[:NOTIFY_MAX_CODES]}}
    conn.exec_driver_sql("SELECT pg_notify(%(c)s, %(p)s)", {"c": CHANNEL, "p": json.dumps(payload)})
    return RevisionSummary(revision_id, impact, bbox, json.loads(row[4]) if row[4] else None)


def _check_local(conn: Connection, reshaped: Any, grid_ids: list[int]) -> None:
    """Invariants 1 and 2 (grid inside its community) where the grids were reshaped.

    Coverage binds where the grids tiled the county before the edit. Where the county had
    uncovered land already — a county being built up unit by unit (createCounty, then
    createGrid) — grids may be added to and removed from it: there the gap and the area-kept
    checks do not apply, while overlaps, land outside the county and grids outside their
    community are refused all the same."""
    gap, outside, overlap = conn.exec_driver_sql(SQL["local_coverage"], {"area": reshaped}).one()
    tol = AREA_TOLERANCE_M2
    building = bool(gap and gap > tol) and float(conn.exec_driver_sql(
        SQL["local_gap_before"], {"area": reshaped, "g": grid_ids}).scalar_one() or 0) > tol
    problems: list[dict[str, Any]] = []
    if gap and gap > tol and not building:
        problems.append({"invariant": "coverage", "problem": "GAP", "m2": round(gap, 3)})
    if outside and outside > tol:
        problems.append({"invariant": "coverage", "problem": "OUTSIDE_COUNTY", "m2": round(outside, 3)})
    if overlap and overlap > tol:
        problems.append({"invariant": "coverage", "problem": "OVERLAP", "m2": round(overlap, 3)})
    change = conn.exec_driver_sql(SQL["reshaped_area_change"], {"g": grid_ids}).scalar_one()
    if change is not None and abs(change) > tol and not building:
        # land appeared or vanished between the reshaped grids: a gap, an overlap or land
        # outside the county on the sphere, e.g. a vertex left on the county's edge
        problems.append({"invariant": "coverage", "problem": "AREA_NOT_KEPT", "m2": round(change, 3)})
    for code, m2 in conn.exec_driver_sql(SQL["grids_outside_community"],
                                         {"g": grid_ids, "tol": tol}):
        problems.append({"invariant": "nesting", "problem": "OUTSIDE_COMMUNITY", "grid": code,
                         "m2": round(m2, 3)})
    if problems:
        raise InvalidGeometry("the edit would break the invariants: "
                              + "; "
                                "".join(f"{p['problem']} {p.get('grid', '')} {p['m2']} m²".replace("  ", " ")
                                          for p in problems), details=problems)
