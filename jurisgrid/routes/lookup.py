"""``GET /api/responsible``: the single-point answer as plain JSON, without GraphQL.

For clients that only need codes (dispatch consoles, scripts); it runs the very (prepared) statement
``responsibleFor`` runs, which also makes it the bare-SQL baseline of ``bench/responsible.py``.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from jurisgrid.db import read_connection
from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import CoordinateError, Crs, UnknownCrs, check_lonlat, to_wgs84
from jurisgrid.models.responsible import responsible_row
from jurisgrid.routes.jsonresponse import JSONResponse

router = APIRouter(prefix="/api")


@router.get("/responsible", response_class=JSONResponse)
async def responsible(request: Request, lon: float = Query(...), lat: float = Query(...),
                      crs: str = Query("WGS84")) -> JSONResponse:
    try:
        c = Crs.parse(crs)
        check_lonlat(lon, lat)
    except (CoordinateError, UnknownCrs) as exc:
        raise InvalidInput(str(exc)) from None
    wlon, wlat = to_wgs84(c, lon, lat)
    engine = request.app.state.engine

    def run() -> dict:
        with read_connection(engine) as conn:
            return dict(responsible_row(conn, lon=wlon, lat=wlat))

    return JSONResponse(await run_in_threadpool(run))
