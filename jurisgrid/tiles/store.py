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
(stored by tiles/sizing.py under a key, $9); their ETag adds the policy version and a digest of
the sizing of the zones in the tile, and their statements return the current key so stale
figures are computed again and the statement run again (at most three times under a stream
of writes).
``?asOf=`` tiles (:func:`fetch_tile_as_of`, tiles/asof.py) read ``sql/tiles_asof_<layer>.sql``
($9 the instant) and carry a content-hash ETag.
A county's tiles (``?county=``, or any tile of a county-scoped token: tiles/county.py) take the
county code as one more parameter, and their ETag names the county.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Engine

from jurisgrid.db import read_connection
from jurisgrid.models.sqlfiles import sql_text
from jurisgrid.tiles.asof import ASOF_LAYERS, is_final
from jurisgrid.tiles.county import with_county
from jurisgrid.tiles.layers import LAYERS, TileRequest, read_box
from jurisgrid.tiles.pool import tile_pool
from jurisgrid.tiles.sizing import compute, digest_sql, key_check_sql, known_key, remember_key

# bump when the tile SQL changes what a tile holds: every cached tile then revalidates to new
TILE_FORMAT = "jg-mvt-5"


_read = cache(sql_text)


_IDENTITY_SHIFT = "sh AS (SELECT k, g FROM r)"
TILE_PARAM_TYPES = "integer, integer, integer, text, float8, float8, float8, float8"
# the zones statement also takes the key of the stored zone sizing ($9, jurisgrid/tiles/sizing.py)
ZONE_PARAM_TYPES = TILE_PARAM_TYPES + ", text"
ASOF_PARAM_TYPES = TILE_PARAM_TYPES + ", timestamptz"


def param_types(layer: str) -> str:
    return ZONE_PARAM_TYPES if layer == "zones" else TILE_PARAM_TYPES


_ARGS = "%(z)s, %(x)s, %(y)s, %(crs)s, %(x0)s, %(y0)s, %(x1)s, %(y1)s"
_ZONE_ARGS = _ARGS + ", %(sizing_key)s"
_CHANGE_TYPES = "text, float8, float8, float8, float8"
_CHANGE_ARGS = "%(layer)s, %(x0)s, %(y0)s, %(x1)s, %(y1)s"
_ZONE_CHANGE_TYPES = _CHANGE_TYPES + ", text"
_ZONE_CHANGE_ARGS = _CHANGE_ARGS + ", %(sizing_key)s"


@cache
def tile_sql(layer: str, crs: str = "wgs84", *, as_of: bool = False,
             properties: tuple[str, ...] | None = None, county: bool = False) -> str:
    """The ST_AsMVT statement of a layer: one row, one bytea. Parameters $1..$8 as above.

    Polygon layers name their features ``r(k, g)`` and draw ``sh(k, g)``; for WGS 84 ``sh`` is
    ``r`` itself, for GCJ-02 / BD-09 it is ``r`` with every vertex moved (sql/tiles_shift.sql).
    ``properties`` (``?properties=``, layers.parse_properties) keeps only those attributes: the
    final ST_AsMVT reads them, and the geometry, from the layer's rows ``f``. ``county``: only
    the features of the county whose code is the last parameter (tiles/county.py).
    """
    if layer not in LAYERS or (as_of and layer not in ASOF_LAYERS):
        raise KeyError(layer)
    shift = _IDENTITY_SHIFT if crs == "wgs84" else _strip_comments(_read("tiles_shift.sql"))
    body = _read(f"tiles_asof_{layer}.sql" if as_of else f"tiles_{layer}.sql")
    sql = "WITH " + _strip_comments(_read("tiles_bounds.sql")) + ",\n" + _strip_comments(body).replace(
        "{shift}", shift)
    if county:
        sql = with_county(sql, layer, as_of=as_of)
    if properties is None:
        return sql
    m = _FINAL.search(sql)
    if m is None or any(p not in LAYERS[layer].fields for p in properties):
        raise KeyError(f"{layer}: cannot select properties {properties}")
    cols = "".join(f"f.{p}, " for p in properties)
    return (sql[:m.start()] + f"SELECT ST_AsMVT(t.*, '{m['name']}', 4096, 'geom') FROM "
            f"(SELECT {cols}f.geom FROM {m['source']} WHERE {m['where']}) t")


