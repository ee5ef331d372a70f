"""``GET /healthz``: is the database answering?"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from service.store.database import check_database

router = APIRouter(tags=["operations"])
log = logging.getLogger("deadzone")


@router.get("/healthz", summary="Liveness and database check")
async def healthz(request: Request) -> JSONResponse:
    engine = request.app.state.engine
    try:
        await run_in_threadpool(check_database, engine)
    except SQLAlchemyError:
        log.exception("health check: database unavailable")
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "database": engine.dialect.name})
