"""One tree of domain errors, and one map from error class to HTTP status.

A 4xx body says what was wrong and where; a 5xx body is generic and the detail goes to
the log (never ``str(exc)`` of a database error to the client).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("deadzone")


class DeadzoneError(Exception):
    """Base of every error deadzone raises on purpose."""

    status_code = 500

    def __init__(self, message: str, *, field: str | None = None, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.detail = detail

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": type(self).__name__, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        body.update(self.detail)
        return body


class ConfigurationError(DeadzoneError):
    """Settings that the server refuses to run with."""


class BadRequest(DeadzoneError):
    """The request cannot be read at all (not JSON, bad gzip)."""

    status_code = 400


class PayloadTooLarge(DeadzoneError):
    status_code = 413


class UnprocessableRequest(DeadzoneError):
    """The request is readable but does not have the documented shape."""

    status_code = 422


class Unauthorized(DeadzoneError):
    """No credentials, or credentials the server does not know."""

    status_code = 401
    # RFC 9110: a 401 names the scheme it wants (here deadzone's key header).
    headers = {"WWW-Authenticate": 'ApiKey header="X-Deadzone-Key"'}


class Forbidden(DeadzoneError):
    """Known credentials, or none needed, but not allowed to read this."""

    status_code = 403


class NotFound(DeadzoneError):
    status_code = 404


class StorageUnavailable(DeadzoneError):
    """The database failed; nothing of the request was stored."""

    status_code = 503


def register_error_handlers(app: FastAPI) -> None:
    """Install the one map from error class to response, for every route."""

    @app.exception_handler(DeadzoneError)
    async def _domain_error(request: Request, exc: DeadzoneError) -> JSONResponse:
        if exc.status_code >= 500:
            log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
            return JSONResponse(
                {"error": type(exc).__name__, "message": _GENERIC_5XX}, status_code=exc.status_code
            )
        return JSONResponse(
            exc.body(), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(SQLAlchemyError)
    async def _database_error(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.exception("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            {"error": "StorageUnavailable", "message": _GENERIC_5XX}, status_code=503
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
            {"error": "UnprocessableRequest", "message": "invalid request", "errors": errors},
            status_code=422,
        )


_GENERIC_5XX = "the service could not complete the request; nothing was stored. Try again later."
