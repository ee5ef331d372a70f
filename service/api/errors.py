"""The one map from domain error to HTTP answer, registered once for every route.

A 4xx body says what was wrong and where (``error``, ``message``, ``field``...); a 5xx body
is generic and the detail goes to the log, never ``str(exc)`` of a database error to the
client. Routes raise domain errors (``service.errors``), never ``HTTPException``.

A browser that opens a page address (a map with a mistyped parameter, a path that does not
exist) is answered with the same words on a small page in Vietnamese (``lang=en``: English)
rather than raw JSON; scripts, POSTs and the API's own paths (``/v1``, ``/v2``) always get JSON.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
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


ERROR_PAGE_WORDS = {
    "vi": ("Không mở được trang này", "Lỗi", "Về trang chủ"),
    "en": ("This page could not be opened", "Error", "Home page"),
}


# Starlette's reason phrases for an address or a method that does not exist, which reach the
# page as its message.
ERROR_PAGE_REASONS_VI = {
    "Not Found": "Không có trang nào ở địa chỉ này.",
    "Method Not Allowed": "Trang này không nhận cách gửi này.",
}


# The API's paths (deadzone's /v1, the geolocation /v2 that MLS clients post to): JSON only.
API_PREFIXES = ("/v1", "/v2")


def wants_page(request: Request) -> bool:
    """A browser opening an address outside the API (a GET, its Accept header putting HTML
    first); a POST is a client's, whatever it accepts."""
    if request.method not in ("GET", "HEAD") or request.url.path.startswith(API_PREFIXES):
        return False
    accept = request.headers.get("accept", "")
    return accept.split(",")[0].split(";")[0].strip().lower() == "text/html"


def error_page(status: int, body: dict[str, Any], *, lang: str) -> str:
    """The small page a browser shows: what was wrong and where, and a way home; every text
    from the request is escaped."""
    title, error, home = ERROR_PAGE_WORDS["en" if lang == "en" else "vi"]
    message = str(body.get("message") or body.get("error", ""))
    if lang != "en":  # the framework's own reason phrases, said in Vietnamese
        message = ERROR_PAGE_REASONS_VI.get(message, message)
    lines = [message]
    lines += [f"{e['field']}: {e['reason']}" for e in body.get("errors", ())]
    if "field" in body and not body.get("errors"):
        lines.append(f"field: {body['field']}")
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines if line)
    return (
        f'<!DOCTYPE html><html lang="{"en" if lang == "en" else "vi"}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{html.escape(title)}</title></head>"
        '<body style="font-family:system-ui,sans-serif;max-width:40em;margin:2em auto;'
        'padding:0 1em;line-height:1.5">'
        f"<h1>{html.escape(title)}</h1><p>{html.escape(error)} {status}</p><ul>{items}</ul>"
        # A 44 px tap target on a phone (WCAG 2.5.5), as on the other pages.
        f'<p><a href="/" style="display:inline-block;min-height:44px;line-height:44px;'
        f'padding:0 8px">{html.escape(home)}</a></p></body></html>'
    )


def answer(
    request: Request, body: dict[str, Any], *, status: int, headers: dict[str, str] | None = None
) -> JSONResponse | HTMLResponse:
    """JSON, or the error page for a browser opening a page (module doc)."""
    if wants_page(request):
        lang = request.query_params.get("lang", "vi")
        return HTMLResponse(error_page(status, body, lang=lang), status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def error_response(
    request: Request, exc: DeadzoneError, *, where: str = ""
) -> JSONResponse | HTMLResponse:
    """The answer for a domain error; 5xx answers are generic and logged."""
    status = status_of(exc)
    if status >= 500:
        log.error("%s%s: %s", type(exc).__name__, f" on {where}" if where else "", exc)
        return answer(request, {"error": type(exc).__name__, "message": GENERIC_5XX}, status=status)
    headers = AUTHENTICATE if status == 401 else None
    if isinstance(exc, RateLimited):  # RFC 9110 10.2.3: seconds until a retry is taken
        headers = {"Retry-After": str(exc.retry_after_s)}
    return answer(request, exc.body(), status=status, headers=headers)


def register_error_handlers(app: FastAPI) -> None:
    """Install the one map from error class to response, for every route."""

    @app.exception_handler(DeadzoneError)
    async def _domain_error(request: Request, exc: DeadzoneError) -> JSONResponse | HTMLResponse:
        return error_response(request, exc, where=f"{request.method} {request.url.path}")

    @app.exception_handler(SQLAlchemyError)
    async def _database_error(
        request: Request, exc: SQLAlchemyError
    ) -> JSONResponse | HTMLResponse:
        log.exception("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return answer(request, {"error": "StorageUnavailable", "message": GENERIC_5XX}, status=503)

    @app.exception_handler(StarletteHTTPException)
    async def _routing_error(
        request: Request, exc: StarletteHTTPException
    ) -> JSONResponse | HTMLResponse:
        # Answers the framework gives on its own (no such path, method not allowed) in the
        # same shape as every other error.
        names = {404: "NotFound", 405: "MethodNotAllowed"}
        return answer(
            request,
            {"error": names.get(exc.status_code, "HTTPError"), "message": str(exc.detail)},
            status=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(
        request: Request, exc: RequestValidationError
    ) -> JSONResponse | HTMLResponse:
        errors = [
            {
                "field": ".".join(str(part) for part in err.get("loc", ()) if part != "query"),
                "reason": err.get("msg", "invalid"),
            }
            for err in exc.errors()
        ]
        return answer(
            request,
            {"error": "InvalidInput", "message": "invalid request", "errors": errors},
            status=422,
        )