# the last statement of every tile file: ST_AsMVT over all of the rows f
_FINAL = re.compile(r"SELECT ST_AsMVT\(f\.\*, '(?P<name>\w+)', 4096, 'geom'\) FROM (?P<source>f(?:, b)?)"
                    r"\s+WHERE (?P<where>.*)\Z", re.S)


def _strip_comments(sql: str) -> str:
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--")).strip()


def changes_sql(layer: str, *, layer_param: str = "$1", box_params: str = "$2, $3, $4, $5",
                key_param: str = "$6") -> str:
    """The change-log rows of a layer whose bbox meets a box: count and newest id, each side of
    the log by its own index (rows without a bbox — whole-layer changes — by a partial index,
    the others by the GiST index; an OR of both would scan the whole log). Zones also: the
    digest of the sizing of the zones meeting the box (the very zones the tile holds) for the
    ETag, and the sizing's current key (tiles/sizing.py)."""
    box = f"ST_MakeEnvelope({box_params}, 4326)"
    return ("SELECT a.n + b.n, greatest(a.m, b.m)"
            + (f", {digest_sql(key_param, box)}, {key_check_sql(key_param)}" if layer == "zones" else "")
            + f" FROM (SELECT count(*) AS n, coalesce(max(id), 0) AS m FROM tile_change "
              f"WHERE layer = {layer_param} AND bbox IS NULL) a, "
              f"(SELECT count(*) AS n, coalesce(max(id), 0) AS m FROM tile_change "
              f"WHERE layer = {layer_param} AND bbox && {box}) b")


@cache
def both_sql(layer: str, crs: str, properties: tuple[str, ...] | None = None,
             county: bool = False) -> str:
    """The change-log counts ($5..$8 box) and the tile in one statement (parameters as tile_sql)."""
    changes = changes_sql(layer, layer_param=f"'{layer}'", box_params="$5, $6, $7, $8", key_param="$9")
    return (f"SELECT c.*, ({tile_sql(layer, crs, properties=properties, county=county)}) "
            f"FROM ({changes}) c")


def etag_of(req: TileRequest, count: int, newest: int, extra: str = "") -> str:
    key = (f"{TILE_FORMAT}/{req.layer.name}/{req.z}/{req.x}/{req.y}/{req.crs}{req.properties_key}/"
           f"{count}/{newest}{extra}{req.county_etag}")
    return hashlib.md5(key.encode()).hexdigest()


def _with_county_param(types: str, args: str, req: TileRequest) -> tuple[str, str]:
    """Parameter types and arguments of a statement, with the county code last when the tile
    keeps one county (tiles/county.py)."""
    return (types, args) if req.county is None else (types + ", text", args + ", %(county)s")


@dataclass(frozen=True)
class Tile:
    etag: str             # without quotes
    data: bytes | None    # None: the client's copy is current (304)


def empty_etag(req: TileRequest) -> str:
    key = (f"{TILE_FORMAT}/{req.layer.name}/{req.z}/{req.x}/{req.y}/{req.crs}{req.properties_key}/"
           f"empty{req.county_etag}")
    return hashlib.md5(key.encode()).hexdigest()


