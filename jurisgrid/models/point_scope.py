"""Which county partitions a read of address points / incidents can touch (issue 17 item 3).

``address_point`` and ``incident`` are partitioned by ``county_code`` (migration 0017). A read
that names no county makes the planner consider every partition — with 20 counties, ~2 ms of
planning for 0.3 ms of execution (bench/partitions.py). The reads here add
``county_code IN (…)`` with the values written into the statement (psycopg2 binds on the
client), so the planner prunes at plan time; the answer never changes, because each added
condition is implied by the read's own conditions and by what the writers keep true:

- a point's ``county_code`` is ``jg_point_county(grid_id, geom)``: its grid's county, else the
  county whose outline is within ``jg_tolerance()`` of it, else '' (models/partitions.py);
- its ``grid_id`` is the grid the boundary rule gives it (invariant 3, membership): a grid
  within ``jg_tolerance()`` of it.

So a point of county ``c`` lies within the tolerance of ``c``'s outline or of one of ``c``'s
grids: inside the *reach* of ``c``, the bounding box of those expanded by twice the tolerance.
A box meets the points of ``c`` only if it meets ``c``'s reach; the points with '' (the
DEFAULT partition) can lie anywhere and are always kept. A grid's points have its county.

The reaches come from the county and unit tables, whose every change bumps ``data_version``
(migrations 0001/0006): they are read in one statement once per data version and database (a
few ms for a province) and kept in memory (:func:`snapshot`); a box read asks the version
first (one single-row statement, ~0.05 ms — far less than the planning it saves). The version
and the rows are two statements: under READ COMMITTED, an edit committed between them could
grow a grid beyond its county's former reach; so a read narrowed by the reaches asks the
version again afterwards and, if it moved, reads again unnarrowed (models/listing.py
``pruned_read``; ogc/partitions.py) — one more ~0.05 ms statement.

A grid's county never changes (no edit moves a township or a community to another county) and
grid ids are not reused, so grid ids' counties are kept for good (:func:`counties_of_grids`:
one statement for grids not asked before); a grid code's county is asked once per data version.

By code: a code is only *probably* in the county of the first 6 digits it carries (the seeds'
and the national scheme's address codes start with their community's 12-digit code; the seeds'
incident codes are ``JQ<county>…``), but nothing makes imports keep that: :func:`guess_county`
is tried first, and a code not found there is looked for in every partition (codes are unique
across partitions: every writer refuses a taken one — models/partitions.py).

By code, the county codes come from the last snapshot as it is (:func:`cached`: no statement
while it is under a minute old) — a guess needs no more.

By id: nothing tells an id's county cheaply; reads by id stay unpruned, except a point's
geometry, whose row (and county) the request already holds (gql/loaders.py).
"""

from __future__ import annotations

import re
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table

POINT_TABLES = ("address_point", "incident")
NO_COUNTY = ""  # the partition key of points in no county (the DEFAULT partition)

_VERSION = "SELECT version, changed_at FROM data_version"
# one statement (one snapshot of the data): the version, the tolerance, every county with the
# bounding box of its outline and its grids, the county codes
_BUILD = """
SELECT d.version, d.changed_at, jg_tolerance() AS tol,
  (SELECT coalesce(json_agg(json_build_array(s.county_code, ST_XMin(s.e), ST_YMin(s.e),
                                             ST_XMax(s.e), ST_YMax(s.e))), '[]')
   FROM (SELECT u.county_code, ST_Extent(u.geom) AS e
         FROM (SELECT code AS county_code, geom FROM county
               UNION ALL
               SELECT gc.county_code, g.geom FROM jg_grid_county() gc JOIN grid g ON g.id = gc.grid_id) u
         GROUP BY u.county_code) s WHERE s.e IS NOT NULL) AS reach,
  (SELECT coalesce(array_agg(code), '{}') FROM county) AS counties
FROM data_version d
"""
CACHED_S = 60.0  # how long :func:`cached` trusts a snapshot without asking the version
_DIGITS = re.compile(r"\d{6}")


Version = tuple[int, datetime]  # data_version's version and changed_at


def at_version(conn: Connection, version: Version) -> bool:
    """Whether the database ``conn`` reads is still at ``version`` (a read made between the
    version's snapshot and this check saw the data of that version)."""
    return tuple(conn.exec_driver_sql(_VERSION).one()) == version


T = TypeVar("T")


def checked_read(conn: Connection, version: Version | None, pruned: Callable[[], T],
                 unpruned: Callable[[], T]) -> T:
    """``pruned()`` — a read narrowed to partitions derived at ``version`` — unless the data
    version moved while it ran (an edit may have grown a county's reach): then ``unpruned()``.
    ``version`` None: the partitions do not depend on the data (a grid's county), no check."""
    out = pruned()
    if version is not None and not at_version(conn, version):
        return unpruned()
    return out


