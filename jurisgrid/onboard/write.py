"""Writing a :class:`~jurisgrid.onboard.plan.Plan` in one transaction, the way ``seed demo`` does.

The same building blocks as the demo loader (:mod:`jurisgrid.seed.load`): rows go in through
COPY (geometry as hex EWKB). Address points and incidents get their grid by the boundary rule
computed in memory over the loaded grids (:class:`~jurisgrid.geo.lookup.GridIndex`, the mirror
of ``jg_grid_at`` that tests hold against it) and are copied with it — no per-point statement.
Zone and station outlines are the exact unions of their grids (see ``_ZONE_OUTLINES``).
Before committing, the invariants are checked over the whole database; any violation, or a
code that already exists, rolls everything back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from pydantic import ConfigDict
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from jurisgrid.auth.checks import require_role
from jurisgrid.auth.principal import Principal, Role
from jurisgrid.config import get_settings
from jurisgrid.editing.commands import Command
from jurisgrid.editing.execute import execute
from jurisgrid.editing.registry import OpContext, operation
from jurisgrid.editing.registry import get as get_op
from jurisgrid.editing.scope import require_county_wide
from jurisgrid.editing.transaction import edit_transaction
from jurisgrid.errors import InvalidInput
from jurisgrid.geo.lookup import GridIndex
from jurisgrid.models.invariants import AREA_TOLERANCE_M2, STATEMENTS, Violation
from jurisgrid.models.partitions import insert_staged
from jurisgrid.onboard.plan import Plan
from jurisgrid.seed.load import copy_rows

# Zone and station outlines of the loaded units: exact unions of their grids. (models/derived.py
# snaps its unions to the 1e-7° lattice, which is exact for lattice data such as the demo's; a
# bureau's grids — reprojected, surveyed, repaired — are not on it, and a snapped union drifts
# from the union of its grids by millimetres along every edge: over a zone, more than the
# 0.01 m² that invariant 2 allows. The exact union is what the invariant compares with.)
_ZONE_OUTLINES = """
UPDATE zone z SET geom = u.geom
FROM (SELECT zone_id, ST_Multi(ST_Union(geom)) AS geom FROM grid WHERE zone_id = ANY(%(z)s)
      GROUP BY zone_id) u
WHERE z.id = u.zone_id
"""
_STATION_OUTLINES = """
UPDATE station s SET geom = u.geom
FROM (SELECT station_id, ST_Multi(ST_Union(geom)) AS geom FROM zone WHERE station_id = ANY(%(s)s)
      GROUP BY station_id) u
WHERE s.id = u.station_id
"""


def _invariants(conn: Any) -> list[Violation]:
    """The invariants of models/invariants.py that a load can break: coverage, outlines,
    grids inside their communities. (Membership is not re-checked point by point — 10⁵
    ``jg_grid_at`` calls: the points were given their grids by the same rule, in memory.)"""
    out: list[Violation] = []
    gap, outside, overlap = conn.exec_driver_sql(STATEMENTS["coverage_gap_overlap"]).one()
    for what, m2 in (
        ("gap of {:.4f} m² not covered by grids", gap),
        ("{:.4f} m² of grids outside the county", outside),
        ("grids overlap by {:.4f} m²", overlap),
    ):
        if m2 > AREA_TOLERANCE_M2:
            out.append(Violation("coverage", "county", what.format(m2)))
    for name in ("zone_outline_drift", "station_outline_drift", "grid_outside_community"):
        for code, m2 in conn.exec_driver_sql(STATEMENTS[name], {"tol": AREA_TOLERANCE_M2}):
            out.append(Violation("nesting", code, f"{name.replace('_', ' ')}: {m2:.4f} m²"))
    return out


def _outlines(cur: Any, zone_ids: list[int], station_ids: list[int]) -> None:
    cur.execute(_ZONE_OUTLINES, {"z": zone_ids})
    cur.execute(_STATION_OUTLINES, {"s": station_ids})


class InvariantsBroken(InvalidInput):
    """The loaded units would break the database's invariants; ``details`` lists them."""


