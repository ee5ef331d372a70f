"""What every format parser yields, and the byte-level reading they share.

A parser turns an outside file into a stream of rows. Each row is either

* a **reading dict**: a plain, JSON-compatible ``dict`` that validates as
  :class:`collectors.reading.Reading` (``observed_at`` an RFC 3339 string), or
* a :class:`RowError`: where the row was (1-based file line for CSV; report and cell index for
  geosubmit; feature index for GeoJSON), which field was wrong, and why, in words a person can
  act on.

Rows are dicts and small slotted objects rather than pydantic models on purpose: the service
validates each reading once with ``Reading``, and keeping a model per row alive costs about
1.3 KB and a lot of time (DESIGN.md, "Performance facts").

A problem with the file as a whole (empty, unknown format, missing columns, JSON that does not
parse) raises a :class:`FormatError` instead: there is no row to blame it on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import reprlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NamedTuple, Protocol, TypeAlias, TypeVar

ReadingDict: TypeAlias = dict[str, Any]
"""A canonical reading as a plain dict; validates as ``collectors.reading.Reading``."""

SiteDict: TypeAlias = dict[str, Any]
"""A cell site from an OpenCelliD/MLS cell export (see ``collectors.formats.cellexport``)."""

ProgressHook: TypeAlias = Callable[[int], None]
"""Called with the total number of bytes consumed so far (for a progress bar)."""

# How often the progress hook is called, in bytes consumed. Calling it per line would cost
# more than parsing the line.
PROGRESS_EVERY_BYTES: Final = 1 << 20

# Longest line we accept, in bytes. A hostile or broken file without newlines would otherwise
# be read into memory whole; a real CSV row of any of our formats is well under 1 KiB.
MAX_LINE_BYTES: Final = 1 << 20

_BOM: Final = "\ufeff"
LINE_END: Final = re.compile(rb"\r\n|\r|\n")
_CR_CHUNK: Final = 1 << 16
TRUE_WORDS: Final = frozenset({"true", "1", "yes", "t", "y"})
FALSE_WORDS: Final = frozenset({"false", "0", "no", "f", "n"})


@dataclass(frozen=True, slots=True)
class RowError:
    """One row that could not become a reading (or site), and why.

    ``line`` is the 1-based line number in the file where the row starts (CSV); ``index`` is
    the 0-based position of the report in geosubmit ``items`` or of the feature in a GeoJSON
    ``features`` array; ``cell`` is the 0-based position in the report's ``cellTowers``.
    ``field`` names the offending column/key in the source format's own spelling, or is
    ``None`` when the row as a whole is wrong (e.g. a wrong number of fields).
    """

    line: int | None
    field: str | None
    reason: str
    index: int | None = None
    cell: int | None = None

    def where(self) -> str:
        """Where the problem is, for a person: ``line 12``, ``report 3, cell 1``..."""
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.index is not None:
            parts.append(f"item {self.index}")
        if self.cell is not None:
            parts.append(f"cell {self.cell}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return ", ".join(parts) or "row"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible form for 4xx bodies and import reports (``None`` keys dropped)."""
        out: dict[str, Any] = {"reason": self.reason}
        for key in ("line", "index", "cell", "field"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    def __str__(self) -> str:
        return f"{self.where()}: {self.reason}"


Row: TypeAlias = ReadingDict | RowError
"""What a reading parser yields: test with ``isinstance(row, RowError)``."""


class FormatError(ValueError):
    """The file or body as a whole cannot be read as the format (nothing to blame on a row)."""


class EmptyFileError(FormatError):
    """The file has no bytes, or no header line."""


class UnknownFormatError(FormatError):
    """Sniffing could not tell which format a file is in."""


class MissingColumnsError(FormatError):
    """A CSV header lacks columns the format needs."""

    def __init__(self, format_name: str, missing: Iterable[str], seen: Iterable[str]) -> None:
        self.format_name = format_name
        self.missing = tuple(missing)
        self.seen = tuple(seen)
        seen_text = ",".join(self.seen)
        hint = ""
        if len(self.seen) <= 1 and any(sep in seen_text for sep in (";", "\t", "|")):
            hint = " (the header looks separated by ';', tab or '|': deadzone expects commas)"
        super().__init__(
            f"{format_name} file lacks required column(s) {', '.join(self.missing)}; "
            f"header was {_shorten(seen_text)!r}{hint}"
        )


class FieldProblem(Exception):
    """Raised inside a parser for one bad field; the parser turns it into a :class:`RowError`."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


_DESCRIBE: Final = reprlib.Repr()  # keyword arguments only from Python 3.12
_DESCRIBE.maxlevel = 2
_DESCRIBE.maxstring = _DESCRIBE.maxother = 40
_DESCRIBE.maxlist = _DESCRIBE.maxdict = 4


def describe_value(value: Any) -> str:
    """A short, bounded ``repr`` of an input value for an error message: a few levels and
    characters at most, however large or deep the value is (plain ``repr`` of a value
    nested 1,000 deep raises ``RecursionError``, and a 10 MB string would be echoed whole)."""
    return _DESCRIBE.repr(value)


def printable_name(name: str, limit: int = 64) -> str:
    """A key or field name taken from input, safe to store, log and echo: control
    characters and lone surrogates escaped (PostgreSQL refuses NUL in text), at most
    ``limit`` characters (a 10 MB unknown key is not echoed back)."""
    if not name.isprintable():
        name = name.encode("unicode_escape").decode("ascii")
    return name if len(name) <= limit else name[: limit - 3] + "..."


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


# --- bytes in ------------------------------------------------------------------------------


class BinaryReadable(Protocol):
    """Anything with ``read(n) -> bytes`` and ``readline(limit) -> bytes`` (a binary file)."""

    def read(self, size: int = -1, /) -> bytes: ...

    def readline(self, size: int | None = -1, /) -> bytes: ...


class _ChunkReader:
    """``read``/``readline`` over an iterator of arbitrary byte chunks (e.g. a request body)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = bytearray()
        self._done = False

    def _fill(self) -> bool:
        if self._done:
            return False
        for chunk in self._chunks:
            if chunk:
                self._buffer += chunk
                return True
        self._done = True
        return False

    def read(self, size: int = -1, /) -> bytes:
        while (size < 0 or len(self._buffer) < size) and self._fill():
            pass
        take = len(self._buffer) if size < 0 else min(size, len(self._buffer))
        out = bytes(self._buffer[:take])
        del self._buffer[:take]
        return out

    def readline(self, size: int | None = -1, /) -> bytes:
        limit = -1 if size is None else size
        start = 0
        while True:
            end = self._buffer.find(b"\n", start)
            if end >= 0:
                take = end + 1
                break
            start = len(self._buffer)
            if 0 <= limit <= start or not self._fill():
                take = start
                break
        if 0 <= limit < take:
            take = limit
        out = bytes(self._buffer[:take])
        del self._buffer[:take]
        return out


class ByteSource:
    """A binary input read once, front to back, counting the bytes consumed.

    Wraps a binary file object (anything with ``read``/``readline``) or an iterable of byte
    chunks. ``head()`` lets the format sniffer look at the first bytes without losing them;
    iterating gives raw lines (terminator included, never longer than :data:`MAX_LINE_BYTES`);
    ``read(n)`` serves the JSON parsers. ``bytes_read`` tells how far the parse has come, and
    ``progress`` (if given) is called with it about every :data:`PROGRESS_EVERY_BYTES`.
    Nothing here holds more than one line or one read chunk in memory.
    """

    def __init__(
        self, source: BinaryReadable | Iterable[bytes], *, progress: ProgressHook | None = None
    ) -> None:
        reader: BinaryReadable
        if isinstance(source, io.TextIOBase):
            raise TypeError("open the file in binary mode ('rb'): parsers decode it themselves")
        if hasattr(source, "readline") and hasattr(source, "read"):
            reader = source  # type: ignore[assignment]
        else:
            reader = _ChunkReader(source)  # type: ignore[arg-type]
        self._reader = reader
        self._pending = b""
        self._progress = progress
        self._next_report = PROGRESS_EVERY_BYTES
        self.bytes_read = 0
        self.oversized_lines = 0

    def head(self, size: int = 4096) -> bytes:
        """The first ``size`` bytes (fewer at end of file), left in place for the parser."""
        while len(self._pending) < size:
            more = self._reader.read(size - len(self._pending))
            if not more:
                break
            self._pending += more
        return self._pending[:size]

    def _count(self, n: int) -> None:
        self.bytes_read += n
        if self._progress is not None and self.bytes_read >= self._next_report:
            self._next_report = self.bytes_read + PROGRESS_EVERY_BYTES
            self._progress(self.bytes_read)

    def report_progress(self) -> None:
        """Call the progress hook with the bytes consumed so far (at the end, for one)."""
        if self._progress is not None:
            self._progress(self.bytes_read)

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes (all that is left if negative)."""
        if self._pending:
            if size < 0:
                out = self._pending + self._reader.read()
                self._pending = b""
            else:
                out = self._pending[:size]
                self._pending = self._pending[size:]
                if len(out) < size:  # top up from the file: callers may read once
                    out += self._reader.read(size - len(out))
        else:
            out = self._reader.read(size)
        self._count(len(out))
        return out

    def _readline(self) -> bytes:
        if self._pending:
            end = self._pending.find(b"\n")
            if end >= 0:
                line = self._pending[: end + 1]
                self._pending = self._pending[end + 1 :]
                return line
            line = self._pending + self._reader.readline(MAX_LINE_BYTES)
            self._pending = b""
            return line
        return self._reader.readline(MAX_LINE_BYTES)

    def __iter__(self) -> Iterator[bytes]:
        """Raw lines. A line over :data:`MAX_LINE_BYTES` is cut there, the rest of it is
        skipped, and an empty ``b""`` is yielded in its place (counted in ``oversized_lines``)
        so that line numbers stay right and the caller can report it."""
        count = self._count
        readline = self._reader.readline
        while True:
            # The bytes the sniffer looked at first (``head``), then the file's own lines.
            line = self._readline() if self._pending else readline(MAX_LINE_BYTES)
            if not line:
                break
            count(len(line))
            if len(line) >= MAX_LINE_BYTES and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):
                    line = readline(MAX_LINE_BYTES)
                    count(len(line))
                self.oversized_lines += 1
                yield b""
                continue
            yield line
        self.report_progress()

    def lines(self) -> Iterator[bytes]:
        """Raw lines as ``iter`` gives them; but a file whose first line ends at a lone CR
        (Excel's "CSV (Macintosh)", old Mac tools) is split at CR, CR LF or LF, each line
        given a LF, since ``readline`` splits at LF only and the whole file would be one
        line. Same cap and ``b""`` stand-in for an oversized line."""
        first = LINE_END.search(self.head())
        if first is None or first.group() != b"\r" or first.end() == len(self.head()):
            return iter(self)  # LF or CR LF (or a CR the head cuts short: read as before)
        return self._split_universally()

    def _split_universally(self) -> Iterator[bytes]:
        # Written by hand: io.TextIOWrapper's universal newlines would decode the whole
        # stream strictly, and csv_records decodes line by line so one bad line loses one
        # row. bytes.splitlines splits at CR, LF and CR LF only (unlike str.splitlines).
        pending = b""
        skipping = False  # the rest of an oversized line is being skipped
        while True:
            chunk = self.read(_CR_CHUNK)
            lines = (pending + chunk).splitlines(keepends=True)
            # The last piece may be unfinished: no end yet, or a CR that may be the first
            # half of a CR LF split between two reads.
            pending = lines.pop() if chunk and lines and not lines[-1].endswith(b"\n") else b""
            for line in lines:
                body = line.rstrip(b"\r\n")
                if skipping:
                    skipping = False
                elif len(body) >= MAX_LINE_BYTES:
                    self.oversized_lines += 1
                    yield b""
                else:
                    yield body + b"\n"
            if len(pending) >= MAX_LINE_BYTES:
                if not skipping:
                    self.oversized_lines += 1
                    yield b""
                skipping, pending = True, b""
            if not chunk:
                self.report_progress()
                return


def as_byte_source(
    source: ByteSource | BinaryReadable | Iterable[bytes], progress: ProgressHook | None
) -> ByteSource:
    """Wrap ``source`` unless it already is a :class:`ByteSource` (e.g. after sniffing)."""
    if isinstance(source, ByteSource):
        if progress is not None:
            source._progress = progress
        return source
    return ByteSource(source, progress=progress)


T = TypeVar("T")


class RowStream(Iterator[T]):
    """The lazy rows of one file: iterate it for rows, and ask where the last one came from.

    ``position`` is where the row last returned starts: its 1-based line in the file for CSV
    formats (``position_kind == "line"``), its 0-based index in the JSON array for GeoJSON
    (``"index"``); ``None`` before the first row. The service uses it to name the line of a
    reading that its quality gate rejects (a :class:`RowError` carries its own). ``numbered()``
    gives the remaining rows as ``(position, row)`` pairs instead, a little faster.
    ``bytes_read`` is how much of the file has been consumed (for a progress bar).
    """

    def __init__(
        self, numbered: Iterator[tuple[int, T]], source: ByteSource, position_kind: str
    ) -> None:
        self._numbered = numbered
        self._source = source
        self.position_kind = position_kind
        self.position: int | None = None

    def __next__(self) -> T:
        self.position, row = next(self._numbered)
        return row

    def numbered(self) -> Iterator[tuple[int, T]]:
        """The remaining rows as ``(position, row)`` pairs."""
        return self._numbered

    @property
    def bytes_read(self) -> int:
        """Bytes of the input consumed so far."""
        return self._source.bytes_read


class CsvRow(NamedTuple):
    """One CSV record: where it starts, its fields, and a problem found below the CSV level
    (bytes that are not UTF-8, a line too long) that spoils it. A NamedTuple, not a frozen
    dataclass: one is made per row, and a frozen dataclass costs 4 times as much to build."""

    line: int
    fields: list[str]
    problem: str | None
    problem_field: int | None


def csv_records(source: ByteSource) -> Iterator[CsvRow]:
    """CSV records of a UTF-8 file, decoded line by line so that one bad line loses one row.

    ``csv.reader`` over a strict ``TextIOWrapper`` stops the whole stream at the first byte
    that is not UTF-8, and ``errors='replace'`` over the stream would hide it. So each raw line
    is decoded on its own: a line that fails strict decoding is decoded with replacement
    characters instead (so the CSV structure, and the line count, survive) and the record it
    belongs to is flagged, naming the first field that holds a replacement character. A UTF-8
    byte-order mark on the first line (Excel writes one) is dropped. Blank lines are skipped.
    """
    problem: list[str | None] = [None]

    def text() -> Iterator[str]:
        number = 0
        for raw in source.lines():
            number += 1
            if not raw:
                problem[0] = f"line longer than {MAX_LINE_BYTES} bytes (skipped)"
                yield "\n"
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = raw[exc.start : exc.start + 1].hex()
                problem[0] = (
                    f"not valid UTF-8 (byte 0x{bad} at byte {exc.start + 1} of the line); "
                    "save the file as UTF-8"
                )
                line = raw.decode("utf-8", "replace")
            if number == 1 and line.startswith(_BOM):
                line = line[1:]
            yield line

    reader = csv.reader(text(), strict=False)
    previous = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            start = previous + 1
            previous = reader.line_num
            problem[0] = None
            yield CsvRow(start, [], f"malformed CSV: {exc}", None)
            continue
        start = previous + 1
        previous = reader.line_num
        found = problem[0]
        if found is not None:
            problem[0] = None
            where = next((i for i, f in enumerate(fields) if "\ufffd" in f), None)
            yield CsvRow(start, fields, found, where)
            continue
        if not fields:
            continue
        yield CsvRow(start, fields, None, None)


def read_header(records: Iterator[CsvRow], format_name: str) -> list[str]:
    """The header row's column names (stripped), or :class:`EmptyFileError`."""
    for record in records:
        if record.problem is not None:
            raise FormatError(f"{format_name} header (line {record.line}): {record.problem}")
        return [name.strip() for name in record.fields]
    raise EmptyFileError(f"empty file: expected a {format_name} header line, found nothing")


def column_index(header: list[str], names: Iterable[str]) -> dict[str, int]:
    """Position of each wanted column present in ``header`` (the first one if repeated)."""
    wanted = set(names)
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        if name in wanted and name not in index:
            index[name] = position
    return index


def record_error(record: CsvRow, header: list[str]) -> RowError | None:
    """The :class:`RowError` for a record spoiled below the CSV level or with the wrong number
    of fields, else ``None``."""
    if record.problem is not None:
        field = None
        if record.problem_field is not None and record.problem_field < len(header):
            field = header[record.problem_field]
        return RowError(record.line, field, record.problem)
    if len(record.fields) != len(header):
        return RowError(
            record.line,
            None,
            f"row has {len(record.fields)} fields but the header has {len(header)}",
        )
    return None


# --- fields --------------------------------------------------------------------------------


def int_field(text: str, name: str) -> int | None:
    """An integer column; empty means unknown (``None``)."""
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise FieldProblem(name, f"{_shorten(text, 40)!r} is not an integer") from None


def float_field(text: str, name: str) -> float | None:
    """A decimal column; empty means unknown. NaN and infinities are refused."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise FieldProblem(name, f"{_shorten(text, 40)!r} is not a number") from None
    if not math.isfinite(value):
        raise FieldProblem(name, f"{describe_value(text)} is not a finite number")
    return value


def bool_field(text: str, name: str) -> bool | None:
    """``true/false/1/0`` (also yes/no), any case; empty means unknown."""
    if not text:
        return None
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise FieldProblem(name, f"{_shorten(text, 40)!r} is not true/false/1/0")


def required(value: Any, name: str) -> Any:
    """``value`` unless it is ``None`` (an empty required field)."""
    if value is None:
        raise FieldProblem(name, "missing (empty)")
    return value


def iso_to_rfc3339(text: str, name: str, *, naive_is_utc: bool) -> str:
    """An ISO-8601 time as an RFC 3339 UTC string (``...+00:00``).

    ``naive_is_utc``: formats documented as UTC (Tower Collector, OpenCelliD) may omit the
    offset; the canonical format must carry one, as ``Reading.observed_at`` does.
    """
    if not text:
        raise FieldProblem(name, "missing (empty)")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise FieldProblem(name, f"{_shorten(text, 40)!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        if not naive_is_utc:
            raise FieldProblem(
                name, f"{describe_value(text)} has no UTC offset (write e.g. ...Z or +07:00)"
            )
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


# Epoch values above this are milliseconds: 1e11 s is the year 5138, while 1e11 ms is 1973,
# before any phone logged a cell. So the two readings of a number never overlap in practice.
EPOCH_MS_THRESHOLD: Final = 100_000_000_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_to_rfc3339(value: float, name: str) -> str:
    """Seconds or milliseconds since 1970-01-01 UTC (told apart by size) as RFC 3339."""
    seconds = value / 1000.0 if abs(value) >= EPOCH_MS_THRESHOLD else value
    try:
        moment = _EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        raise FieldProblem(name, f"{describe_value(value)} is not a plausible epoch time") from None
    return moment.isoformat()


def epoch_ms_to_rfc3339(milliseconds: int, name: str) -> str:
    """Milliseconds since 1970-01-01 UTC (a format that always uses ms) as RFC 3339."""
    try:
        moment = _EPOCH + timedelta(milliseconds=milliseconds)
    except OverflowError:
        raise FieldProblem(name, f"{milliseconds!r} is not a plausible epoch time") from None
    return moment.isoformat()


# --- ids -----------------------------------------------------------------------------------


def reading_id(content: str) -> str:
    """A deterministic reading id from the reading's identifying content, given as one string
    of the parsed values (callers join them with ``|``; an f-string is the cheapest way).

    Formats without their own id get this one so that importing the same file twice, or two
    exports that overlap (Tower Collector exports everything since a date), yields the same
    ids, and the service's (device, id) uniqueness turns the repeat into a counted duplicate
    instead of a second reading. Hashing the parsed values rather than the raw line makes the
    id independent of column order and number spelling (``-95`` vs ``-95.0``). The line number
    is left out on purpose: it shifts when rows are added in front. BLAKE2b, 128 bits: a
    collision within one device's readings is not a practical concern.
    """
    return hashlib.blake2b(content.encode("utf-8", "replace"), digest_size=16).hexdigest()
