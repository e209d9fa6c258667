"""The database side of import: reference data, and loading checked records all-or-nothing.

Address points and incidents are upserted by code (a re-import of the same file changes
nothing); the membership triggers give every point its grid. Grids are updated by code (name,
zone, geometry) or added by the ``importGrids`` edit operation — through the same registry,
role check and revision as every other edit (editing/execute.py) — whose closing checks the
invariants: a gap, an overlap, a grid outside its community or the county refuses the import.
Everything goes through a temporary table filled with COPY, then one set-based statement.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import shapely
from sqlalchemy import Connection

from jurisgrid import codes
from jurisgrid.auth.checks import require_role
from jurisgrid.auth.principal import Principal, Role
from jurisgrid.config import get_settings
from jurisgrid.editing.commands import ImportGrids
from jurisgrid.editing.execute import execute
from jurisgrid.editing.registry import OpContext, operation
from jurisgrid.editing.registry import get as get_op
from jurisgrid.editing.scope import require_county_wide
from jurisgrid.errors import NotFound
from jurisgrid.io.kinds import Refs
from jurisgrid.models import categories
from jurisgrid.models.sqlfiles import named_statements

BATCH = 5_000


SQL = named_statements("io.sql")


@dataclass
class LoadResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    revision: int | None = None
    summary: dict[str, Any] | None = None


class NothingChanged(Exception):
    """Raised inside the grid import's transaction when the file matches the database."""


def load_refs(conn: Connection) -> Refs:
    county = conn.exec_driver_sql("SELECT ST_AsBinary(ST_Union(geom)) FROM county").scalar_one()
    if county is None:
        raise NotFound("the database holds no county yet (load one first: jurisgrid seed demo)")
    cats = categories.lookup(conn)  # codes, names and local 警情 codes (models/categories.py)
    return Refs(county=shapely.from_wkb(bytes(county)),
                zones={c for (c,) in conn.exec_driver_sql("SELECT code FROM zone")},
                communities={c for (c,) in conn.exec_driver_sql("SELECT code FROM community")},
                categories=cats, max_vertices=get_settings().edit.edit_max_vertices,
                code_formats=codes.formats(get_settings().edit))


def _copy(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
          progress: Callable[[int], None] | None) -> None:
    """COPY ``rows`` into ``table`` in batches (CSV; geometry as EWKB hex)."""
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
    buf, w, n = io.StringIO(), None, 0
    w = csv.writer(buf)
    for row in rows:
        w.writerow(row)
        n += 1
        if n % BATCH == 0:
            buf.seek(0)
            cur.copy_expert(sql, buf)
            buf.seek(0)
            buf.truncate()
            if progress:
                progress(BATCH)
    buf.seek(0)
    cur.copy_expert(sql, buf)
    if progress:
        progress(n % BATCH)


def _ewkb(g: Any) -> str:
    return str(shapely.to_wkb(g, hex=True, include_srid=True, output_dimension=2)) if g is not None else ""


def _with_srid(geoms: list[Any]) -> list[Any]:
    return list(shapely.set_srid(geoms, 4326)) if geoms else []


def load_points(conn: Connection, kind: str, records: list[dict[str, Any]], *,
                progress: Callable[[int], None] | None = None) -> LoadResult:
    """Upsert address points or incidents by code, in the caller's transaction."""
    geoms = _with_srid([r["geom"] for r in records])
    cols: tuple[str, ...]
    rows: Iterable[tuple[Any, ...]]
    if kind == "addresses":
        cols = ("code", "address", "households", "population", "houses", "units", "geom")
        rows = ((r["code"], r["address"], r["households"], r["population"], r["houses"], r["units"], _ewkb(g))
                for r, g in zip(records, geoms, strict=True))
    else:
        cols = ("code", "category", "occurred_at", "geom")
        rows = ((r["code"], r["category"], r["occurred_at"].isoformat(), _ewkb(g))
                for r, g in zip(records, geoms, strict=True))
    conn.exec_driver_sql(SQL[f"stage_{kind}"])
    _copy(conn, f"import_{kind}", cols, rows, progress)
    conn.exec_driver_sql(f"ANALYZE import_{kind}")
    conn.exec_driver_sql(SQL["assign_grids"].format(table=f"import_{kind}"))
    conn.exec_driver_sql(SQL["assign_counties"].format(table=f"import_{kind}"))
    if kind == "incidents":  # their month partitions first (models/partitions.py)
        conn.exec_driver_sql("SELECT jg_stage_incident_months('import_incidents')")
    flags = [bool(v) for stmt in (f"update_{kind}", f"insert_{kind}")
             for (v,) in conn.exec_driver_sql(SQL[stmt])]
    ins = sum(flags)
    return LoadResult(inserted=ins, updated=len(flags) - ins, unchanged=len(records) - len(flags))


