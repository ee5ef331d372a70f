"""``POST /v2/geosubmit``: the Mozilla Location Service upload, for apps written for MLS.

Tower Collector, NeoStumbler and other apps upload cell observations in MLS's geosubmit v2
format (ichnaea docs, "api/geosubmit2"); pointing them at ``https://<deadzone>/v2/geosubmit``
(with ``?key=<token>``) is all it takes for them to feed deadzone. Answers are MLS's: 200
``{}``, and 400 with MLS's error body, which these clients parse.

**Device token.** MLS bodies carry no device. deadzone takes it from the header
``X-Deadzone-Device`` if present, else from the API key query parameter ``?key=``, which
MLS clients already send. The header wins because it is deadzone's own, per-device channel,
while an MLS "API key" is sometimes one value shared by every user of an app. With neither,
the request is refused (400, MLS reason ``keyInvalid``) rather than given a made-up token: a
token per request would make one phone look like many, and the rule that one device alone
can never make a cell dead (DESIGN.md, "Privacy and trust") counts distinct tokens.
"""

from __future__ import annotations

import copy
import logging
from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from collectors.formats import (
    MLS_PARSE_ERROR_BODY,
    GeosubmitParseError,
    Row,
    gunzip_body,
    parse_geosubmit,
)
from collectors.formats.registry import GZIP_MAGIC
from collectors.reading import MAX_DEVICE_LENGTH
from service.api.body import read_body
from service.api.ratelimit import client_address
from service.errors import MalformedInput
from service.ingest.files import ImportReport, import_geosubmit
from service.timestamps import utcnow

log = logging.getLogger("deadzone")
router = APIRouter(tags=["mls"])

DEVICE_HEADER: Final = "X-Deadzone-Device"


MLS_ERROR_SCHEMA: Final[dict[str, Any]] = {
    "title": "MlsError",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "errors": {"type": "array", "items": {"type": "object"}},
                "code": {"type": "integer"},
                "message": {"type": "string"},
            },
        }
    },
}
"""The error body MLS clients read (ichnaea docs, "api/index", Errors)."""


class MlsError(MalformedInput):
    """A 400 in the error shape of MLS (ichnaea docs, "api/index", Errors), which MLS
    clients read; ``message`` is deadzone's explanation, ``reason`` MLS's code."""

    def __init__(self, message: str, *, reason: str, domain: str = "global") -> None:
        super().__init__(message)
        self.reason = reason
        self.domain = domain

    def body(self) -> dict[str, Any]:
        if self.reason == "parseError":
            # Verbatim: clients compare it; the detail went to the log.
            return copy.deepcopy(MLS_PARSE_ERROR_BODY)
        return {
            "error": {
                "errors": [{"domain": self.domain, "reason": self.reason, "message": self.message}],
                "code": 400,
                "message": self.message,
            }
        }


def device_token(header: str | None, key: str | None) -> str:
    """The device token of a geosubmit request: the header, else the key (rule in the
    module docstring)."""
    for value in (header, key):
        token = (value or "").strip()
        if token:
            if len(token) > MAX_DEVICE_LENGTH:
                raise MlsError(
                    f"device token longer than {MAX_DEVICE_LENGTH} characters",
                    reason="keyInvalid",
                    domain="usageLimits",
                )
            return token
    raise MlsError(
        f"missing API key: add ?key=<device token> to the URL or send the {DEVICE_HEADER} "
        "header (one stable token per phone)",
        reason="keyInvalid",
        domain="usageLimits",
    )


@router.post(
    "/v2/geosubmit",
    summary="Submit observations in the Mozilla Location Service geosubmit v2 format",
    description='Body `{"items": [...]}` as MLS clients send it, optionally '
    "`Content-Encoding: gzip`. Each report's serving cell becomes one reading; reports "
    "without a usable cell, and readings the quality gate refuses, are counted as rejected "
    "(GET /v1/stats). Device token: header `X-Deadzone-Device`, else `?key=`; with neither, "
    "400 `keyInvalid`. 200 `{}`; 400 MLS `parseError` when the body is not JSON or not this "
    "shape (or bad gzip); 413 when larger than DEADZONE_MAX_BODY_BYTES.",
    responses={
        200: {"description": "Stored: an empty JSON object, as MLS answers"},
        400: {
            "description": "MLS error body: parseError or keyInvalid",
            "content": {"application/json": {"schema": MLS_ERROR_SCHEMA}},
        },
        413: {"description": "Too large"},
        429: {"description": "Over a rate limit (device, key or address); see Retry-After"},
    },  # fmt: skip
)
async def post_geosubmit(
    request: Request,
    key: Annotated[str | None, Query(description="MLS API key, used as the device token.")] = None,
    device: Annotated[
        str | None,
        Header(alias=DEVICE_HEADER, description="Device token; wins over ?key=."),
    ] = None,
) -> Response:
    state = request.app.state
    token = device_token(device, key)
    state.rate_limits.check_request(request, key=key)
    max_bytes = state.settings.max_body_bytes
    now = utcnow()
    try:
        body = await read_body(request, max_bytes=max_bytes)
        if body[:2] == GZIP_MAGIC:
            # Some clients gzip without saying so in Content-Encoding.
            body = gunzip_body(body, max_bytes=max_bytes)
        # A body of a few MB takes tens of milliseconds to parse: off the event loop.
        rows = await run_in_threadpool(
            parse_geosubmit,
            body,
            device=token,
            received_at=now,
            max_depth=state.settings.max_json_depth,
        )
    except (GeosubmitParseError, MalformedInput) as exc:
        log.info("geosubmit parse error: %s", exc)
        raise MlsError(str(exc), reason="parseError") from None

    state.rate_limits.check_readings([token] * len(rows))

    def store(rows: list[Row]) -> ImportReport:
        return import_geosubmit(
            state.sessions, state.ingestor, rows, now=now, origin=client_address(request)
        )

    report = await run_in_threadpool(store, rows)
    if report.rejected:
        log.info("geosubmit: %d of %d reports refused", report.rejected, len(rows))
    return Response(b"{}", media_type="application/json")
