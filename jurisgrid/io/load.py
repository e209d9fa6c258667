"""The database side of import: reference data, and loading checked records all-or-nothing.

Address points and incidents are upserted by code (a re-import of the same file changes
nothing); the membership triggers give every point its grid. Grids are updated by code (name,
zone, geometry) or added, inside one revision (editing/revisions.py), whose closing checks the
invariants — a gap, an overlap, a grid outside its community or the county refuses the import.
Everything goes through a temporary table filled with COPY, then one set-based statement.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from sqlalchemy import Connection

from jurisgrid.config import get_settings
from jurisgrid.io.kinds import Refs
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
        from jurisgrid.errors import NotFound

        raise NotFound("the database holds no county yet (load one first: jurisgrid seed demo)")
    cats: dict[str, str] = {}
    for code, name in conn.exec_driver_sql("SELECT code, name FROM incident_category"):
        cats[code.upper()] = code
        cats[name] = code
    return Refs(county=shapely.from_wkb(bytes(county)),
                zones={c for (c,) in conn.exec_driver_sql("SELECT code FROM zone")},
                communities={c for (c,) in conn.exec_driver_sql("SELECT code FROM community")},
                categories=cats, max_vertices=get_settings().edit.edit_max_vertices)


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
    flags = [bool(v) for (v,) in conn.exec_driver_sql(SQL[f"upsert_{kind}"])]
    ins = sum(flags)
    return LoadResult(inserted=ins, updated=len(flags) - ins, unchanged=len(records) - len(flags))


def load_grids(conn: Connection, records: list[dict[str, Any]], *, actor: str, reason: str | None,
               role: str = "admin", expected_revision: int | None = None,
               progress: Callable[[int], None] | None = None) -> LoadResult:
    """Update grids by code and add new ones as one revision, in the caller's transaction.

    Raises :class:`NothingChanged` when the file matches the database (roll back: no revision),
    ``errors.InvalidGeometry`` when the result would break the invariants, ``errors.Conflict``
    on a stale ``expected_revision``."""
    from jurisgrid.editing.revisions import close_revision, open_revision

    rid = open_revision(conn, actor=actor, reason=reason, kind="importGrids", role=role,
                        expected_revision=expected_revision)
    geoms = _with_srid([r["geom"] for r in records])
    conn.exec_driver_sql(SQL["stage_grids"])
    _copy(conn, "import_grids", ("code", "name", "community", "zone", "geom"),
          ((r["code"], r["name"], r["community"], r["zone"], _ewkb(g))
           for r, g in zip(records, geoms, strict=True)), progress)
    updated = [c for (c,) in conn.exec_driver_sql(SQL["update_grids"])]
    inserted = [c for (c,) in conn.exec_driver_sql(SQL["insert_grids"])]
    if not updated and not inserted:
        raise NothingChanged
    summary = close_revision(conn, rid)
    return LoadResult(inserted=len(inserted), updated=len(updated),
                      unchanged=len(records) - len(updated) - len(inserted), revision=rid,
                      summary={"grids": summary.impact.grids, "zones": summary.impact.zones,
                               "stations": summary.impact.stations, "bbox": summary.bbox,
                               "addressPoints": summary.impact.address_points,
                               "population": summary.impact.population})
