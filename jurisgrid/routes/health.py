"""``/healthz``: does the database answer, and which migration is it at."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from jurisgrid.errors import ServiceUnavailable
from jurisgrid.models.migrate import current_revision, head_revision
from jurisgrid.routes.jsonresponse import JSONResponse

router = APIRouter()


@router.get("/healthz", response_class=JSONResponse)
async def healthz(request: Request) -> JSONResponse:
    engine = request.app.state.engine

    def probe() -> dict:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
            version = conn.execute(text("SELECT version FROM data_version")).scalar_one()
            migration = current_revision(conn)
        return {"postgis": postgis, "data_version": version, "migration": migration}

    try:
        info = await run_in_threadpool(probe)
    except Exception as exc:  # the database does not answer: say so, with 503
        return JSONResponse({"status": "unavailable", "database": "down",
                               "error": type(exc).__name__}, status_code=503,
                            headers={"Retry-After": str(ServiceUnavailable.retry_after_s)})
    head = head_revision()
    status = "ok" if info["migration"] == head else "migration-pending"
    return JSONResponse({"status": status, "database": "up", "migration_head": head, **info},
                          status_code=200 if status == "ok" else 503)
