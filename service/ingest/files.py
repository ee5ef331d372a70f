"""Readings from outside files and bodies (Tower Collector, OpenCelliD, geosubmit, canonical
CSV, GeoJSON) stored through the same ingest as ``POST /v1/readings``.

A file is read as a stream and stored in chunks of :data:`CHUNK_READINGS` readings, one
transaction each (``session_scope``), so that memory stays flat however big the file is and
SQLite's write lock is held only while a chunk is written, never while the next one is
parsed. Because the parsers derive reading ids from the readings' content, a file that is
imported again, or an import that failed half-way and is restarted, adds only what is
missing. ``all_or_nothing`` puts the whole file in one transaction instead, and rolls it
back if any row is refused.

Every refused row is reported where the person who made the file can find it: the line of a
CSV file (or the item of a JSON array), the field, and why. Rows that the parser could not
read (:class:`~collectors.formats.RowError`) and readings that the quality gate refused
(:class:`~service.ingest.quality.Rejection`, numbered by position in a chunk) are mapped back to
that line through the positions that :meth:`RowStream.numbered` gives.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Final

from sqlalchemy.orm import Session, sessionmaker

from collectors.formats import FormatError, Row, RowError, RowStream
from collectors.formats.geosubmit import SOURCE as GEOSUBMIT_SOURCE
from collectors.formats.sniff import GEOSUBMIT
from service.ingest.quality import Rejection
from service.ingest.readings import Ingestor, PreparedBatch
from service.store.database import session_scope
from service.timestamps import utcnow

CHUNK_READINGS: Final = 5000
"""Readings per transaction of a file import: the batch size at which the bulk insert is
already at full speed (service.store.bulk), small enough that a chunk's readings and their
pydantic models take a few MB."""

UNREADABLE: Final = "unreadable"
"""Rejection code of a row that the format parser could not turn into a reading."""

REPORT_COLUMNS: Final = ("line", "item", "field", "code", "reason")


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """One refused row of an import, or one problem of it (a reading that the schema
    refuses for two fields is reported twice, on the same line).

    ``line`` is the 1-based line where the row starts in a CSV file; ``item`` the 0-based
    position in a JSON array (geosubmit ``items``, GeoJSON ``features``); one of them is set.
    ``field`` is the column or key in the file's own spelling (the canonical name for the
    quality gate's checks), ``row`` when the row as a whole is wrong.
    """

    line: int | None
    item: int | None
    field: str
    code: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "item": self.item,
            "field": self.field,
            "code": self.code,
            "reason": self.reason,
        }


RejectedSink = Callable[[RejectedRow], None]
"""Receives every refused row as it is found (e.g. a CSV writer for the report file)."""


@dataclass
class ImportReport:
    """What an import did. Counts are of what is stored: after an all-or-nothing import
    that was rolled back, ``accepted``/``updated`` are 0 and ``stored`` is false.

    ``accepted``: new readings (or new sites) stored; ``duplicates``: readings that were
    already stored (same device and id), counted once; ``updated``: sites already stored
    and refreshed (always 0 for readings); ``rejected``: rows refused, each counted once
    however many problems it has. ``first_rejected`` keeps the first ``keep_rejected``
    problems, in file order; ``sink`` (if given) receives all of them.
    """

    format_name: str
    kind: str = "readings"
    accepted: int = 0
    duplicates: int = 0
    updated: int = 0
    rejected: int = 0
    stored: bool = True
    bytes_read: int = 0
    keep_rejected: int = 0
    first_rejected: list[RejectedRow] = field(default_factory=list)
    sink: RejectedSink | None = field(default=None, repr=False, compare=False)

    def add_rejected(self, problems: list[RejectedRow], *, rows: int) -> None:
        """Record ``problems`` (in file order) belonging to ``rows`` distinct refused rows."""
        self.rejected += rows
        room = self.keep_rejected - len(self.first_rejected)
        if room > 0:
            self.first_rejected.extend(problems[:room])
        if self.sink is not None:
            for problem in problems:
                self.sink(problem)


class _RollBack(Exception):
    """Raised inside an all-or-nothing transaction to undo it (never escapes this module)."""


@dataclass
class _Chunk:
    items: list[dict[str, Any]] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _chunks(stream: RowStream[Row], size: int, *, max_rows: int | None = None) -> Iterator[_Chunk]:
    """The stream cut into chunks of at most ``size`` readings (and at most ``size`` row
    errors, so that a file of nothing but bad rows does not pile up in memory either).
    Past ``max_rows`` rows, :class:`~collectors.formats.FormatError`."""
    chunk = _Chunk()
    for count, (position, row) in enumerate(stream.numbered(), start=1):
        if max_rows is not None and count > max_rows:
            raise FormatError(f"the file has more than {max_rows:,} rows; split it")
        if isinstance(row, RowError):
            chunk.errors.append(row)
        else:
            chunk.items.append(row)
            chunk.positions.append(position)
        if len(chunk.items) >= size or len(chunk.errors) >= size:
            yield chunk
            chunk = _Chunk()
    if chunk.items or chunk.errors:
        yield chunk


def row_error_to_rejected(error: RowError) -> RejectedRow:
    """A parser's row error as a report row (a geosubmit cell is named in the reason)."""
    reason = error.reason if error.cell is None else f"cell {error.cell}: {error.reason}"
    return RejectedRow(error.line, error.index, error.field or "row", UNREADABLE, reason)


