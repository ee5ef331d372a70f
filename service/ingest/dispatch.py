"""One dispatch for a file to import, whoever sends it (``POST /v1/imports`` or
``deadzone import``): sniff what it is, then store readings or, for a cell export, sites."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy.orm import Session, sessionmaker

from collectors.formats import FormatError, RowStream, open_readings, open_sites, sniff_format
from collectors.formats.registry import GZIP_MAGIC, SNIFF_BYTES
from service.ingest.files import ImportReport, RejectedSink, import_readings
from service.ingest.readings import Ingestor
from service.ingest.sites import CELL_EXPORT, import_sites


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


@dataclass
class OpenedFile:
    """A file to import, its kind told and its rows ready to stream (nothing stored yet)."""

    kind: str  # "readings" or "sites"
    format_name: str
    rows: RowStream[Any]


def open_import(
    file: BinaryIO,
    *,
    format_name: str | None,
    device: str | None,
    progress: Callable[[int], None] | None = None,
    max_bytes: int | None = None,
) -> OpenedFile:
    """Tell what ``file`` is (``format_name`` ``None`` sniffs it) and open its rows: a cell
    export as sites, anything else as readings. ``progress`` gets the bytes read so far.
    ``max_bytes`` caps a gzip file's decompressed size. Raises
    :class:`~collectors.formats.FormatError` before anything is stored."""
    sniffed = peek_format(file)
    if (format_name or sniffed) == CELL_EXPORT:
        sites = open_sites(file, progress=progress, max_bytes=max_bytes)
        return OpenedFile("sites", CELL_EXPORT, sites)
    name, stream = open_readings(
        file, format_name=format_name, device=device, progress=progress, max_bytes=max_bytes
    )
    return OpenedFile("readings", name, stream)


def store_import(
    sessions: sessionmaker[Session],
    ingestor: Ingestor,
    opened: OpenedFile,
    *,
    all_or_nothing: bool,
    keep_rejected: int = 0,
    sink: RejectedSink | None = None,
    max_rows: int | None = None,
    origin: str | None = None,
) -> ImportReport:
    """Store what ``open_import`` opened, chunk by chunk (readings: see
    :func:`service.ingest.files.import_readings`). A stream that breaks half-way raises
    :class:`~collectors.formats.FormatError` after the chunks before it are stored (none
    with ``all_or_nothing``)."""
    if opened.kind == "sites":
        return import_sites(sessions, opened.rows, keep_rejected=keep_rejected, sink=sink)
    return import_readings(
        sessions,
        ingestor,
        opened.rows,
        format_name=opened.format_name,
        all_or_nothing=all_or_nothing,
        keep_rejected=keep_rejected,
        sink=sink,
        max_rows=max_rows,
        origin=origin,
    )


def import_file(
    sessions: sessionmaker[Session],
    ingestor: Ingestor,
    file: BinaryIO,
    *,
    format_name: str | None,
    device: str | None,
    all_or_nothing: bool,
    keep_rejected: int = 0,
    sink: RejectedSink | None = None,
    max_bytes: int | None = None,
    max_rows: int | None = None,
    origin: str | None = None,
) -> ImportReport:
    """Open and store a file of any supported kind: the one dispatch behind both
    ``POST /v1/imports`` and ``deadzone import`` (which calls the two steps itself, to say
    whether anything was stored when a file fails). ``max_bytes`` and ``max_rows`` cap
    a file's decompressed size and its rows (readings) for uploads a server must survive."""
    opened = open_import(file, format_name=format_name, device=device, max_bytes=max_bytes)
    return store_import(
        sessions, ingestor, opened, all_or_nothing=all_or_nothing,
        keep_rejected=keep_rejected, sink=sink, max_rows=max_rows, origin=origin,
    )  # fmt: skip
