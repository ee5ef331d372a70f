"""The FastAPI application factory: settings in, app out; resources live in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.utils import get_openapi

from collectors.reading import ReadingBatch
from service.api.access import mask_query_secrets_in_access_log
from service.api.errors import register_error_handlers
from service.api.headers import SecurityHeaders
from service.api.openapi import document_answers
from service.api.ratelimit import RateLimits
from service.api.routes import (
    areas,
    challenges,
    commitments,
    coverage,
    docs,
    geosubmit,
    health,
    imports,
    maps,
    pages,
    readings,
    report,
    reporter_data,
    sites,
    tasks,
    weekly,
)
from service.api.strict import reject_nul_in_query_parameters, reject_unknown_query_parameters
from service.areas.task_plans import TaskPlans
from service.ingest.readings import Ingestor
from service.jobs import AggregationWorker
from service.settings import Settings
from service.store.database import make_engine, make_sessionmaker

log = logging.getLogger("deadzone")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the deadzone API. Refuses unsafe production settings before serving."""
    settings = settings or Settings()
    settings.enforce_safe_for_serving()
    mask_query_secrets_in_access_log()
    if settings.environment == "development" and not settings.api_keys:
        log.warning(
            "development mode without DEADZONE_API_KEYS: every operator's data is open to "
            "anyone; set DEADZONE_ENVIRONMENT=production on a public server"
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        app.state.engine = engine
        app.state.sessions = make_sessionmaker(engine)
        worker = AggregationWorker(app.state.sessions, settings)
        worker.start()
        try:
            yield
        finally:
            worker.stop()
            engine.dispose()

    app = FastAPI(
        title="deadzone",
        version="0.1.0",
        summary="Mobile-coverage dead-zone mapping for Dak Lak: readings in, coverage out.",
        lifespan=lifespan,
        # One check for every /v1 and /maps route: an unknown query parameter is a 422 naming it.
        dependencies=[
            Depends(reject_unknown_query_parameters),
            Depends(reject_nul_in_query_parameters),
        ],
        # Served by routes/docs.py from the installed Swagger UI: FastAPI's own load a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.ingestor = Ingestor.from_settings(settings)
    app.state.rate_limits = RateLimits(settings)
    # Pages and task lists kept until what they are computed from changes.
    app.state.map_pages = maps.PageCache()
    app.state.task_plans = TaskPlans()
    register_error_handlers(app)
    # A resident on a 2G-like link pays for every byte: pages, scripts, JSON and CSV go out
    # gzip-compressed to any client that asks (Accept-Encoding), from 1 KB up, where the
    # saving outweighs the header and the CPU.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(SecurityHeaders)
    app.include_router(health.router)
    app.include_router(readings.router)
    app.include_router(coverage.router)
    # Before report.router, whose /report/{name} would otherwise answer /report/config.json.
    app.include_router(reporter_data.router)
    app.include_router(report.router)
    app.include_router(geosubmit.router)
    app.include_router(imports.router)
    app.include_router(sites.router)
    app.include_router(areas.router)
    app.include_router(tasks.router)
    app.include_router(tasks.pages)
    app.include_router(commitments.router)
    app.include_router(challenges.router)
    app.include_router(weekly.router)
    app.include_router(maps.router)
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def create_app_from_environment() -> FastAPI:
    """The app with settings from ``DEADZONE_*`` variables: the factory that each uvicorn
    worker process calls (``deadzone serve --workers N``); ``settings_to_environment``
    hands the command's settings down."""
    return create_app(Settings())


def settings_to_environment(settings: Settings) -> dict[str, str]:
    """``DEADZONE_*`` variables that rebuild ``settings`` in another process (the fields
    set explicitly; the rest keep their defaults there too). Complex values as JSON, which
    pydantic-settings reads back."""
    dumped = settings.model_dump(mode="json")
    environment = {}
    for name in settings.model_fields_set:
        value = getattr(settings, name)
        if hasattr(value, "get_secret_value"):
            text = value.get_secret_value()
        elif isinstance(dumped[name], str):
            text = dumped[name]
        else:
            text = orjson.dumps(dumped[name]).decode()
        environment[f"DEADZONE_{name.upper()}"] = text
    return environment


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the canonical reading, which ``POST /v1/readings`` reads by
    hand (to judge each reading on its own) and so declares through ``openapi_extra``, and
    the answers every route shares (``service.api.openapi``)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    batch = ReadingBatch.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(batch.pop("$defs", {}))
    components["ReadingBatch"] = batch
    app.openapi_schema = document_answers(schema)
    return schema