def _hex(geoms: list[Any]) -> list[str]:
    arr = shapely.set_srid(np.asarray(geoms, dtype=object), 4326)
    return list(shapely.to_wkb(arr, hex=True, include_srid=True, output_dimension=2)) if len(arr) else []


def _multi(geoms: list[Any]) -> list[Any]:
    return [shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in geoms]


def _ids(cur: Any, table: str, codes: list[str]) -> dict[str, int]:
    cur.execute(f"SELECT code, id FROM {table} WHERE code = ANY(%s)", (codes,))
    return dict(cur.fetchall())


def _grid_ids(
    index: GridIndex, grid_ids: dict[str, int], lon: np.ndarray, lat: np.ndarray
) -> list[int | None]:
    res = index.resolve(lon, lat)
    ids = np.array([grid_ids[c] for c in index.codes] + [0], dtype=np.int64)  # -1 → the sentinel
    return [
        int(v) if k >= 0 else None for k, v in zip(res.grid.tolist(), ids[res.grid].tolist(), strict=True)
    ]


def existing_counties(engine: Engine, codes: list[str]) -> list[str]:
    with engine.connect() as conn:
        return [
            c
            for (c,) in conn.exec_driver_sql("SELECT code FROM county WHERE code = ANY(%(c)s)", {"c": codes})
        ]


