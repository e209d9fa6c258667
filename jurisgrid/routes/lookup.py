"""``GET /api/responsible``: the single-point answer as plain JSON, without GraphQL.

For clients that only need codes and names (dispatch consoles, scripts). It answers from the
in-memory index ``responsibleFor`` uses; ``via=sql`` answers through the one PostGIS statement
instead — the reference path, and the database baseline of ``bench/responsible.py``.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from jurisgrid.db import read
from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import CoordinateError, Crs, UnknownCrs, check_lonlat, to_wgs84
from jurisgrid.models.responsible import PointAnswer, grid_index_cache, responsible_for
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
    if via == "index":
        snap = await grid_index_cache.current(engine)
        return JSONResponse(answer_json(snap.answer(wlon, wlat), via))

    def run(conn: Any) -> dict[str, Any]:
        return answer_json(responsible_for(conn, lon=wlon, lat=wlat), via)

    return JSONResponse(await run_in_threadpool(read, engine, run))
