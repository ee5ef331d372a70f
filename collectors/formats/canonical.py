"""deadzone's own reading format as CSV: one column per ``Reading`` field.

The header names the :class:`collectors.reading.Reading` fields, in any order; a field that
is absent or empty is missing. Numbers are parsed to int/float, booleans from
``true/false/1/0``; times must carry a UTC offset. A column that is not a Reading field is a
file-level error (most often a typo, which would otherwise silently drop a value). Readings
without ``id`` get a derived one, without ``device`` the caller's token, without ``source``
``canonical-csv``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

from collectors.formats.rows import (
    BinaryReadable,
    ByteSource,
    CsvRow,
    FieldProblem,
    FormatError,
    MissingColumnsError,
    ProgressHook,
    ReadingDict,
    Row,
    RowError,
    RowStream,
    as_byte_source,
    bool_field,
    csv_records,
    describe_value,
    float_field,
    int_field,
    iso_to_rfc3339,
    read_header,
    reading_id,
    record_error,
)
from domain.radio import Radio

SOURCE: Final = "canonical-csv"


def _text(text: str, name: str) -> str | None:
    return text or None


def _time(text: str, name: str) -> str | None:
    return iso_to_rfc3339(text, name, naive_is_utc=False) if text else None


_RADIO_VALUES: Final = frozenset(radio.value for radio in Radio)


def _radio(text: str, name: str) -> str | None:
    if not text:
        return None
    value = text.strip().lower()
    if value not in _RADIO_VALUES:
        raise FieldProblem(name, f"{describe_value(text)} is not one of gsm, umts, lte, nr")
    return value


# How each Reading field is read from text. tests/formats checks that the keys are exactly
# Reading's fields, so a field added there cannot be forgotten here.
FIELD_PARSERS: Final[dict[str, Callable[[str, str], Any]]] = {
    "id": _text,
    "device": _text,
    "observed_at": _time,
    "lat": float_field,
    "lon": float_field,
    "accuracy_m": float_field,
    "speed_mps": float_field,
    "mcc": int_field,
    "mnc": int_field,
    "radio": _radio,
    "signal_dbm": float_field,
    "no_service": bool_field,
    "level": int_field,
    "calls_fail": bool_field,
    "area_code": int_field,
    "cell_id": int_field,
    "pci": int_field,
    "arfcn": int_field,
    "source": _text,
}

REQUIRED_COLUMNS: Final = ("observed_at", "lat", "lon", "mcc", "mnc", "radio")


def parse_canonical_csv(
    source: ByteSource | BinaryReadable | Iterable[bytes],
    *,
    device: str | None = None,
    progress: ProgressHook | None = None,
) -> RowStream[Row]:
    """Readings (dicts) and row errors from a canonical CSV, lazily.

    The header is checked at once: unknown columns raise
    :class:`~collectors.formats.rows.FormatError`, missing required ones
    :class:`~collectors.formats.rows.MissingColumnsError`, an empty file
    :class:`~collectors.formats.rows.EmptyFileError`. A row with an empty required field or a
    value of the wrong type is a row error naming the field; value ranges are left to the
    service.
    """
    byte_source = as_byte_source(source, progress)
    records = csv_records(byte_source)
    header = read_header(records, "canonical CSV")
    unknown = [name for name in header if name not in FIELD_PARSERS]
    if unknown:
        raise FormatError(
            f"canonical CSV has column(s) that are not reading fields: {', '.join(unknown)}; "
            f"the fields are {', '.join(FIELD_PARSERS)}"
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise FormatError(f"canonical CSV repeats column(s) {', '.join(repeated)}")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise MissingColumnsError("canonical CSV", missing, header)
    return RowStream(_rows(records, header, device), byte_source, "line")


def _rows(
    records: Iterator[CsvRow], header: list[str], device: str | None
) -> Iterator[tuple[int, Row]]:
    columns = [(position, name, FIELD_PARSERS[name]) for position, name in enumerate(header)]
    for record in records:
        error = record_error(record, header)
        if error is not None:
            yield record.line, error
            continue
        fields = record.fields
        reading: ReadingDict = {}
        try:
            for position, name, parse in columns:
                value = parse(fields[position], name)
                if value is not None:
                    reading[name] = value
            # An empty mnc is an unknown operator (Reading.mnc: null), the resident's "I
            # don't know"; every other required field must be given.
            if "mnc" not in reading:
                reading["mnc"] = None
            for name in REQUIRED_COLUMNS:
                if name not in reading:
                    raise FieldProblem(name, "missing (empty)")
            if "device" not in reading:
                if not device:
                    raise FieldProblem("device", "no device token in the row and none given")
                reading["device"] = device
        except FieldProblem as problem:
            yield record.line, RowError(record.line, problem.field, problem.reason)
            continue
        yield record.line, complete_reading(reading, SOURCE)


def complete_reading(reading: ReadingDict, source: str) -> ReadingDict:
    """Fill ``source`` and a derived ``id`` (see ``rows.reading_id``) where the row has none."""
    reading.setdefault("source", source)
    if "id" not in reading:
        reading["id"] = reading_id(
            f"{reading.get('observed_at')}|{reading.get('lat')}|{reading.get('lon')}|"
            f"{reading.get('mcc')}|{reading.get('mnc')}|{reading.get('radio')}|"
            f"{reading.get('area_code')}|{reading.get('cell_id')}|{reading.get('signal_dbm')}|"
            f"{reading.get('no_service')}|{reading.get('level')}|{reading.get('calls_fail')}"
        )
    return reading
