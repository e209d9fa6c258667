"""``GET /api/responsible``: the single-point answer as plain JSON, without GraphQL.

For clients that only need codes and names (dispatch consoles, scripts). It answers from the
in-memory index ``responsibleFor`` uses; ``via=sql`` answers through the one PostGIS statement
instead — the reference path, and the database baseline of ``bench/responsible.py``.

A county-scoped token is answered as by ``responsibleFor``: a point in another county is 403
(``FORBIDDEN``), and a point in no grid is not pointed at another county's nearest grid.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from jurisgrid.auth.principal import Principal
from jurisgrid.db import read
from jurisgrid.errors import Forbidden, InvalidInput
from jurisgrid.geo.crs import CoordinateError, Crs, UnknownCrs, check_lonlat, to_wgs84
from jurisgrid.models.responsible import (
    IndexSnapshot,
    PointAnswer,
    grid_index_cache,
    responsible_for,
)
from jurisgrid.replicas import reader
from jurisgrid.routes.jsonresponse import JSONResponse

router = APIRouter(prefix="/api")

_UNITS = ("grid", "zone", "station", "community", "township", "sector")


def answer_json(ans: PointAnswer, via: str) -> dict[str, Any]:
    unit = {k: ({"code": r["code"], "name": r["name"]} if (r := ans.units[k]) is not None else None)
            for k in _UNITS}
    return {
        **unit,
        "on_boundary": ans.on_boundary,
        "distance_to_boundary_m": ans.boundary_m,
        "officers": [{"role": o["role"], "code": o["code"], "name": o["name"], "phone": o["phone"]}
                     for o in ans.officers],
        "nearest": ({"grid": ans.nearest_code, "distance_m": ans.nearest_m}
                    if ans.nearest_code is not None else None),
        "via": via,
    }


@router.get("/responsible", response_class=JSONResponse)
async def responsible(request: Request, lon: float = Query(...), lat: float = Query(...),
                      crs: str = Query("WGS84"),
                      via: Literal["index", "sql"] = Query(
                          "index", description="index: the in-memory grid index (default); "
                          "sql: one PostGIS statement (the reference path)")) -> JSONResponse:
    try:
        c = Crs.parse(crs)
        check_lonlat(lon, lat)
    except (CoordinateError, UnknownCrs) as exc:
        raise InvalidInput(str(exc)) from None
    wlon, wlat = to_wgs84(c, lon, lat)
    engine = reader(request)  # a read replica when configured (issue 17)
    principal: Principal = request.state.principal
    if via == "index" or principal.county_code is not None:
        snap = await grid_index_cache.current(engine)
    if via == "index":
        ans = snap.answer(wlon, wlat)
    else:
        ans = await run_in_threadpool(read, engine, lambda conn: responsible_for(
            conn, lon=wlon, lat=wlat))
    if principal.county_code is not None:
        ans = in_scope(principal, snap, ans)
    return JSONResponse(answer_json(ans, via))


def in_scope(p: Principal, snap: IndexSnapshot, ans: PointAnswer) -> PointAnswer:
    """``ans`` for principal ``p``: a county-scoped caller asking about a point in another
    county (its township's) is refused; a point in no grid keeps its nearest grid only when
    that is in the caller's county."""
    if p.county_code is None:
        return ans
    town = ans.units["township"]
    if town is not None:
        if town["county_id"] != snap.county_ids.get(p.county_code):
            raise Forbidden(f"{p.actor} may only read county {p.county_code}; this point lies "
                            "in another county", details=[{"actor": p.actor,
                                                           "county": p.county_code}])
        return ans
    if ans.nearest_code is not None and not snap.in_county(ans.nearest_code, p.county_code):
        return replace(ans, nearest_id=None, nearest_code=None, nearest_m=None)
    return ans
