"""One entry point for a file of unknown format: sniff it, then hand it to its parser.

``deadzone import FILE`` and ``POST /v1/imports`` call :func:`open_readings`;
``deadzone import-sites`` calls :func:`open_sites`.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final, cast

from collectors.formats.canonical import parse_canonical_csv
from collectors.formats.cellexport import parse_cell_export
from collectors.formats.geojson import parse_geojson
from collectors.formats.geosubmit import MAX_BODY_BYTES, parse_geosubmit
from collectors.formats.opencellid import parse_opencellid
from collectors.formats.rows import (
    BinaryReadable,
    ByteSource,
    FormatError,
    ProgressHook,
    Row,
    RowError,
    RowStream,
    SiteDict,
    as_byte_source,
)
from collectors.formats.sniff import (
    CANONICAL_CSV,
    CELL_EXPORT,
    FORMAT_NAMES,
    GEOJSON,
    GEOSUBMIT,
    OPENCELLID,
    TOWERCOLLECTOR,
    sniff_format,
)
from collectors.formats.towercollector import parse_towercollector

READING_FORMATS: Final = (TOWERCOLLECTOR, OPENCELLID, GEOSUBMIT, CANONICAL_CSV, GEOJSON)

# How many bytes sniffing looks at: a Tower Collector header is ~330 bytes, and a
# pretty-printed JSON body names its first key within the first few lines.
SNIFF_BYTES: Final = 4096


GZIP_MAGIC: Final = b"\x1f\x8b"


class _Gunzipped:
    """A gzip stream read through, with its errors turned into :class:`FormatError`."""

    def __init__(self, compressed: ByteSource, *, max_bytes: int | None = None) -> None:
        # typeshed asks for a seekable file object, but GzipFile only seeks when its caller
        # seeks; reading front to back never does.
        self._file = gzip.GzipFile(fileobj=cast(Any, compressed), mode="rb")
        self._max_bytes = max_bytes
        self._out = 0

    def _counted(self, data: bytes) -> bytes:
        # A few hundred kilobytes of gzip can hold gigabytes of rows (a "zip bomb"): the
        # decompressed size is checked as it grows, never after.
        self._out += len(data)
        if self._max_bytes is not None and self._out > self._max_bytes:
            raise FormatError(
                f"the file is larger than {self._max_bytes:,} bytes once decompressed; "
                "split it into smaller files"
            )
        return data

    def read(self, size: int = -1, /) -> bytes:
        if self._max_bytes is not None and size < 0:
            size = self._max_bytes + 1 - self._out  # never inflate past the cap at once
        try:
            return self._counted(self._file.read(size))
        except (OSError, EOFError, zlib.error) as exc:
            raise FormatError(f"broken gzip data: {exc}") from None

    def readline(self, size: int | None = -1, /) -> bytes:
        try:
            return self._counted(self._file.readline(-1 if size is None else size))
        except (OSError, EOFError, zlib.error) as exc:
            raise FormatError(f"broken gzip data: {exc}") from None


def gunzipped(byte_source: ByteSource, *, max_bytes: int | None = None) -> ByteSource:
    """``byte_source`` itself, or its decompressed content when it starts with the gzip magic
    bytes (``.csv.gz`` exports: OpenCelliD ships its cell exports so). The progress hook stays
    on the compressed source, so it keeps counting the bytes of the file on disk.
    ``max_bytes`` caps the decompressed size (:class:`FormatError` past it)."""
    if byte_source.head(2) != GZIP_MAGIC:
        return byte_source
    # The decompressed side reports the compressed side's count, at its end too.
    return ByteSource(
        _Gunzipped(byte_source, max_bytes=max_bytes),
        progress=lambda _: byte_source.report_progress(),
    )


def open_readings(
    source: BinaryReadable | Iterable[bytes],
    *,
    format_name: str | None = None,
    device: str | None = None,
    progress: ProgressHook | None = None,
    received_at: datetime | None = None,
    max_bytes: int | None = None,
) -> tuple[str, RowStream[Row]]:
    """The format name and the lazy rows of a file of readings (gzip-compressed or not).

    ``format_name`` (one of :data:`READING_FORMATS`) skips sniffing. ``device`` is the token
    for rows that carry none (required for OpenCelliD and geosubmit files, which never do).
    ``progress`` is called with the bytes consumed so far. ``received_at`` stands in for a
    geosubmit report without a timestamp. ``max_bytes`` caps a gzip file's decompressed
    size. Raises
    :class:`~collectors.formats.rows.FormatError` (or a subclass) for an empty or unreadable
    file, an unknown format, a cell export (use :func:`open_sites`) or missing columns.
    """
    byte_source = gunzipped(as_byte_source(source, progress), max_bytes=max_bytes)
    name = format_name or sniff_format(byte_source.head(SNIFF_BYTES))
    if name == CELL_EXPORT:
        raise FormatError("this is a cell export (cell sites, not readings): import it as sites")
    if name == TOWERCOLLECTOR:
        return name, parse_towercollector(byte_source, device=device)
    if name == CANONICAL_CSV:
        return name, parse_canonical_csv(byte_source, device=device)
    if name == GEOJSON:
        return name, parse_geojson(byte_source, device=device)
    if name not in (OPENCELLID, GEOSUBMIT):
        raise FormatError(f"unknown format name {name!r}; known: {', '.join(FORMAT_NAMES)}")
    if not device:
        raise FormatError(f"a {name} file carries no device token: give one")
    if name == OPENCELLID:
        return name, parse_opencellid(byte_source, device=device)
    body = byte_source.read(MAX_BODY_BYTES + 1)
    byte_source.report_progress()
    if len(body) > MAX_BODY_BYTES:
        raise FormatError(f"a geosubmit file over {MAX_BODY_BYTES} bytes is not supported")
    rows = parse_geosubmit(body, device=device, received_at=received_at)
    return name, RowStream(enumerate(rows), byte_source, "index")


def open_sites(
    source: BinaryReadable | Iterable[bytes],
    *,
    progress: ProgressHook | None = None,
    max_bytes: int | None = None,
) -> RowStream[SiteDict | RowError]:
    """The lazy site dicts and row errors of a cell export (gzip-compressed or not), after
    checking that it is one. ``max_bytes`` caps a gzip file's decompressed size."""
    byte_source = gunzipped(as_byte_source(source, progress), max_bytes=max_bytes)
    name = sniff_format(byte_source.head(SNIFF_BYTES))
    if name != CELL_EXPORT:
        raise FormatError(f"expected a cell export (radio,mcc,net,area,cell,...), got {name}")
    return parse_cell_export(byte_source)


__all__ = ["ByteSource", "READING_FORMATS", "open_readings", "open_sites"]
