"""``POST /v1/readings`` and ``GET /v1/stats``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from collectors.formats.rows import printable_name
from service.api.body import parse_json, read_body
from service.api.dependencies import SessionDep
from service.api.ratelimit import client_address, device_tokens
from service.errors import InputTooLarge, InvalidInput
from service.ingest.counters import IngestStats, ingest_stats
from service.ingest.readings import IngestResult
from service.store.database import session_scope

router = APIRouter(prefix="/v1", tags=["readings"])


class RejectionOut(BaseModel):
    index: int = Field(description="Position of the reading in the submitted array (0-based).")
    field: str = Field(description="The field that was wrong ('signal_dbm|no_service|level' "
                       "when the signal itself is missing or ambiguous).")  # fmt: skip
    code: str = Field(description="Stable reason code (out_of_range, future, wrong_type...).")
    reason: str = Field(description="What was wrong, for a person.")


class IngestAnswer(BaseModel):
    accepted: int = Field(description="Readings stored by this request.")
    duplicates: int = Field(description="Readings already stored before (same device and id), "
                            "or repeated within this batch; they count once.")  # fmt: skip
    rejected_readings: int = Field(description="Readings refused; see 'rejected'.")
    rejected: list[RejectionOut] = Field(
        description="Every problem found, one entry per field; a reading may appear twice."
    )


def answer_for(result: IngestResult) -> dict[str, Any]:
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected_readings": result.rejected_readings,
        "rejected": [
            {"index": r.index, "field": r.field, "code": r.code, "reason": r.reason}
            for r in sorted(result.rejected, key=lambda r: r.index)
        ],
    }


@router.post(
    "/readings",
    response_model=IngestAnswer,
    summary="Submit a batch of canonical readings",
    description='JSON body `{"readings": [...]}`, optionally `Content-Encoding: gzip`. '
    "Each reading is validated on its own: good ones are stored, bad ones are listed "
    "with the field and reason. Resubmitting a reading (same device and id) is safe. "
    "400: body not JSON or bad gzip; 413: body or batch too large; 422: not this shape; "
    "nothing is stored in those cases.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ReadingBatch"}}
            },
        }
    },
    responses={
        400: {"description": "Not JSON"},
        413: {"description": "Too large"},
        422: {"description": "Not the documented shape"},
        429: {"description": "Over a rate limit (device, key or address); see Retry-After"},
    },  # fmt: skip
)
async def post_readings(request: Request) -> Response:
    settings = request.app.state.settings
    limits = request.app.state.rate_limits
    limits.check_request(request)
    body = await read_body(request, max_bytes=settings.max_body_bytes)

    def ingest_in_one_transaction() -> IngestResult:
        # Parsing a large batch takes milliseconds: off the event loop, like the database.
        payload = parse_json(body, max_depth=settings.max_json_depth)
        items = readings_of(payload, max_readings=settings.max_batch_readings)
        limits.check_readings(device_tokens(items))
        ingestor = request.app.state.ingestor
        # Validated before the transaction: on SQLite the one writer waits only for the
        # inserts.
        batch = ingestor.prepare(items)
        with session_scope(request.app.state.sessions) as session:
            result: IngestResult = ingestor.store(session, batch, origin=client_address(request))
            return result

    result = await run_in_threadpool(ingest_in_one_transaction)
    return Response(orjson.dumps(answer_for(result)), media_type="application/json")


def readings_of(payload: Any, *, max_readings: int) -> list[Any]:
    """The ``readings`` array of a batch body, or a 413/422 that says what is wrong."""
    if not isinstance(payload, dict):
        raise InvalidInput(
            f'body must be a JSON object {{"readings": [...]}}, got {type(payload).__name__}'
        )
    unknown = sorted(printable_name(key) for key in set(payload) - {"readings"})
    if unknown:
        shown = ", ".join(unknown[:5]) + (
            f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        )
        raise InvalidInput(f"unknown top-level field(s): {shown}", field=unknown[0])
    items = payload.get("readings")
    if not isinstance(items, list):
        raise InvalidInput("'readings' must be an array of readings", field="readings")
    if len(items) > max_readings:
        raise InputTooLarge(
            f"{len(items)} readings in one batch; the limit is {max_readings}",
            field="readings",
            limit_readings=max_readings,
        )
    return items


@router.get("/stats", response_model=IngestStats, summary="Ingest counters and rejections")
def get_stats(
    request: Request,
    session: SessionDep,
    since: Annotated[date | None, Query(description="First UTC day to count (YYYY-MM-DD).")] = None,
) -> IngestStats:
    stats = ingest_stats(session, since=since)
    stats.rate_limited = request.app.state.rate_limits.refused
    return stats