async def fetch_tile(engine: Engine, req: TileRequest, *, known: list[str]) -> Tile:
    """The tile ``req``, or only its ETag when that is one of ``known`` (or ``known`` has '*').

    Without ETags to revalidate, one statement answers the change-log counts and the tile. With
    them, two: the ETag, then (unless the client's copy is current) the very tile statement of
    :func:`tile_sql`. The ETag is read first, so a change committed in between can only pair
    newer data with an older ETag — which the next revalidation replaces — never old data with
    a new ETag. Statements run on the event loop's tile pool (tiles/pool.py); only computing
    the zone sizing, when the data or the policy changed, goes to a thread.
    """
    if req.below_minzoom:
        etag = empty_etag(req)
        return Tile(etag, None if etag in known or "*" in known else b"")
    box = read_box(req)
    params: dict[str, Any] = {"z": req.z, "x": req.x, "y": req.y, "crs": req.crs,
                              "layer": req.layer.name, "county": req.county,
                              "x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3]}
    name = req.layer.name
    pool = tile_pool(engine)
    zones = name == "zones"
    sizing = (known_key(engine) or await _compute_sizing(engine)) if zones else None

    async def run(statement: str, sql: str, types: str, args: str) -> tuple[Any, ...]:
        nonlocal sizing
        if sizing is None:
            return await pool.execute(statement, sql, types, args, params)
        for _ in range(3):  # the sizing read must be that of the data the statement sees
            params["sizing_key"] = sizing
            row = await pool.execute(statement, sql, types, args, params)
            if row[3] == sizing:
                break
            sizing = await _compute_sizing(engine)
        return row

    def tag(row: tuple[Any, ...]) -> str:
        return etag_of(req, row[0], row[1], "" if sizing is None else f"/{row[2]}")

    types, args = _with_county_param(*((ZONE_PARAM_TYPES, _ZONE_ARGS) if zones
                                       else (TILE_PARAM_TYPES, _ARGS)), req)
    pk = req.properties_key + req.county_key
    one = req.county is not None
    if not known:  # nothing to revalidate: the change-log counts and the tile in one round trip
        row = await run(f"jg_tile_both_{name}_{req.crs}{pk}",
                        both_sql(name, req.crs, req.properties, one), types, args)
        return Tile(tag(row), bytes(row[-1]))
    row = await run(f"jg_tile_changes_{'zones' if zones else 'layer'}", changes_sql(name),
                    *((_ZONE_CHANGE_TYPES, _ZONE_CHANGE_ARGS) if zones else (_CHANGE_TYPES, _CHANGE_ARGS)))
    etag = tag(row)
    if etag in known or "*" in known:
        return Tile(etag, None)
    data = (await pool.execute(f"jg_tile_{name}_{req.crs}{pk}",
                               tile_sql(name, req.crs, properties=req.properties, county=one),
                               types, args, params))[0]
    return Tile(etag, bytes(data))


async def _compute_sizing(engine: Engine) -> str:
    def run() -> str:
        with read_connection(engine) as conn:  # autocommit: the figures are stored at once
            key = compute(conn)
        remember_key(engine, key)
        return key

    return await asyncio.to_thread(run)


_PENDING_SQL = ("SELECT EXISTS (SELECT 1 FROM scheduled_edit WHERE applied_revision IS NULL "
                "AND cancelled_at IS NULL AND effective_from <= $1)")


@dataclass(frozen=True)
class AsOfTile:
    etag: str             # a hash of the content: history rows at a past instant do not change
    data: bytes | None    # None: the client's copy is current (304)
    final: bool           # nothing can change this tile any more (asof.is_final)


async def fetch_tile_as_of(engine: Engine, req: TileRequest, as_of: datetime, *,
                           known: list[str]) -> AsOfTile:
    """The tile ``req`` as of the instant ``as_of`` (≤ now; tiles/asof.py), from the history
    tables, on the event loop's tile pool like :func:`fetch_tile`."""
    now = datetime.now(UTC)
    pool = tile_pool(engine)
    params: dict[str, Any] = {"t": as_of}
    pending = bool((await pool.execute("jg_tile_asof_pending", _PENDING_SQL, "timestamptz", "%(t)s",
                                       params))[0])
    final = is_final(as_of, now=now, pending_due=pending)
    if req.below_minzoom:
        data = b""
    else:
        box = read_box(req)
        params.update({"z": req.z, "x": req.x, "y": req.y, "crs": req.crs, "county": req.county,
                       "x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3]})
        data = bytes((await pool.execute(
            f"jg_tile_asof_{req.layer.name}_{req.crs}{req.properties_key}{req.county_key}",
            tile_sql(req.layer.name, req.crs, as_of=True, properties=req.properties,
                     county=req.county is not None),
            *_with_county_param(ASOF_PARAM_TYPES, _ARGS + ", %(t)s", req), params))[0])
    key = (f"{TILE_FORMAT}/asof/{req.layer.name}/{req.z}/{req.x}/{req.y}/{req.crs}{req.properties_key}/"
           f"{as_of.isoformat()}/{req.county_etag}")
    etag = hashlib.md5(key.encode() + data).hexdigest()
    return AsOfTile(etag, None if etag in known or "*" in known else data, final)
