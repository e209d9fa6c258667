"""Who is responsible here: from an in-memory index of the live grids (one point or 100,000),
or through PostGIS in one statement under any source (models/source.py) — the reference path,
the bench's baseline, and ``responsibleFor(asOf:)``.

Both follow the same boundary rule (``jg_grid_at()`` in SQL, migration 0010;
:mod:`jurisgrid.geo.lookup` in memory) and the same officer rule (:func:`officer_rule`);
``tests/gql/test_responsible_oracle.py`` checks that they agree with each other and with an
independent Shapely computation.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import anyio.to_thread
import numpy as np
import shapely
from sqlalchemy import Connection, Engine, select, text

from jurisgrid.db import read_connection, read_engine
from jurisgrid.geo.lookup import GridIndex, local_distance_m
from jurisgrid.models.rows import TABLES, Row, prefixed_select, scalar_columns, split_prefixed
from jurisgrid.models.source import LIVE, Source
from jurisgrid.models.sqlfiles import sql_text
from jurisgrid.models.versions import watcher

# alias in responsible_for.sql → table
_UNITS = {"gr": "grid", "z": "zone", "s": "station", "se": "sector", "c": "community",
          "t": "township"}

# The officer rule: who answers for a place. A place's officers are the people assigned (in
# force under the source) as the zone's community officer (社区民警), the community's auxiliary
# (辅警) and the grid's grid worker (网格员), ordered by role and code.
OFFICER_PLACES = {"community_officer": "zone", "auxiliary": "community", "grid_worker": "grid"}


def officer_rule(a: str, places: dict[str, str] | None = None) -> str:
    """SQL: assignment ``a`` makes its person an officer of the place ``places`` names (SQL
    expressions for the zone, community and grid ids) — or, without ``places``, of some place."""
    parts = []
    for role, place in OFFICER_PLACES.items():
        col = f"{a}.{place}_id"
        test = f"{col} = {places[place]}" if places is not None else f"{col} IS NOT NULL"
        parts.append(f"({a}.role = '{role}' AND {test})")
    return "(" + " OR ".join(parts) + ")"


def _single_point_sql(src: Source) -> str:
    sql = sql_text("responsible_for.sql")
    sql = sql.replace(
        "{columns}", ",\n    ".join(prefixed_select(a, tb, tb) for a, tb in _UNITS.items()))
    sql = sql.replace("{officers}", officer_rule("a", {"zone": "z.id", "community": "c.id",
                                                       "grid": "gr.id"}))
    for table in (*_UNITS.values(), "assignment", "person"):
        sql = sql.replace("{" + table + "}", src.sql(table))
    return sql


# the live statement: the instant is NULL, so the planner keeps only the live tables' branch
SINGLE_POINT_SQL = (_single_point_sql(LIVE).replace("%(at)s", "NULL")
                    .replace("%(future)s", "NULL").replace("%(plan)s", "NULL")
                    .replace("%(rule_plan)s", "NULL"))


@dataclass
class PointAnswer:
    units: dict[str, Row | None]      # grid, zone, station, sector, community, township
    on_boundary: bool
    boundary_m: float | None
    officers: list[Row]
    nearest_id: int | None
    nearest_code: str | None
    nearest_m: float | None


_PREPARED = "jg_responsible_for"


def responsible_row(conn: Connection, *, lon: float, lat: float, source: Source = LIVE) -> Any:
    """The raw answer row for one point (WGS 84) under ``source``. The live statement is
    prepared once per database connection: planning it costs ~3× more than running it."""
    plan = source.sql_args().get("plan")
    if plan is not None:  # a plan's statement is the same for every plan: prepared as well
        return _prepared_plan_row(conn, lon, lat, source, plan)
    if source != LIVE:
        sql = _single_point_sql(source)
        return conn.exec_driver_sql(sql, {"lon": lon, "lat": lat, **source.sql_args()}
                                    ).mappings().one()
    info = conn.connection.info
    if not info.get(_PREPARED):
        body = SINGLE_POINT_SQL.replace("%(lon)s", "$1").replace("%(lat)s", "$2")
        conn.exec_driver_sql(f"PREPARE {_PREPARED}(float8, float8) AS {body}")
        info[_PREPARED] = True
    return conn.exec_driver_sql(f"EXECUTE {_PREPARED}(%(lon)s, %(lat)s)",
                                {"lon": lon, "lat": lat}).mappings().one()


_PREPARED_PLAN = "jg_responsible_for_plan"


def _prepared_plan_row(conn: Connection, lon: float, lat: float, source: Source, plan: int) -> Any:
    """:func:`responsible_row` under a plan (models/plan_source.py), prepared once per connection
    with the plan as its third parameter (planning the overlay statement costs ~5× running it)."""
    own_grids = source.sql_args().get("rule_plan") is not None
    name = _PREPARED_PLAN + ("_reshaped" if own_grids else "")
    info = conn.connection.info
    if not info.get(name):
        body = (_single_point_sql(source).replace("%(lon)s", "$1").replace("%(lat)s", "$2")
                .replace("%(plan)s", "$3").replace("%(rule_plan)s", "$3" if own_grids else "NULL")
                .replace("%(at)s", "NULL").replace("%(future)s", "NULL"))
        conn.exec_driver_sql(f"PREPARE {name}(float8, float8, int4) AS {body}")
        info[name] = True
    return conn.exec_driver_sql(f"EXECUTE {name}(%(lon)s, %(lat)s, %(plan)s)",
                                {"lon": lon, "lat": lat, "plan": plan}).mappings().one()


def responsible_for(conn: Connection, *, lon: float, lat: float,
                    source: Source = LIVE) -> PointAnswer:
    """One point (WGS 84), one statement; the rows named are tagged with ``source``."""
    return answer_from_row(responsible_row(conn, lon=lon, lat=lat, source=source), source)


def answer_from_row(row: Any, source: Source = LIVE) -> PointAnswer:
    units = {tb: split_prefixed(row, tb) for tb in _UNITS.values()}
    units = {tb: source.tag(u) if u is not None else None for tb, u in units.items()}
    inside = units["grid"] is not None
    return PointAnswer(
        units=units,
        on_boundary=bool(row["on_boundary"]) if inside else False,
        boundary_m=float(row["boundary_m"]) if inside else None,
        officers=list(row["officers"]) if inside else [],
        nearest_id=row["nearest_id"],
        nearest_code=row["nearest_code"],
        nearest_m=float(row["nearest_m"]) if row["nearest_m"] is not None else None,
    )


@dataclass
class BatchAnswer:
    """Columns in input order; codes are None where the point is in no grid."""

    count: int
    resolved: int
    grid_codes: list[str | None]
    zone_codes: list[str | None]
    station_codes: list[str | None]
    community_codes: list[str | None]
    on_boundary: list[bool]
    nearest_grid_codes: list[str | None]
    nearest_distance_m: list[float | None]
    # a county-scoped caller: True where the point lies in (or, in no grid, is nearest to) a grid
    # of another county — its codes are then null (:meth:`_IndexSnapshot.resolve`)
    outside_scope: list[bool] = field(default_factory=list)


_GRIDS_SQL = text("""
SELECT g.id, g.code, z.code AS zone_code, s.code AS station_code, c.code AS community_code,
       ST_AsBinary(g.geom) AS wkb
