"""``?plan=<id>`` on tiles: the jurisdiction layers as a stored plan has them (models/plans.py).

* Layers: grids, zones, stations, communities — the tables a plan overlays. Their statement is
  the ``?asOf=`` one (sql/tiles_asof_<layer>.sql: parent codes and child counts through the
  memberships, no figures) with each ``<table>_history`` replaced by the plan's rows (its
  overlay over the live table, $9 the plan id) and the instant tests dropped — one statement
  per layer, read the same way for the past and for a plan, and written once.
* Figures are omitted as they are from ``?asOf=`` tiles: a map of a plan shows its outlines and
  assignments; its figures are GraphQL's (``stats``/``sizing``/``planMetrics`` with ``plan``).
* Caching: a plan changes whenever it is edited (and its overlay reads live rows it does not
  override), so its tiles are ``no-cache`` and revalidated by a content-hash ETag.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from jurisgrid.auth.checks import require_plan_access
from jurisgrid.auth.principal import Principal
from jurisgrid.db import read
from jurisgrid.errors import InvalidInput
from jurisgrid.models.plans import get_plan, overlay_sql
from jurisgrid.tiles.asof import ASOF_LAYERS
from jurisgrid.tiles.layers import TileRequest, read_box
from jurisgrid.tiles.pool import tile_pool
from jurisgrid.tiles.store import TILE_FORMAT, TILE_PARAM_TYPES, tile_sql

PLAN_LAYERS = ASOF_LAYERS
PLAN_PARAM_TYPES = TILE_PARAM_TYPES + ", integer"
_ARGS = "%(z)s, %(x)s, %(y)s, %(crs)s, %(x0)s, %(y0)s, %(x1)s, %(y1)s, %(plan)s"

_HISTORY = re.compile(r"\b(community|station|zone|grid)_history\s+(\w+)")
_AT = r"(\w+)\.valid @> \$9::timestamptz"


def parse_plan(layer: str, raw: str | None) -> int | None:
    """The plan id of ``?plan=``, None when absent; InvalidInput for a malformed id or a layer
    a plan does not hold."""
    if raw is None or raw == "":
        return None
    if layer not in PLAN_LAYERS:
        raise InvalidInput(f"layer {layer!r} is not planned; plan is available for "
                           f"{', '.join(PLAN_LAYERS)}")
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"plan must be a plan's id (an integer), not {raw!r}") from None
    if value < 1:
        raise InvalidInput(f"plan must be a plan's id (a positive integer), not {raw!r}")
    return value


@cache
def plan_tile_sql(layer: str, crs: str = "wgs84",
                  properties: tuple[str, ...] | None = None, county: bool = False) -> str:
    """The ``?asOf=`` statement of ``layer`` reading a plan's rows instead ($9: the plan; with
    ``county``, $10 the county whose features it keeps, judged as the plan has them)."""
    sql = tile_sql(layer, crs, as_of=True, properties=properties, county=county)
    sql = _HISTORY.sub(lambda m: f"({overlay_sql(m.group(1), '$9')}) {m.group(2)}", sql)
    sql = re.sub(_AT + r" AND ", "", sql)
    sql = re.sub(r" AND " + _AT, "", sql)
    sql = re.sub(r"WHERE " + _AT, "WHERE true", sql)
    if "_history" in sql or "valid @>" in sql:
        raise RuntimeError(f"the as-of statement of {layer} has a form plan tiles do not know")
    return sql


@dataclass(frozen=True)
class PlanTile:
    etag: str             # a hash of the content
    data: bytes | None    # None: the client's copy is current (304)


async def fetch_tile_plan(engine: Engine, req: TileRequest, plan_id: int, *,
                          principal: Principal, known: list[str]) -> PlanTile:
    """The tile ``req`` as plan ``plan_id`` has it (NotFound for an unknown plan; Forbidden for
    a plan the principal may not see), on the event loop's tile pool like live tiles."""
    plan = await run_in_threadpool(read, engine, get_plan, plan_id)
    require_plan_access(principal, plan, write=False)
    if req.below_minzoom:
        data = b""
    else:
        box = read_box(req)
        params: dict[str, Any] = {"z": req.z, "x": req.x, "y": req.y, "crs": req.crs,
                                  "x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3],
                                  "plan": plan_id, "county": req.county}
        name = f"jg_tile_plan_{req.layer.name}_{req.crs}{req.properties_key}{req.county_key}"
        one = req.county is not None
        data = bytes((await tile_pool(engine).execute(
            name, plan_tile_sql(req.layer.name, req.crs, req.properties, one),
            PLAN_PARAM_TYPES + (", text" if one else ""), _ARGS + (", %(county)s" if one else ""),
            params))[0])
    key = (f"{TILE_FORMAT}/plan/{plan_id}/{req.layer.name}/{req.z}/{req.x}/{req.y}/{req.crs}"
           f"{req.properties_key}/{req.county_etag}")
    etag = hashlib.md5(key.encode() + data).hexdigest()
    return PlanTile(etag, None if etag in known or "*" in known else data)
