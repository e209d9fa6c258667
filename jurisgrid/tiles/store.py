"""Tiles from PostGIS: a prepared statement answers a tile's ETag and, unless the client
already holds that version, the layer's prepared ST_AsMVT statement the tile.

The tile SQL is ``sql/tiles_bounds.sql`` + ``sql/tiles_<layer>.sql`` (parameters $1 z, $2 x,
$3 y, $4 crs, $5..$8 the WGS 84 box :func:`jurisgrid.tiles.layers.read_box` of the rows that
can reach the tile); :func:`tile_sql` gives it as is, for the benchmark's direct runs. The ETag
is md5 over (TILE_FORMAT, layer, z/x/y, crs, count and max id of the ``tile_change`` rows of
the layer whose bbox meets that same box).
Rows are only ever added, so a change that commits after one with a higher id still changes
the count and so the ETag.

Zones also carry class, workload and recommended officers under the current sizing policy
($9..$12, tiles/sizing.py); their ETag adds the policy version and a digest of the sizing of
the zones in the tile, and their statements return the sizing's key so a stale table is
recomputed and the statement run again (at most three times under a stream of writes).
``?asOf=`` tiles (:func:`fetch_tile_as_of`, tiles/asof.py) read ``sql/tiles_asof_<layer>.sql``
($9 the instant) and carry a content-hash ETag.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection

from jurisgrid.models.sqlfiles import sql_text
from jurisgrid.tiles.asof import ASOF_LAYERS, is_final
from jurisgrid.tiles.layers import LAYERS, TileRequest, read_box
from jurisgrid.tiles.sizing import KEY_SQL, compute, zone_sizing

# bump when the tile SQL changes what a tile holds: every cached tile then revalidates to new
TILE_FORMAT = "jg-mvt-4"


_read = cache(sql_text)


_IDENTITY_SHIFT = "sh AS (SELECT k, g FROM r)"
TILE_PARAM_TYPES = "integer, integer, integer, text, float8, float8, float8, float8"
# the zones statement also takes the zone sizing ($9..$12, jurisgrid/tiles/sizing.py)
ZONE_PARAM_TYPES = TILE_PARAM_TYPES + ", text[], text[], float8[], integer[]"
ASOF_PARAM_TYPES = TILE_PARAM_TYPES + ", timestamptz"


def param_types(layer: str) -> str:
    return ZONE_PARAM_TYPES if layer == "zones" else TILE_PARAM_TYPES


_ARGS = "%(z)s, %(x)s, %(y)s, %(crs)s, %(x0)s, %(y0)s, %(x1)s, %(y1)s"
_ZONE_ARGS = _ARGS + ", %(zcodes)s, %(zclasses)s, %(zworkloads)s, %(zrecommended)s"
_CHANGE_TYPES = "text, float8, float8, float8, float8"
_CHANGE_ARGS = "%(layer)s, %(x0)s, %(y0)s, %(x1)s, %(y1)s"


@cache
def tile_sql(layer: str, crs: str = "wgs84", *, as_of: bool = False) -> str:
    """The ST_AsMVT statement of a layer: one row, one bytea. Parameters $1..$8 as above.

    Polygon layers name their features ``r(k, g)`` and draw ``sh(k, g)``; for WGS 84 ``sh`` is
    ``r`` itself, for GCJ-02 / BD-09 it is ``r`` with every vertex moved (sql/tiles_shift.sql).
    """
    if layer not in LAYERS or (as_of and layer not in ASOF_LAYERS):
        raise KeyError(layer)
    shift = _IDENTITY_SHIFT if crs == "wgs84" else _strip_comments(_read("tiles_shift.sql"))
    body = _read(f"tiles_asof_{layer}.sql" if as_of else f"tiles_{layer}.sql")
    return "WITH " + _strip_comments(_read("tiles_bounds.sql")) + ",\n" + _strip_comments(body).replace(
        "{shift}", shift)


def _strip_comments(sql: str) -> str:
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--")).strip()


# the change-log rows of a layer whose bbox meets a box: count and newest id
_CHANGES_SQL = ("SELECT count(*), coalesce(max(id), 0) FROM tile_change WHERE layer = $1 "
                "AND (bbox IS NULL OR bbox && ST_MakeEnvelope($2, $3, $4, $5, 4326))")
# zones also: the codes of the zones meeting the box (the very zones the tile holds), whose
# sizing goes into the ETag (tiles/sizing.py ZoneSizingTable.digest_of), and the sizing's key
_ZONE_CHANGES_SQL = ("SELECT count(*), coalesce(max(id), 0), (SELECT coalesce(array_agg(code), '{}') "
                     "FROM zone WHERE geom && ST_MakeEnvelope($2, $3, $4, $5, 4326)), "
                     f"{KEY_SQL} FROM tile_change WHERE layer = $1 "
                     "AND (bbox IS NULL OR bbox && ST_MakeEnvelope($2, $3, $4, $5, 4326))")


def changes_sql(layer: str) -> str:
    return _ZONE_CHANGES_SQL if layer == "zones" else _CHANGES_SQL


@cache
def both_sql(layer: str, crs: str) -> str:
    """The change-log counts ($5..$8 box) and the tile in one statement (parameters as tile_sql)."""
    changes = changes_sql(layer).replace("$1", f"'{layer}'").replace("$2, $3, $4, $5", "$5, $6, $7, $8")
    return f"SELECT c.*, ({tile_sql(layer, crs)}) FROM ({changes}) c"


def etag_of(req: TileRequest, count: int, newest: int, extra: str = "") -> str:
    key = f"{TILE_FORMAT}/{req.layer.name}/{req.z}/{req.x}/{req.y}/{req.crs}/{count}/{newest}{extra}"
    return hashlib.md5(key.encode()).hexdigest()


@dataclass(frozen=True)
class Tile:
    etag: str             # without quotes
    data: bytes | None    # None: the client's copy is current (304)


def empty_etag(req: TileRequest) -> str:
    key = f"{TILE_FORMAT}/{req.layer.name}/{req.z}/{req.x}/{req.y}/{req.crs}/empty"
    return hashlib.md5(key.encode()).hexdigest()


def _execute(conn: Connection, name: str, sql: str, types: str, args: str,
             params: dict[str, Any]) -> tuple[Any, ...]:
    """Run a statement prepared once per database connection (planning a tile statement costs
    about as much as running it) on the DB-API cursor — SQLAlchemy's result machinery costs more
    Python time than a one-row answer is worth — and return its one row."""
    info = conn.connection.info
    cur = conn.connection.cursor()
    try:
        if not info.get(name):
            cur.execute(f"PREPARE {name}({types}) AS {sql}")
            info[name] = True
        cur.execute(f"EXECUTE {name}({args})", params)
        row = cur.fetchone()
    finally:
        cur.close()
    if row is None:
        raise RuntimeError(f"{name} returned no row")
    return tuple(row)


def fetch_tile(conn: Connection, req: TileRequest, *, known: list[str]) -> Tile:
    """The tile ``req``, or only its ETag when that is one of ``known`` (or ``known`` has '*').

    Without ETags to revalidate, one statement answers the change-log counts and the tile. With
    them, two: the ETag, then (unless the client's copy is current) the very tile statement of
    :func:`tile_sql`. The ETag is read first, so a change committed in between can only pair
    newer data with an older ETag — which the next revalidation replaces — never old data with
    a new ETag. Run on tile_connection() sessions, which plan generically (tiles/engine.py).
    """
    if req.below_minzoom:
        etag = empty_etag(req)
        return Tile(etag, None if etag in known or "*" in known else b"")
    box = read_box(req)
    params: dict[str, Any] = {"z": req.z, "x": req.x, "y": req.y, "crs": req.crs,
                              "layer": req.layer.name,
                              "x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3]}
    name, types, args = req.layer.name, TILE_PARAM_TYPES, _ARGS
    sizing = zone_sizing(conn) if name == "zones" else None

    def run(statement: str, sql: str, *, changes_only: bool = False) -> tuple[Any, ...]:
        nonlocal sizing
        if sizing is None:
            if changes_only:
                return _execute(conn, statement, sql, _CHANGE_TYPES, _CHANGE_ARGS, params)
            return _execute(conn, statement, sql, types, args, params)
        for _ in range(3):  # the sizing passed must be that of the data the statement sees
            if changes_only:
                row = _execute(conn, statement, sql, _CHANGE_TYPES, _CHANGE_ARGS, params)
            else:
                row = _execute(conn, statement, sql, ZONE_PARAM_TYPES, _ZONE_ARGS,
                               {**params, **sizing.params()})
            if row[3] == sizing.key:
                break
            sizing = compute(conn)
        return row

    def tag(row: tuple[Any, ...]) -> str:
        extra = "" if sizing is None else sizing.digest_of(row[2])
        return etag_of(req, row[0], row[1], extra)

    if not known:  # nothing to revalidate: the change-log counts and the tile in one round trip
        row = run(f"jg_tile_both_{name}_{req.crs}", both_sql(name, req.crs))
        return Tile(tag(row), bytes(row[-1]))
    row = run(f"jg_tile_changes_{name == 'zones'}", changes_sql(name), changes_only=True)
    etag = tag(row)
    if etag in known or "*" in known:
        return Tile(etag, None)
    args = _ZONE_ARGS if sizing is not None else args
    types = ZONE_PARAM_TYPES if sizing is not None else types
    data = _execute(conn, f"jg_tile_{name}_{req.crs}", tile_sql(name, req.crs), types, args,
                    {**params, **(sizing.params() if sizing is not None else {})})[0]
    return Tile(etag, bytes(data))


_PENDING_SQL = ("SELECT EXISTS (SELECT 1 FROM scheduled_edit WHERE applied_revision IS NULL "
                "AND cancelled_at IS NULL AND effective_from <= %(t)s)")


@dataclass(frozen=True)
class AsOfTile:
    etag: str             # a hash of the content: history rows at a past instant do not change
    data: bytes | None    # None: the client's copy is current (304)
    final: bool           # nothing can change this tile any more (asof.is_final)


def fetch_tile_as_of(conn: Connection, req: TileRequest, as_of: datetime, *, known: list[str]) -> AsOfTile:
    """The tile ``req`` as of the instant ``as_of`` (≤ now; tiles/asof.py), from the history tables."""
    now = datetime.now(UTC)
    cur = conn.connection.cursor()
    try:
        cur.execute(_PENDING_SQL, {"t": as_of})
        pending = bool(cur.fetchone()[0])  # type: ignore[index]
    finally:
        cur.close()
    final = is_final(as_of, now=now, pending_due=pending)
    if req.below_minzoom:
        data = b""
    else:
        box = read_box(req)
        params = {"z": req.z, "x": req.x, "y": req.y, "crs": req.crs, "t": as_of,
                  "x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3]}
        data = bytes(_execute(conn, f"jg_tile_asof_{req.layer.name}_{req.crs}",
                              tile_sql(req.layer.name, req.crs, as_of=True), ASOF_PARAM_TYPES,
                              _ARGS + ", %(t)s", params)[0])
    key = f"{TILE_FORMAT}/asof/{req.layer.name}/{req.z}/{req.x}/{req.y}/{req.crs}/{as_of.isoformat()}/"
    etag = hashlib.md5(key.encode() + data).hexdigest()
    return AsOfTile(etag, None if etag in known or "*" in known else data, final)