def source_of_format(format_name: str) -> str:
    """The ``source`` that a format's readings carry (and its unreadable rows count under)."""
    return GEOSUBMIT_SOURCE if format_name == GEOSUBMIT else format_name


def _store_chunk(
    session: Session,
    ingestor: Ingestor,
    chunk: _Chunk,
    batch: PreparedBatch,
    *,
    position_is_line: bool,
    origin: str | None = None,
) -> tuple[int, int, list[RejectedRow], int]:
    """Store one chunk, validated beforehand (``batch``, from ``Ingestor.prepare``):
    (accepted, duplicates, problems in file order, refused rows)."""
    unparsed = [Rejection(-1, e.field or "row", UNREADABLE, e.reason) for e in chunk.errors]
    result = ingestor.store(session, batch, unparsed=unparsed, origin=origin)
    problems = [row_error_to_rejected(e) for e in chunk.errors]
    for rejection in result.rejected:
        # The gate numbers readings by their position in the chunk; the chunk remembers
        # where in the file each one came from.
        position = chunk.positions[rejection.index]
        line, item = (position, None) if position_is_line else (None, position)
        problems.append(RejectedRow(line, item, rejection.field, rejection.code, rejection.reason))
    problems.sort(key=lambda p: p.line if p.line is not None else p.item or 0)
    return (
        result.accepted,
        result.duplicates,
        problems,
        len(chunk.errors) + (result.rejected_readings),
    )


def import_readings(
    sessions: sessionmaker[Session],
    ingestor: Ingestor,
    stream: RowStream[Row],
    *,
    format_name: str,
    all_or_nothing: bool = False,
    chunk_readings: int = CHUNK_READINGS,
    keep_rejected: int = 0,
    sink: RejectedSink | None = None,
    now: datetime | None = None,
    max_rows: int | None = None,
    origin: str | None = None,
) -> ImportReport:
    """Store the readings of ``stream`` (from :func:`collectors.formats.open_readings`).

    Without ``all_or_nothing``, each chunk of ``chunk_readings`` readings commits on its
    own: an error half-way (a broken gzip stream, the database going away) keeps the
    chunks before it, and importing the file again adds only the rest. With it, one
    transaction holds the whole file and is rolled back if any row is refused (the whole
    file is still read, so that the report lists every problem at once).
    A :class:`~collectors.formats.FormatError` raised by the stream propagates, and so does
    the one raised past ``max_rows`` rows (after the chunks before it, as above).
    """
    now = now or utcnow()
    report = ImportReport(format_name=format_name, keep_rejected=keep_rejected, sink=sink)
    source = source_of_format(format_name)
    position_is_line = stream.position_kind == "line"

    def prepare(chunk: _Chunk) -> PreparedBatch:
        return ingestor.prepare(chunk.items, default_source=source, now=now)

    def store(session: Session, chunk: _Chunk, batch: PreparedBatch) -> None:
        accepted, duplicates, problems, refused = _store_chunk(
            session, ingestor, chunk, batch, position_is_line=position_is_line, origin=origin
        )
        report.accepted += accepted
        report.duplicates += duplicates
        report.add_rejected(problems, rows=refused)

    if all_or_nothing:
        try:
            with session_scope(sessions) as session:
                for chunk in _chunks(stream, chunk_readings, max_rows=max_rows):
                    store(session, chunk, prepare(chunk))
                if report.rejected:
                    raise _RollBack
        except _RollBack:
            report.stored = False
            report.accepted = report.duplicates = 0
    else:
        for chunk in _chunks(stream, chunk_readings, max_rows=max_rows):
            # Validated before the transaction, which then holds SQLite's one writer for
            # the inserts only: the validation of 5,000 readings inside it held phones'
            # uploads up to 1.8 s (issue 17, benchmarks/ingest_latency.py --import-rows).
            batch = prepare(chunk)
            with session_scope(sessions) as session:
                store(session, chunk, batch)
    report.bytes_read = stream.bytes_read
    return report


def import_geosubmit(
    sessions: sessionmaker[Session],
    ingestor: Ingestor,
    rows: list[Row],
    *,
    now: datetime | None = None,
    origin: str | None = None,
) -> ImportReport:
    """Store the rows of a geosubmit v2 body (from :func:`collectors.formats.parse_geosubmit`:
    one reading per report, from its serving cell). Reports that yield no reading are
    counted as refused, with their reason, in the same transaction: one request, one
    transaction, which the validation does not hold (as a file's chunks)."""
    now = now or utcnow()
    chunk = _Chunk()
    for position, row in enumerate(rows):
        if isinstance(row, RowError):
            chunk.errors.append(row)
        else:
            chunk.items.append(row)
            chunk.positions.append(position)
    report = ImportReport(format_name=GEOSUBMIT, keep_rejected=len(rows))
    batch = ingestor.prepare(chunk.items, default_source=GEOSUBMIT_SOURCE, now=now)
    with session_scope(sessions) as session:
        accepted, duplicates, problems, refused = _store_chunk(
            session, ingestor, chunk, batch, position_is_line=False, origin=origin
        )
    report.accepted, report.duplicates = accepted, duplicates
    report.add_rejected(problems, rows=refused)
    return report


def rejected_csv_sink(file: IO[str]) -> RejectedSink:
    """A sink that writes each refused row to ``file`` as CSV (header first):
    ``line,item,field,code,reason``."""
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)

    def write(problem: RejectedRow) -> None:
        writer.writerow(
            ("" if problem.line is None else problem.line,
             "" if problem.item is None else problem.item,
             problem.field, problem.code, problem.reason)
        )  # fmt: skip

    return write