FROM grid g JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id
JOIN community c ON c.id = g.community_id
""")

# every live officer of some place (officer_rule), to be found by place in memory
_OFFICERS_SQL = text(f"""
SELECT a.role, a.id AS assignment_id, a.zone_id, a.community_id, a.grid_id,
       pe.id, pe.code, pe.name, pe.phone
FROM {LIVE.sql("assignment")} a JOIN person pe ON pe.id = a.person_id
WHERE {officer_rule("a")}
""")

_COUNTIES_SQL = text("SELECT code, id FROM county")
_UNIT_TABLES = ("grid", "zone", "station", "sector", "community", "township")
_OFFICER_KEYS = ("id", "code", "name", "phone", "role", "assignment_id")


class _IndexSnapshot:
    """The current grids and everything a single-point answer names, as of one ``version``."""

    def __init__(self, conn: Connection, version: int) -> None:
        self.version = version
        rows = list(conn.execute(_GRIDS_SQL))
        self.grid_ids = [r.id for r in rows]
        self.codes = np.array([r.code for r in rows] + [None], dtype=object)
        self.zone_codes = np.array([r.zone_code for r in rows] + [None], dtype=object)
        self.station_codes = np.array([r.station_code for r in rows] + [None], dtype=object)
        self.community_codes = np.array([r.community_code for r in rows] + [None], dtype=object)
        geoms = shapely.from_wkb([bytes(r.wkb) for r in rows])
        self.index = GridIndex([r.code for r in rows], geoms)
        self.units = {tb: _all_rows(conn, tb) for tb in _UNIT_TABLES}
        self.county_ids: dict[str, int] = {c: i for c, i in conn.execute(_COUNTIES_SQL)}
        self._officers = _officers(conn)

    @cached_property
    def grid_counties(self) -> np.ndarray:
        """The county id of every grid — its community's township's, the county
        ``responsibleFor`` names — and -1 after the last (for the ``-1`` of no grid)."""
        com, town = self.units["community"], self.units["township"]
        ids = [town[com[self.units["grid"][g]["community_id"]]["township_id"]]["county_id"]
               for g in self.grid_ids]
        return np.array([*ids, -1], dtype=np.int64)

    def resolve(self, lon: np.ndarray, lat: np.ndarray, county: str | None = None) -> BatchAnswer:
        """Many points (WGS 84) at once, as columns in input order. With ``county`` (a
        county-scoped caller), a point whose grid — or, in no grid, whose nearest grid — is in
        another county is answered as outside the caller's scope: every code of it null and
        ``outside_scope`` true, never another county's grid, zone or station."""
        res = self.index.resolve(lon, lat)
        g = res.grid  # -1 indexes the trailing None of every column
        near = res.nearest
        on_boundary, near_m = res.on_boundary, res.nearest_m
        outside = np.zeros(len(g), dtype=bool)
        if county is not None:
            cid = self.county_ids.get(county, -2)  # -2: no grid is in an unknown county
            cty = self.grid_counties
            outside = ((g >= 0) & (cty[g] != cid)) | ((g < 0) & (near >= 0) & (cty[near] != cid))
            g = np.where(outside, -1, g)
            near = np.where(outside, -1, near)
            on_boundary = on_boundary & ~outside
            near_m = np.where(outside, np.nan, near_m)
        return BatchAnswer(
            count=len(g),
            resolved=int(np.count_nonzero(g >= 0)),
            grid_codes=self.codes[g].tolist(),
            zone_codes=self.zone_codes[g].tolist(),
            station_codes=self.station_codes[g].tolist(),
            community_codes=self.community_codes[g].tolist(),
            on_boundary=on_boundary.tolist(),
            nearest_grid_codes=self.codes[near].tolist(),
            nearest_distance_m=np.where(np.isnan(near_m), None, near_m).tolist(),  # type: ignore[call-overload]
            outside_scope=outside.tolist(),
        )

    def in_county(self, grid_code: str | None, county: str) -> bool:
        """Whether the live grid ``grid_code`` lies in county ``county`` (by its community)."""
        i = self._positions.get(grid_code) if grid_code is not None else None
        return i is not None and int(self.grid_counties[i]) == self.county_ids.get(county, -2)

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.codes[:-1])}

    def answer(self, lon: float, lat: float) -> PointAnswer:
        """One point (WGS 84) from memory: the same answer as :func:`responsible_for`."""
        i, on_boundary, near, near_m = self.index.resolve_one(lon, lat)
        if i < 0:
            return PointAnswer(units=dict.fromkeys(_UNIT_TABLES), on_boundary=False,
                               boundary_m=None, officers=[],
                               nearest_id=self.grid_ids[near] if near >= 0 else None,
                               nearest_code=self.codes[near] if near >= 0 else None,
                               nearest_m=near_m if near >= 0 else None)
        grid = self.units["grid"][self.grid_ids[i]]
        zone = self.units["zone"][grid["zone_id"]]
        station = self.units["station"][zone["station_id"]]
        community = self.units["community"][grid["community_id"]]
        places = {"zone": zone, "community": community, "grid": grid}
        return PointAnswer(
            units={"grid": grid, "zone": zone, "station": station,
                   "sector": self.units["sector"].get(station["sector_id"]),
                   "community": community,
                   "township": self.units["township"].get(community["township_id"])},
            on_boundary=on_boundary,
            boundary_m=0.0 if on_boundary else local_distance_m(lon, lat, self.index.boundary(i)),
            officers=sorted(
                (o for role, place in OFFICER_PLACES.items()
                 for o in self._officers.get((role, places[place]["id"]), [])),
                key=lambda o: (o["role"], o["code"])),
            nearest_id=None, nearest_code=None, nearest_m=None,
        )


