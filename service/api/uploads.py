"""Files uploaded over HTTP (``POST /v1/imports``): a size-limited multipart body, spooled
to temporary files; ``service.ingest.dispatch`` then imports the file."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from service.errors import InputTooLarge, InvalidInput, MalformedInput

# Besides the file: format, device, all_or_nothing. Refusing more stops a body of
# thousands of tiny fields from costing memory.
MAX_FORM_FIELDS = 8


async def read_upload_form(request: Request, *, max_bytes: int) -> FormData:
    """The multipart form of ``request``, its file parts spooled to temporary files
    (Starlette keeps up to 1 MB of each in memory, the rest on disk). Refuses bodies over
    ``max_bytes`` as they arrive, not after. The caller closes the form."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise InvalidInput(
            f"expected a multipart/form-data upload with the file in a part named 'file', "
            f"got Content-Type {content_type or 'none'!r}",
            field="Content-Type",
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise InputTooLarge(
            f"upload of {declared} bytes is larger than the limit of {max_bytes} bytes",
            limit_bytes=max_bytes,
        )

    async def limited() -> AsyncGenerator[bytes, None]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise InputTooLarge(
                    f"upload is larger than the limit of {max_bytes} bytes",
                    limit_bytes=max_bytes,
                )
            yield chunk

    async with aclosing(limited()) as stream:
        parser = MultiPartParser(request.headers, stream, max_files=1, max_fields=MAX_FORM_FIELDS)
        try:
            return await parser.parse()
        except MultiPartException as exc:
            raise MalformedInput(f"the multipart body cannot be read: {exc.message}") from None
