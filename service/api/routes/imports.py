"""``POST /v1/imports``: a file of readings (or a cell export) uploaded as multipart."""

from __future__ import annotations

from typing import Any, Final

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.datastructures import FormData, UploadFile

from collectors.formats import FORMAT_NAMES, FormatError
from service.api.access import KEY_HEADER, KEY_QUERY, request_actor, request_key
from service.api.ratelimit import client_address
from service.api.uploads import read_upload_form
from service.errors import InvalidInput
from service.ingest.dispatch import import_file
from service.ingest.files import ImportReport

router = APIRouter(prefix="/v1", tags=["imports"])

SHOWN_REJECTED: Final = 100
"""Refused rows listed in the answer; ``rejected`` gives the total (the CLI's report file
lists them all)."""

_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off", ""})


class RejectedRowOut(BaseModel):
    line: int | None = Field(description="1-based line of the row in a CSV file.")
    item: int | None = Field(description="0-based position in a JSON array (geosubmit "
                             "items, GeoJSON features).")  # fmt: skip
    field: str = Field(description="Column or key that was wrong ('row': the whole row).")
    code: str = Field(
        description="Stable reason code: 'unreadable' when the row could not be parsed, "
        "otherwise the quality gate's (out_of_range, too_old...)."
    )
    reason: str = Field(description="What was wrong, for a person.")


class ImportAnswer(BaseModel):
    format: str = Field(description="The file's format, as given or sniffed.")
    kind: str = Field(description="'readings', or 'sites' for a cell export.")
    stored: bool = Field(description="False when all_or_nothing refused the whole file.")
    accepted: int = Field(description="New readings (or new sites) stored.")
    duplicates: int = Field(description="Readings already stored before (same device and "
                            "id): importing a file twice adds nothing.")  # fmt: skip
    updated: int = Field(description="Sites already stored and refreshed (0 for readings).")
    rejected: int = Field(description="Rows refused, in all.")
    rejected_rows: list[RejectedRowOut] = Field(
        description=f"The first {SHOWN_REJECTED} problems, in file order (a row refused for "
        "two fields appears twice)."
    )


def answer_for(report: ImportReport) -> dict[str, Any]:
    return {
        "format": report.format_name,
        "kind": report.kind,
        "stored": report.stored,
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "updated": report.updated,
        "rejected": report.rejected,
        "rejected_rows": [row.to_dict() for row in report.first_rejected],
    }


_FORM_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "The file (CSV, JSON or GeoJSON; .gz compressed is fine)."},
        "format": {"type": "string", "enum": ["auto", *FORMAT_NAMES], "default": "auto"},
        "device": {"type": "string", "description": "Device token for rows without one "
                   "(required for OpenCelliD and geosubmit files)."},
        "all_or_nothing": {"type": "boolean", "default": False,
                           "description": "Needs an API key (X-Deadzone-Key). "
                           "Readings only: store nothing if any row is refused "
                           "(a cell export is upserted chunk by chunk regardless)."},
    },
}  # fmt: skip


@router.post(
    "/imports",
    response_model=ImportAnswer,
    summary="Import a file of readings (Tower Collector, OpenCelliD, geosubmit, canonical "
    "CSV, GeoJSON) or a cell export",
    description="multipart/form-data with the file in the part `file`; optional `format` "
    "(default: sniffed), `device`, `all_or_nothing`. Readings are stored in chunks of 5000, "
    "one transaction each (all in one with `all_or_nothing`); re-importing a file adds "
    "nothing. A cell export is imported as sites (upsert). 422: the file as a whole cannot "
    "be read (empty, unknown format, missing columns) and nothing was stored; 413: too "
    "large.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": _FORM_SCHEMA}},
        }
    },
    responses={
        413: {"description": "Upload too large"},
        422: {"description": "Not a file deadzone can read"},
        401: {"description": "all_or_nothing without an API key"},
        403: {"description": "all_or_nothing on a server without API keys (production)"},
        429: {"description": "Over a rate limit (imports or requests per address)"},
    },  # fmt: skip
)
async def post_import(request: Request) -> Response:
    state = request.app.state
    state.rate_limits.check_request(request, imports=True)
    form = await read_upload_form(request, max_bytes=state.settings.max_upload_bytes)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("no file: send it in a multipart part named 'file'", field="file")
        format_name = _format_of(form)
        device = _text(form, "device") or None
        all_or_nothing = _flag(form, "all_or_nothing")
        if all_or_nothing:
            # One transaction for the whole file holds the database's writer for as long
            # as the file takes (46 s measured for a 542 KB gzip): phones' uploads wait
            # behind it. Only a key of a role may ask for that.
            request_actor(state.settings, request_key(
                request.headers.get(KEY_HEADER), request.query_params.get(KEY_QUERY)))  # fmt: skip
        try:
            report = await run_in_threadpool(
                import_file, state.sessions, state.ingestor, upload.file,
                format_name=format_name, device=device, all_or_nothing=all_or_nothing,
                keep_rejected=SHOWN_REJECTED,
                max_bytes=state.settings.max_import_decompressed_bytes,
                max_rows=state.settings.max_import_rows, origin=client_address(request),
            )  # fmt: skip
        except FormatError as exc:
            name = upload.filename or "file"
            raise InvalidInput(f"{name}: {exc}", field="file") from None
    finally:
        await form.close()
    return Response(orjson.dumps(answer_for(report)), media_type="application/json")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"'{name}' must be a text field, not a file", field=name)
    return value.strip()


def _format_of(form: FormData) -> str | None:
    name = _text(form, "format").lower()
    if name in ("", "auto"):
        return None
    if name not in FORMAT_NAMES:
        raise InvalidInput(
            f"unknown format {name!r}; use auto or one of {', '.join(FORMAT_NAMES)}",
            field="format",
        )
    return name


def _flag(form: FormData, name: str) -> bool:
    value = _text(form, name).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidInput(f"'{name}' must be true or false, got {value!r}", field=name)