def _all_rows(conn: Connection, table: str) -> dict[int, Row]:
    tb = TABLES[table]
    res = conn.execute(select(*[tb.c[c] for c in scalar_columns(table)]))
    return {r["id"]: dict(r) for r in res.mappings()}


def _officers(conn: Connection) -> dict[tuple[str, int], list[Row]]:
    by_place: dict[tuple[str, int], list[Row]] = {}
    for r in conn.execute(_OFFICERS_SQL).mappings():
        key = (r["role"], r[OFFICER_PLACES[r["role"]] + "_id"])
        by_place.setdefault(key, []).append({k: r[k] for k in _OFFICER_KEYS})
    return by_place


class GridIndexCache:
    """The current grids in an STRtree, with the rows a single-point answer names, rebuilt when
    ``data_version`` moves (docs/design.md, Performance principles).

    ``data_version`` is bumped in the same transaction as any change to the tables an answer
    reads (statement triggers, migrations 0001 and 0006). :class:`~jurisgrid.models.versions.
    VersionWatcher` hears of every bump; when it cannot vouch for the version, the database is
    asked — so a snapshot is never older than this process's last commit.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snap: weakref.WeakKeyDictionary[Engine, _IndexSnapshot] = weakref.WeakKeyDictionary()

    def fresh(self, engine: Engine) -> _IndexSnapshot | None:
        """The snapshot if it is known to be current — no I/O, fit for the event loop."""
        version = watcher(engine).current()
        snap = self._snap.get(engine)
        return snap if snap is not None and version is not None and snap.version == version else None

    def snapshot(self, engine: Engine) -> _IndexSnapshot:
        """The current snapshot, reading the version (and rebuilding) when needed."""
        snap = self.fresh(engine)
        if snap is not None:
            return snap
        w = watcher(engine)
        version = w.current()
        if version is None:
            with read_connection(engine) as conn:
                version = conn.execute(_VERSION_SQL).scalar_one()
            w.confirm(version)
        key = engine
        snap = self._snap.get(key)
        if snap is not None and snap.version == version:
            return snap
        with self._lock:
            old = self._snap.get(key)
            snap = old
            if snap is None or snap.version < version:
                # the rows and their version read at one instant (on the read pool: a
                # commit on the main engine would tell the watcher this process wrote)
                with read_engine(engine).connect().execution_options(
                        isolation_level="REPEATABLE READ") as c, c.begin():
                    snap = _IndexSnapshot(c, c.execute(_VERSION_SQL).scalar_one())
                self._snap[key] = snap
                if old is not None and old.index.has_nearest_cells:
                    # this process answers bulk requests with many points outside the grids:
                    # build the new grids' cell index now, off the request path, rather than
                    # in the first such request after the change (1–3 s for a county)
                    threading.Thread(target=snap.index.prepare_nearest, daemon=True,
                                     name="jurisgrid-nearest-cells").start()
        return snap

    async def current(self, engine: Engine) -> _IndexSnapshot:
        """The current snapshot for async callers: at once when the watcher vouches for it,
        else read (or rebuilt) in a worker thread, off the event loop."""
        snap = self.fresh(engine)
        return snap if snap is not None else await anyio.to_thread.run_sync(self.snapshot, engine)

    def point(self, engine: Engine, *, lon: float, lat: float) -> PointAnswer:
        return self.snapshot(engine).answer(lon, lat)

    def resolve(self, engine: Engine, lon: np.ndarray, lat: np.ndarray) -> BatchAnswer:
        return self.snapshot(engine).resolve(lon, lat)


IndexSnapshot = _IndexSnapshot  # the type, for callers that check answers against it

_VERSION_SQL = text("SELECT version FROM data_version")
grid_index_cache = GridIndexCache()