@dataclass(frozen=True)
class Snapshot:
    """The counties' reaches and codes at one data version (and the grid codes' counties
    asked at it)."""

    version: Version
    reach: tuple[tuple[str, float, float, float, float], ...]
    counties: frozenset[str]
    built: float  # time.monotonic() when read
    # grid code -> county (None: no such grid), filled on demand at this version
    grid_codes: dict[str, str | None] = field(default_factory=dict)

    def counties_in_box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[str, ...]:
        """The partition keys the points in the closed box can have: the counties whose reach
        meets it, and '' (no county). Sorted."""
        hit = {c for c, a0, b0, a1, b1 in self.reach if a0 <= x1 and x0 <= a1 and b0 <= y1 and y0 <= b1}
        return tuple(sorted(hit | {NO_COUNTY}))

    def county_of_grid_code(self, conn: Connection, code: str) -> str | None:
        """The county of the grid ``code`` at this version (None: no such grid); one statement
        the first time a code is asked."""
        if code not in self.grid_codes:
            self.grid_codes[code] = conn.exec_driver_sql(
                "SELECT gc.county_code FROM grid g JOIN jg_grid_county() gc ON gc.grid_id = g.id "
                "WHERE g.code = %(c)s", {"c": code}).scalar()
        return self.grid_codes[code]

    def guess_county(self, code: str) -> str | None:
        """The county a point code probably belongs to: the first six digits of its first run
        of digits, if they are a county's code (a guess: the caller falls back)."""
        m = _DIGITS.search(code)
        return m.group(0) if m is not None and m.group(0) in self.counties else None


# by engine (a primary's and a replica's pools are different engines; a pool reads one database)
_cache: weakref.WeakKeyDictionary[Engine, Snapshot] = weakref.WeakKeyDictionary()
# grid id -> county, by engine: kept for good — a grid's county never changes (no edit moves a
# community or a township to another county) and grid ids are not reused
_grid_county: weakref.WeakKeyDictionary[Engine, dict[int, str]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_grid_lock = threading.Lock()


def counties_of_grids(conn: Connection, grid_ids: list[int]) -> tuple[str, ...] | None:
    """The counties of the grids (sorted); None when one of them is no grid (no pruning). One
    statement for the grids not asked before, none otherwise."""
    known = _grid_county.get(conn.engine)
    if known is None:
        with _lock:
            known = _grid_county.setdefault(conn.engine, {})
    if any(g not in known for g in grid_ids):
        # one asker at a time (rare: grids not seen before), so that the loaders of one
        # request's nested lists, batched at once, ask once
        with _grid_lock:
            missing = sorted({g for g in grid_ids if g not in known})
            if missing:
                known.update(conn.exec_driver_sql(
                    "SELECT grid_id, county_code FROM jg_grid_county() WHERE grid_id = ANY(%(g)s)",
                    {"g": missing}).all())
    if any(g not in known for g in grid_ids):
        return None
    return tuple(sorted({known[g] for g in grid_ids}))


def snapshot(conn: Connection) -> Snapshot:
    """The current :class:`Snapshot` of the database ``conn`` reads (a primary or a replica:
    each has its own version), rebuilt when its data version moved: one statement to ask the
    version, one more to rebuild."""
    version = tuple(conn.exec_driver_sql(_VERSION).one())  # no statement to compile
    found = _cache.get(conn.engine)
    if found is not None and found.version == version:
        return found
    return _build(conn)


def cached(conn: Connection) -> Snapshot:
    """A snapshot, not necessarily current, for the county codes a point code may name (a
    guess only, checked by the caller's fallback). No statement while the last one is under
    :data:`CACHED_S` old; else :func:`snapshot` (rebuilt only if the version moved)."""
    found = _cache.get(conn.engine)
    if found is not None and time.monotonic() - found.built < CACHED_S:
        return found
    snap = snapshot(conn)
    if snap is found:  # the version had not moved: good for another CACHED_S, not rebuilt
        snap = replace(found, built=time.monotonic())
        with _lock:
            _cache[conn.engine] = snap
    return snap


def _build(conn: Connection) -> Snapshot:
    r = conn.exec_driver_sql(_BUILD).one()
    tol = float(r.tol) * 2
    reach = tuple((str(c), float(x0) - tol, float(y0) - tol, float(x1) + tol, float(y1) + tol)
                  for c, x0, y0, x1, y1 in r.reach)
    snap = Snapshot((int(r.version), r.changed_at), reach, frozenset(r.counties), time.monotonic())
    with _lock:
        _cache[conn.engine] = snap
    return snap


def partitioned(tb: Any) -> bool:
    """Whether ``tb`` is a live point table (its rows carry the partition key) — not a source's
    overlay or history."""
    return isinstance(tb, Table) and tb.name in POINT_TABLES and "county_code" in tb.c


def box_of(bbox: tuple[float, float, float, float] | None, intersects: Any,
           within: tuple[float, float, float] | None,
           within_deg: float | None) -> tuple[float, float, float, float] | None:
    """The box every point a list's spatial filters keep lies in (the smallest of them), or
    None when there is no spatial filter. ``within_deg``: the degrees of the list's own
    prefilter around the ``within`` point (models/listing.py)."""
    boxes = []
    if bbox is not None:
        boxes.append(tuple(float(v) for v in bbox))
    if intersects is not None:
        boxes.append(tuple(float(v) for v in intersects.bounds))
    if within is not None and within_deg is not None:
        lon, lat, _ = within
        boxes.append((lon - within_deg, lat - within_deg, lon + within_deg, lat + within_deg))
    if not boxes or any(v != v for b in boxes for v in b):  # none, or an empty geometry's NaN
        return None
    x0 = max(b[0] for b in boxes)
    y0 = max(b[1] for b in boxes)
    x1 = min(b[2] for b in boxes)
    y1 = min(b[3] for b in boxes)
    return (x0, y0, x1, y1)
