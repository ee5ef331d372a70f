"""The one map from domain error to HTTP answer, registered once for every route.

A 4xx body says what was wrong and where (``error``, ``message``, ``field``...); a 5xx body
is generic and the detail goes to the log, never ``str(exc)`` of a database error to the
client. Routes raise domain errors (``service.errors``), never ``HTTPException``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import (
    AccessDenied,
    AuthenticationRequired,
    ConfigurationError,
    DeadzoneError,
    InputTooLarge,
    InvalidInput,
    MalformedInput,
    NotFound,
    RateLimited,
    StorageUnavailable,
)

log = logging.getLogger("deadzone")

HTTP_STATUS: dict[type[DeadzoneError], int] = {
    MalformedInput: 400,
    AuthenticationRequired: 401,
    AccessDenied: 403,
    NotFound: 404,
    InputTooLarge: 413,
    InvalidInput: 422,
    RateLimited: 429,
    ConfigurationError: 500,
    StorageUnavailable: 503,
}
"""Status of each domain error; a subclass takes its nearest listed ancestor's."""

# RFC 9110: a 401 names the scheme it wants (here deadzone's key header).
AUTHENTICATE = {"WWW-Authenticate": 'ApiKey header="X-Deadzone-Key"'}

GENERIC_5XX = "the service could not complete the request; nothing was stored. Try again later."


def status_of(exc: DeadzoneError) -> int:
    """The HTTP status of a domain error (500 for one the map does not know)."""
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


def error_response(exc: DeadzoneError, *, where: str = "") -> JSONResponse:
    """The answer for a domain error; 5xx answers are generic and logged."""
    status = status_of(exc)
    if status >= 500:
        log.error("%s%s: %s", type(exc).__name__, f" on {where}" if where else "", exc)
        return JSONResponse(
            {"error": type(exc).__name__, "message": GENERIC_5XX}, status_code=status
        )
    headers = AUTHENTICATE if status == 401 else None
    if isinstance(exc, RateLimited):  # RFC 9110 10.2.3: seconds until a retry is taken
        headers = {"Retry-After": str(exc.retry_after_s)}
    return JSONResponse(exc.body(), status_code=status, headers=headers)


def register_error_handlers(app: FastAPI) -> None:
    """Install the one map from error class to response, for every route."""

    @app.exception_handler(DeadzoneError)
    async def _domain_error(request: Request, exc: DeadzoneError) -> JSONResponse:
        return error_response(exc, where=f"{request.method} {request.url.path}")

    @app.exception_handler(SQLAlchemyError)
    async def _database_error(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.exception("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            {"error": "StorageUnavailable", "message": GENERIC_5XX}, status_code=503
        )

    @app.exception_handler(StarletteHTTPException)
    async def _routing_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Answers the framework gives on its own (no such path, method not allowed) in the
        # same shape as every other error.
        names = {404: "NotFound", 405: "MethodNotAllowed"}
        return JSONResponse(
            {"error": names.get(exc.status_code, "HTTPError"), "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(part) for part in err.get("loc", ()) if part != "query"),
                "reason": err.get("msg", "invalid"),
            }
            for err in exc.errors()
        ]
        return JSONResponse(
            {"error": "InvalidInput", "message": "invalid request", "errors": errors},
            status_code=422,
        )