class LoadJurisdiction(Command):
    """Write a checked :class:`~jurisgrid.onboard.plan.Plan` (``jurisgrid load``). Not plain
    JSON (Shapely geometries, dataclasses): it cannot be scheduled."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    plan: Plan
    repairs: list[dict[str, Any]]


@dataclass
class _LoadRun:
    """What the running load reports back to :func:`write_plan` (progress, counts)."""

    step: Callable[[str], None] = lambda s: None
    counts: dict[str, int] = field(default_factory=dict)


_RUN: ContextVar[_LoadRun | None] = ContextVar("jurisgrid_load_run", default=None)


@operation("loadJurisdiction", LoadJurisdiction, Role.ADMIN, schedulable=False, places_points=True)
def load_op(conn: Connection, ctx: OpContext, cmd: LoadJurisdiction) -> list[str]:
    """The load as an edit operation: the same role check and revision as every edit (so the
    history says who loaded which county when, and ``asOf`` an earlier instant does not see
    it), its units written by COPY, its points placed in memory, and the invariants checked over
    the whole database before the revision closes."""
    require_county_wide(ctx.principal, "a load")
    run = _RUN.get() or _LoadRun()
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cur.execute("SET LOCAL statement_timeout = 0")
    run.counts = _write(cur, cmd.plan, cmd.repairs, run.step)
    run.step("checking invariants")
    broken = _invariants(conn)
    if broken:
        raise InvariantsBroken(
            f"the loaded units would break {len(broken)} invariant(s): "
            + "; ".join(f"{v.invariant} {v.subject}: {v.detail}" for v in broken[:5])
            + "; nothing was written",
            details=[{"invariant": v.invariant, "subject": v.subject, "detail": v.detail} for v in broken],
        )
    run.step("closing the revision")  # editing/execute.py closes it when this returns
    return []


def write_plan(
    engine: Engine,
    plan: Plan,
    *,
    repairs: list[dict[str, Any]],
    dry_run: bool,
    step: Callable[[str], None] = lambda s: None,
    principal: Principal | None = None,
    reason: str | None = None,
) -> tuple[dict[str, int], int | None]:
    """Write ``plan`` in one transaction (rolled back when ``dry_run``) as one revision of the
    ``loadJurisdiction`` operation (editing/registry.py: the role check, the revision, the
    history); returns the row counts added and the revision (None on a dry run).
    ``principal``: who loads (default: the local admin, as ``jurisgrid load`` acts)."""
    who = principal or Principal(actor="cli", role=Role.ADMIN, station_code=None)
    spec = get_op("loadJurisdiction")
    require_role(who, spec.role)
    cmd = spec.parse(LoadJurisdiction(plan=plan, repairs=repairs))
    run = _LoadRun(step=step)
    token = _RUN.set(run)
    try:
        with edit_transaction(engine) as (conn, trans):
            try:
                out = execute(conn, "loadJurisdiction", cmd, principal=who, settings=get_settings().edit,
                              reason=reason, effective_from=None, expected_revision=None)
            except IntegrityError as exc:
                trans.rollback()
                detail = getattr(exc.orig, "diag", None)
                msg = getattr(detail, "message_detail", None) or str(exc.orig).splitlines()[0]
                raise InvalidInput(f"the database refused a row: {msg}; nothing was written") from None
            if dry_run:
                trans.rollback()
            else:
                trans.commit()
    finally:
        _RUN.reset(token)
    assert out.revision is not None
    return run.counts, None if dry_run else out.revision.id


def _write(
    cur: Any, plan: Plan, repairs: list[dict[str, Any]], step: Callable[[str], None]
) -> dict[str, int]:
    step("counties, sectors, townships, communities")
    if plan.new_categories:
        cur.executemany(
            "INSERT INTO incident_category (code, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            sorted(plan.new_categories.items()),
        )
    county_repairs = json.dumps([r for r in repairs], ensure_ascii=False)
    copy_rows(
        cur,
        "county",
        ("code", "name", "repairs", "geom", "time_zone"),
        zip(
            [c.code for c in plan.counties],
            [c.name for c in plan.counties],
            [county_repairs] * len(plan.counties),
            _hex(_multi([c.geom for c in plan.counties])),
            [plan.time_zone] * len(plan.counties),
            strict=True,
        ),
    )
    county_ids = _ids(cur, "county", [c.code for c in plan.counties])
    copy_rows(
        cur,
        "sector",
        ("code", "name", "county_id"),
        ((s.code, s.name, county_ids[s.county]) for s in plan.sectors),
    )
    sector_ids = _ids(cur, "sector", [s.code for s in plan.sectors])
    tw = plan.townships
    copy_rows(
        cur,
        "township",
        ("code", "name", "kind", "county_id", "seat", "geom"),
        zip(
            [t.code for t in tw],
            [t.name for t in tw],
            [t.kind for t in tw],
            [county_ids[t.county] for t in tw],
            _hex([t.geom.point_on_surface() for t in tw]),
            _hex(_multi([t.geom for t in tw])),
            strict=True,
        ),
    )
    township_ids = _ids(cur, "township", [t.code for t in tw])
    cm = plan.communities
    copy_rows(
        cur,
        "community",
        ("code", "name", "kind", "township_id", "geom"),
        zip(
            [c.code for c in cm],
            [c.name for c in cm],
            [c.kind for c in cm],
            [township_ids[c.township] for c in cm],
            _hex(_multi([c.geom for c in cm])),
            strict=True,
        ),
    )
    community_ids = _ids(cur, "community", [c.code for c in cm])
    step("stations, zones, grids")
    st = plan.stations
    copy_rows(
        cur,
        "station",
        ("code", "name", "kind", "sector_id", "address", "phone", "seat"),
        zip(
            [s.code for s in st],
            [s.name for s in st],
            [s.kind for s in st],
            [sector_ids[s.sector] for s in st],
            [s.address for s in st],
            [s.phone for s in st],
            _hex([s.seat for s in st]),
            strict=True,
        ),
    )
    station_ids = _ids(cur, "station", [s.code for s in st])
    copy_rows(
        cur,
        "zone",
        ("code", "name", "kind", "has_office", "station_id"),
        ((z.code, z.name, z.kind, "t" if z.has_office else "f", station_ids[z.station]) for z in plan.zones),
    )
    zone_ids = _ids(cur, "zone", [z.code for z in plan.zones])
    gr = plan.grids
    copy_rows(
        cur,
        "grid",
        ("code", "name", "community_id", "zone_id", "geom"),
        zip(
            [g.code for g in gr],
            [g.name for g in gr],
            [community_ids[g.community] for g in gr],
            [zone_ids[g.zone] for g in gr],
            _hex(_multi([g.geom for g in gr])),
            strict=True,
        ),
    )
    cur.execute("ANALYZE grid")
    grid_ids = _ids(cur, "grid", [g.code for g in gr])
    # every point's grid by the boundary rule, in memory (geo/lookup.py: the same rule as
    # jg_grid_at, tested against it); with grid_id set, the membership trigger does nothing;
    # staged, then inserted with their county, the partition key (models/partitions.py)
    index = GridIndex([g.code for g in gr], [g.geom for g in gr])
    step("address points")
    ad = plan.addresses
    if ad:
        lon, lat = np.array([a.lon for a in ad]), np.array([a.lat for a in ad])
        gid = _grid_ids(index, grid_ids, lon, lat)
        cur.execute("CREATE TEMP TABLE load_address_point (code text, address text, households int, "
                    "population int, houses int, units int, grid_id int, geom geometry) ON COMMIT DROP")
        copy_rows(
            cur,
            "load_address_point",
            ("code", "address", "households", "population", "houses", "units", "grid_id", "geom"),
            zip(
                [a.code for a in ad],
                [a.address for a in ad],
                [a.households for a in ad],
                [a.population for a in ad],
                [a.houses for a in ad],
                [a.units for a in ad],
                gid,
                _hex(list(shapely.points(lon, lat))),
                strict=True,
            ),
        )
        insert_staged(cur, "address_point", "load_address_point",
                      "code, address, households, population, houses, units", grid_known=True,
                      refuse_taken=True)
    step("incidents")
    inc = plan.incidents
    if inc:
        lon, lat = np.array([i.lon for i in inc]), np.array([i.lat for i in inc])
        gid = _grid_ids(index, grid_ids, lon, lat)
        cur.execute("CREATE TEMP TABLE load_incident (code text, category text, occurred_at timestamptz, "
                    "grid_id int, geom geometry) ON COMMIT DROP")
        copy_rows(
            cur,
            "load_incident",
            ("code", "category", "occurred_at", "grid_id", "geom"),
            zip(
                [i.code for i in inc],
                [i.category for i in inc],
                [i.occurred_at.isoformat() for i in inc],
                gid,
                _hex(list(shapely.points(lon, lat))),
                strict=True,
            ),
        )
        insert_staged(cur, "incident", "load_incident", "code, category, occurred_at",
                      grid_known=True, refuse_taken=True)
    step("personnel")
    copy_rows(cur, "person", ("code", "name", "phone"), ((p.code, p.name, p.phone) for p in plan.persons))
    person_ids = _ids(cur, "person", [p.code for p in plan.persons])
    copy_rows(
        cur,
        "assignment",
        ("person_id", "role", "station_id", "zone_id", "community_id", "grid_id", "valid_from", "valid_to"),
        (
            (
                person_ids[a.person],
                a.role,
                station_ids[a.station],
                zone_ids[a.zone] if a.zone else None,
                community_ids[a.community] if a.community else None,
                grid_ids[a.grid] if a.grid else None,
                a.valid_from.isoformat(),
                a.valid_to.isoformat() if a.valid_to else None,
            )
            for a in plan.assignments
        ),
    )
    step("zone and station outlines")
    _outlines(cur, [zone_ids[z.code] for z in plan.zones], [station_ids[s.code] for s in plan.stations])
    for t in ("county", "township", "community", "station", "zone", "grid", "address_point", "incident"):
        cur.execute(f"ANALYZE {t}")
    return plan.counts()
