"""Tiles from PostGIS: a prepared statement answers a tile's ETag and, unless the client
already holds that version, the layer's prepared ST_AsMVT statement the tile.

The tile SQL is ``sql/tiles_bounds.sql`` + ``sql/tiles_<layer>.sql`` (parameters $1 z, $2 x,
$3 y, $4 crs, $5..$8 the WGS 84 box :func:`jurisgrid.tiles.layers.read_box` of the rows that
can reach the tile); :func:`tile_sql` gives it as is, for the benchmark's direct runs. The ETag
is md5 over (TILE_FORMAT, layer, z/x/y, crs, count and max id of the ``tile_change`` rows of
the layer whose bbox meets that same box).
Rows are only ever added, so a change that commits after one with a higher id still changes
the count and so the ETag.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection

from jurisgrid.models.sqlfiles import sql_text
from jurisgrid.tiles.layers import LAYERS, TileRequest, read_box

# bump when the tile SQL changes what a tile holds: every cached tile then revalidates to new
TILE_FORMAT = "jg-mvt-3"


_read = cache(sql_text)


_IDENTITY_SHIFT = "sh AS (SELECT k, g FROM r)"
TILE_PARAM_TYPES = "integer, integer, integer, text, float8, float8, float8, float8"


@cache
def tile_sql(layer: str, crs: str = "wgs84") -> str:
    """The ST_AsMVT statement of a layer: one row, one bytea. Parameters $1..$8 as above.

    Polygon layers name their features ``r(k, g)`` and draw ``sh(k, g)``; for WGS 84 ``sh`` is
    ``r`` itself, for GCJ-02 / BD-09 it is ``r`` with every vertex moved (sql/tiles_shift.sql).
    """
    if layer not in LAYERS:
        raise KeyError(layer)
    shift = _IDENTITY_SHIFT if crs == "wgs84" else _strip_comments(_read("tiles_shift.sql"))
    return ("WITH " + _strip_comments(_read("tiles_bounds.sql")) + ",\n"
            + _read(f"tiles_{layer}.sql").replace("{shift}", shift))


def _strip_comments(sql: str) -> str:
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--")).strip()


# the change-log rows of a layer whose bbox meets a box: count and newest id
_CHANGES_SQL = ("SELECT count(*), coalesce(max(id), 0) FROM tile_change WHERE layer = $1 "
                "AND (bbox IS NULL OR bbox && ST_MakeEnvelope($2, $3, $4, $5, 4326))")

@cache
def both_sql(layer: str, crs: str) -> str:
    """The change-log counts ($5..$8 box) and the tile in one statement (parameters as tile_sql)."""
    changes = _CHANGES_SQL.replace("$1", f"'{layer}'").replace("$2, $3, $4, $5", "$5, $6, $7, $8")
    return f"SELECT c.*, ({tile_sql(layer, crs)}) FROM ({changes}) c"


def etag_of(req: TileRequest, count: int, newest: int) -> str:
    key = f"{TILE_FORMAT}/{req.layer.name}/{req.z}/{req.x}/{req.y}/{req.crs}/{count}/{newest}"
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
    params = {"z": req.z, "x": req.x, "y": req.y, "crs": req.crs, "layer": req.layer.name,
              "x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3]}
    args = "%(z)s, %(x)s, %(y)s, %(crs)s, %(x0)s, %(y0)s, %(x1)s, %(y1)s"
    if not known:  # nothing to revalidate: the change-log counts and the tile in one round trip
        count, newest, data = _execute(
            conn, f"jg_tile_both_{req.layer.name}_{req.crs}", both_sql(req.layer.name, req.crs),
            TILE_PARAM_TYPES, args, params)
        return Tile(etag_of(req, count, newest), bytes(data))
    count, newest = _execute(conn, "jg_tile_changes", _CHANGES_SQL, "text, float8, float8, float8, float8",
                             "%(layer)s, %(x0)s, %(y0)s, %(x1)s, %(y1)s", params)
    etag = etag_of(req, count, newest)
    if etag in known or "*" in known:
        return Tile(etag, None)
    data = _execute(conn, f"jg_tile_{req.layer.name}_{req.crs}", tile_sql(req.layer.name, req.crs),
                    TILE_PARAM_TYPES, args, params)[0]
    return Tile(etag, bytes(data))
