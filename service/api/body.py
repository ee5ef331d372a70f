"""Reading request bodies safely: a size limit before and after gzip, then JSON."""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from starlette.requests import Request

from collectors.formats.nesting import NestingTooDeep, check_json_nesting
from service.errors import InputTooLarge, MalformedInput


async def read_body(request: Request, *, max_bytes: int) -> bytes:
    """The request body, gunzipped if ``Content-Encoding: gzip``, at most ``max_bytes``.

    The limit applies to the received bytes and to the decompressed bytes, so that
    neither a huge upload nor a small gzip bomb can fill the memory.
    """
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise MalformedInput(
            f"unsupported Content-Encoding {encoding!r}; send identity or gzip",
            field="Content-Encoding",
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise InputTooLarge(
            f"body of {declared} bytes is larger than the limit of {max_bytes} bytes",
            limit_bytes=max_bytes,
        )
    chunks: list[bytes] = []
    received = 0
    inflater = zlib.decompressobj(wbits=31) if encoding == "gzip" else None
    produced = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_bytes:
            raise InputTooLarge(
                f"body is larger than the limit of {max_bytes} bytes", limit_bytes=max_bytes
            )
        if inflater is None:
            chunks.append(chunk)
            continue
        try:
            out = inflater.decompress(chunk, max_bytes - produced + 1)
        except zlib.error as exc:
            raise MalformedInput(f"body is not valid gzip: {exc}") from None
        produced += len(out)
        if produced > max_bytes or inflater.unconsumed_tail:
            raise InputTooLarge(
                f"decompressed body is larger than the limit of {max_bytes} bytes",
                limit_bytes=max_bytes,
            )
        chunks.append(out)
    if inflater is not None and not inflater.eof:
        raise MalformedInput("body is not valid gzip: the stream is truncated")
    return b"".join(chunks)


def parse_json(body: bytes, *, max_depth: int) -> Any:
    """Decode JSON, naming the line and column of a syntax error. A body nesting deeper
    than ``max_depth`` is refused before any object is built (collectors.formats.nesting
    says why orjson's own limit is not enough)."""
    if not body.strip():
        raise MalformedInput("body is empty; expected a JSON object")
    try:
        check_json_nesting(body, max_depth=max_depth)
    except NestingTooDeep as exc:
        raise MalformedInput(f"body is not acceptable JSON: {exc}") from None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedInput(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
