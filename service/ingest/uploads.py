"""Files uploaded over HTTP (``POST /v1/imports``): a size-limited multipart body, spooled
to a temporary file, then imported as readings or, for a cell export, as sites."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import BinaryIO

from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from collectors.formats import FormatError, open_readings, open_sites, sniff_format
from collectors.formats.registry import GZIP_MAGIC, SNIFF_BYTES
from service.errors import BadRequest, PayloadTooLarge, UnprocessableRequest
from service.ingest.files import ImportReport, import_readings
from service.ingest.readings import Ingestor
from service.ingest.sites import CELL_EXPORT, import_sites

# Besides the file: format, device, all_or_nothing. Refusing more stops a body of
# thousands of tiny fields from costing memory.
MAX_FORM_FIELDS = 8


async def read_upload_form(request: Request, *, max_bytes: int) -> FormData:
    """The multipart form of ``request``, its file parts spooled to temporary files
    (Starlette keeps up to 1 MB of each in memory, the rest on disk). Refuses bodies over
    ``max_bytes`` as they arrive, not after. The caller closes the form."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise UnprocessableRequest(
            f"expected a multipart/form-data upload with the file in a part named 'file', "
            f"got Content-Type {content_type or 'none'!r}",
            field="Content-Type",
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(
            f"upload of {declared} bytes is larger than the limit of {max_bytes} bytes",
            limit_bytes=max_bytes,
        )

    async def limited() -> AsyncGenerator[bytes, None]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise PayloadTooLarge(
                    f"upload is larger than the limit of {max_bytes} bytes",
                    limit_bytes=max_bytes,
                )
            yield chunk

    async with aclosing(limited()) as stream:
        parser = MultiPartParser(request.headers, stream, max_files=1, max_fields=MAX_FORM_FIELDS)
        try:
            return await parser.parse()
        except MultiPartException as exc:
            raise BadRequest(f"the multipart body cannot be read: {exc.message}") from None


def peek_format(file: BinaryIO) -> str | None:
    """The sniffed format of a seekable upload (looking inside gzip), or ``None`` when it
    cannot be told: the parser then says why. Leaves the file at its start."""
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    try:
        if head[:2] == GZIP_MAGIC:
            file.seek(0)
            with gzip.GzipFile(fileobj=file, mode="rb") as inner:
                head = inner.read(SNIFF_BYTES)
        return sniff_format(head)
    except (FormatError, OSError, EOFError, zlib.error):
        return None
    finally:
        file.seek(0)


def import_upload(
    sessions: sessionmaker[Session],
    ingestor: Ingestor,
    file: BinaryIO,
    *,
    format_name: str | None,
    device: str | None,
    all_or_nothing: bool,
    keep_rejected: int,
) -> ImportReport:
    """Import an uploaded file: a cell export becomes sites, anything else readings (see
    :func:`service.ingest.files.import_readings`). ``format_name`` ``None`` sniffs it. Raises
    :class:`~collectors.formats.FormatError` for a file-level problem, before anything is
    stored (or, for a stream that breaks half-way, after the chunks before it)."""
    sniffed = peek_format(file)
    if (format_name or sniffed) == CELL_EXPORT:
        return import_sites(sessions, open_sites(file), keep_rejected=keep_rejected)
    name, stream = open_readings(file, format_name=format_name, device=device)
    return import_readings(
        sessions,
        ingestor,
        stream,
        format_name=name,
        all_or_nothing=all_or_nothing,
        keep_rejected=keep_rejected,
    )
