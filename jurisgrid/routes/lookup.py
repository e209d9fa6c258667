"""``GET /api/responsible``: the single-point answer as plain JSON, without GraphQL.

For clients that only need codes (dispatch consoles, scripts); it runs the very statement
``responsibleFor`` runs, which also makes it the bare-SQL baseline of ``bench/responsible.py``.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import ORJSONResponse
from starlette.concurrency import run_in_threadpool

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import CoordinateError, Crs, UnknownCrs, check_lonlat, to_wgs84
from jurisgrid.models.responsible import SINGLE_POINT_SQL

router = APIRouter(prefix="/api")


@router.get("/responsible", response_class=ORJSONResponse)
async def responsible(request: Request, lon: float = Query(...), lat: float = Query(...),
                      crs: str = Query("WGS84")) -> ORJSONResponse:
    try:
        c = Crs.parse(crs)
        check_lonlat(lon, lat)
    except (CoordinateError, UnknownCrs) as exc:
        raise InvalidInput(str(exc)) from None
    wlon, wlat = to_wgs84(c, lon, lat)
    engine = request.app.state.engine

    def run() -> dict:
        with engine.connect() as conn:
            row = conn.exec_driver_sql(SINGLE_POINT_SQL, {"lon": wlon, "lat": wlat})
            return dict(row.mappings().one())

    return ORJSONResponse(await run_in_threadpool(run))
