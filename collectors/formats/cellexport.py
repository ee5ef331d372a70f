"""OpenCelliD / MLS cell export: where the cell sites are, for context layers and planning.

``radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,updated,
averageSignal``; one row per cell, the position being the estimated cell (not mast) centre,
``range`` its estimated radius in metres, ``created``/``updated`` epoch seconds. These rows
are not readings: they become site dicts for ``deadzone import-sites``.

Site dict schema (all keys always present)::

    radio           str    "gsm" | "umts" | "lte" | "nr"
    mcc             int    mobile country code
    mnc             int    the export's "net"
    area            int    LAC (GSM/UMTS) or TAC (LTE/NR)
    cell            int    CID / long UMTS CID / ECI / NCI
    unit            int | None   PSC (UMTS) or PCI (LTE/NR); empty for GSM
    lon, lat        float  WGS84 degrees
    range_m         int | None   estimated cell radius, metres
    samples         int | None   measurements behind the estimate
    changeable      bool | None  True when the position is computed from measurements,
                                 False when it is an exact (operator-given) position
    created         datetime | None  aware UTC
    updated         datetime | None  aware UTC
    average_signal  int | None   dBm; the export's 0 (= not known) becomes None
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Final

from collectors.formats.rows import (
    BinaryReadable,
    ByteSource,
    CsvRow,
    FieldProblem,
    MissingColumnsError,
    ProgressHook,
    RowError,
    RowStream,
    SiteDict,
    as_byte_source,
    bool_field,
    column_index,
    csv_records,
    float_field,
    int_field,
    read_header,
    record_error,
    required,
)
from collectors.formats.technology import technology_to_radio
from domain.radio import Radio

COLUMNS: Final = [
    "radio",
    "mcc",
    "net",
    "area",
    "cell",
    "unit",
    "lon",
    "lat",
    "range",
    "samples",
    "changeable",
    "created",
    "updated",
    "averageSignal",
]
REQUIRED_COLUMNS: Final = ("radio", "mcc", "net", "area", "cell", "lon", "lat")

# Same limits as Reading.lat/lon (DESIGN.md, data quality): H3 and web maps use Web
# Mercator's +-85.051 degrees; (0, 0) is the classic "no fix" value.
MAX_ABS_LAT: Final = 85.051
MAX_ABS_LON: Final = 180.0
_RADIO_NAMES: Final[dict[Radio, str]] = {radio: radio.value for radio in Radio}


def parse_cell_export(
    source: ByteSource | BinaryReadable | Iterable[bytes],
    *,
    progress: ProgressHook | None = None,
) -> RowStream[SiteDict | RowError]:
    """Site dicts (schema in the module docstring) and row errors, lazily.

    Rows with a radio other than GSM/UMTS/LTE/NR (CDMA in the world exports), or a position
    out of range or at (0, 0), are row errors. The header is read at once:
    :class:`~collectors.formats.rows.EmptyFileError` or
    :class:`~collectors.formats.rows.MissingColumnsError` raise here.
    """
    byte_source = as_byte_source(source, progress)
    records = csv_records(byte_source)
    header = read_header(records, "cell export")
    index = column_index(header, COLUMNS)
    missing = [name for name in REQUIRED_COLUMNS if name not in index]
    if missing:
        raise MissingColumnsError("cell export", missing, header)
    return RowStream(_sites(records, header, index), byte_source, "line")


def _epoch(text: str, name: str) -> datetime | None:
    seconds = int_field(text, name)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise FieldProblem(name, f"{seconds} is not a plausible epoch time") from None


def _sites(
    records: Iterator[CsvRow], header: list[str], index: dict[str, int]
) -> Iterator[tuple[int, SiteDict | RowError]]:
    width = len(header)

    def cell(fields: list[str], name: str) -> str:
        position = index.get(name)
        return fields[position] if position is not None else ""

    for record in records:
        fields = record.fields
        if record.problem is not None or len(fields) != width:
            error = record_error(record, header)
            if error is not None:
                yield record.line, error
            continue
        try:
            radio = technology_to_radio(cell(fields, "radio"), "radio")
            lat = required(float_field(cell(fields, "lat"), "lat"), "lat")
            lon = required(float_field(cell(fields, "lon"), "lon"), "lon")
            if not -MAX_ABS_LAT <= lat <= MAX_ABS_LAT:
                raise FieldProblem("lat", f"{lat} is outside -85.051..85.051")
            if not -MAX_ABS_LON <= lon <= MAX_ABS_LON:
                raise FieldProblem("lon", f"{lon} is outside -180..180")
            if lat == 0.0 and lon == 0.0:
                raise FieldProblem("lat", "(0, 0) is a missing position, not a site")
            average = int_field(cell(fields, "averageSignal"), "averageSignal")
            site: SiteDict = {
                "radio": _RADIO_NAMES[radio],
                "mcc": required(int_field(cell(fields, "mcc"), "mcc"), "mcc"),
                "mnc": required(int_field(cell(fields, "net"), "net"), "net"),
                "area": required(int_field(cell(fields, "area"), "area"), "area"),
                "cell": required(int_field(cell(fields, "cell"), "cell"), "cell"),
                "unit": int_field(cell(fields, "unit"), "unit"),
                "lon": lon,
                "lat": lat,
                "range_m": int_field(cell(fields, "range"), "range"),
                "samples": int_field(cell(fields, "samples"), "samples"),
                "changeable": bool_field(cell(fields, "changeable"), "changeable"),
                "created": _epoch(cell(fields, "created"), "created"),
                "updated": _epoch(cell(fields, "updated"), "updated"),
                # OpenCelliD writes 0 when no measurement carried a signal.
                "average_signal": average or None,
            }
        except FieldProblem as problem:
            yield record.line, RowError(record.line, problem.field, problem.reason)
            continue
        yield record.line, site