@dataclass
class _ImportRun:
    """What the running grid import reports back to :func:`load_grids` (counts, progress)."""

    progress: Callable[[int], None] | None = None
    updated: list[str] = field(default_factory=list)
    inserted: list[str] = field(default_factory=list)


_RUN: ContextVar[_ImportRun | None] = ContextVar("jurisgrid_import_run", default=None)


@operation("importGrids", ImportGrids, Role.ADMIN, schedulable=False)
def import_grids(conn: Connection, ctx: OpContext, cmd: ImportGrids) -> list[str]:
    """The grid import as an edit operation: it runs through editing/execute.py like every
    other edit — the same role check, the same revision, invariant checks and optimistic lock.
    A county-wide principal only: an import may touch any grid."""
    require_county_wide(ctx.principal, "a grid import")
    run = _RUN.get() or _ImportRun()
    geoms = _with_srid([r.geom for r in cmd.records])
    conn.exec_driver_sql(SQL["stage_grids"])
    _copy(conn, "import_grids", ("code", "name", "community", "zone", "geom"),
          ((r.code, r.name, r.community, r.zone, _ewkb(g))
           for r, g in zip(cmd.records, geoms, strict=True)), run.progress)
    run.updated = [c for (c,) in conn.exec_driver_sql(SQL["update_grids"])]
    run.inserted = [c for (c,) in conn.exec_driver_sql(SQL["insert_grids"])]
    if not run.updated and not run.inserted:
        raise NothingChanged
    return []


def load_grids(conn: Connection, records: list[dict[str, Any]], *, actor: str, reason: str | None,
               role: str = "admin", expected_revision: int | None = None,
               progress: Callable[[int], None] | None = None) -> LoadResult:
    """Update grids by code and add new ones as one revision, in the caller's transaction —
    through the edit operation registry (``importGrids``, editing/registry.py), so the import
    gets the role check and the same checks as every other edit.

    Raises :class:`NothingChanged` when the file matches the database (roll back: no revision),
    ``errors.InvalidGeometry`` when the result would break the invariants, ``errors.Conflict``
    when a revision after ``expected_revision`` changed a grid the file changes, and
    ``errors.Forbidden`` when ``role`` may not import."""
    principal = Principal(actor=actor, role=Role(role), station_code=None)
    spec = get_op("importGrids")
    require_role(principal, spec.role)
    cmd = spec.parse({"records": [{k: r.get(k) for k in ("code", "name", "community", "zone", "geom")}
                                  for r in records]})
    run = _ImportRun(progress=progress)
    token = _RUN.set(run)
    try:
        out = execute(conn, "importGrids", cmd, principal=principal,
                      settings=get_settings().edit, reason=reason, effective_from=None,
                      expected_revision=expected_revision)
    finally:
        _RUN.reset(token)
    assert out.revision is not None
    i = out.impact
    return LoadResult(inserted=len(run.inserted), updated=len(run.updated),
                      unchanged=len(records) - len(run.updated) - len(run.inserted),
                      revision=out.revision.id,
                      summary={"grids": i.grids, "zones": i.zones, "stations": i.stations,
                               "bbox": out.bbox, "addressPoints": i.address_points,
                               "population": i.population, "warnings": i.warnings})
