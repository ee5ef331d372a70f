"""Tower Collector's CSV export, read into canonical readings.

Tower Collector (an open-source Android app that logs the serving cell along a walk) exports
one row per measurement, CRLF line ends, empty fields for unknown values and ISO-8601 UTC
times. Columns are found by name, so older exports with fewer columns and newer ones with
more are both read; columns we do not use are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from math import isfinite
from typing import Final

from collectors.formats.rows import (
    TRUE_WORDS,
    BinaryReadable,
    ByteSource,
    CsvRow,
    FieldProblem,
    MissingColumnsError,
    ProgressHook,
    Row,
    RowError,
    RowStream,
    as_byte_source,
    csv_records,
    float_field,
    int_field,
    iso_to_rfc3339,
    read_header,
    reading_id,
    record_error,
    required,
)
from collectors.formats.strength import asu_field_to_dbm
from collectors.formats.technology import technology_to_radio
from domain.radio import ANDROID_UNAVAILABLE, Radio

SOURCE: Final = "towercollector"

COLUMNS: Final = [
    "mcc",
    "mnc",
    "lac",
    "cell_id",
    "short_cell_id",
    "rnc",
    "psc",
    "asu",
    "dbm",
    "ta",
    "lat",
    "lon",
    "accuracy",
    "speed",
    "bearing",
    "altitude",
    "measured_at",
    "net_type",
    "neighboring",
    "discovered_at",
    "device",
    "rsrp",
    "rsrq",
    "rssi",
    "rssnr",
    "cqi",
    "rscp",
    "csi_rsrp",
    "csi_rsrq",
    "csi_sinr",
    "ss_rsrp",
    "ss_rsrq",
    "ss_sinr",
    "cdma_dbm",
    "cdma_ecio",
    "evdo_dbm",
    "evdo_ecio",
    "evdo_snr",
    "ec_no",
    "arfcn",
]
"""The full header of a current Tower Collector export, in its order."""

REQUIRED_COLUMNS: Final = ("mcc", "mnc", "lat", "lon", "measured_at", "net_type")
SIGNAL_COLUMNS: Final = ("rsrp", "ss_rsrp", "rscp", "dbm", "asu")
"""At least one of these must be in the header, or no row could carry a signal."""

# The radio's own metric first (DESIGN.md: GSM RSSI, UMTS RSCP, LTE RSRP, NR SS-RSRP), then
# Android's generic getDbm() value, then ASU converted per radio.
_METRIC_COLUMN: Final[dict[Radio, str]] = {
    Radio.GSM: "dbm",
    Radio.UMTS: "rscp",
    Radio.LTE: "rsrp",
    Radio.NR: "ss_rsrp",
}

# Plain str values (not the StrEnum members) keep the dicts plain JSON for any encoder.
_RADIO_NAMES: Final[dict[Radio, str]] = {radio: radio.value for radio in Radio}

_USED: Final = (
    *REQUIRED_COLUMNS,
    *SIGNAL_COLUMNS,
    "lac",
    "cell_id",
    "psc",
    "accuracy",
    "speed",
    "neighboring",
    "device",
    "arfcn",
)


def parse_towercollector(
    source: ByteSource | BinaryReadable | Iterable[bytes],
    *,
    device: str | None = None,
    progress: ProgressHook | None = None,
) -> RowStream[Row]:
    """Readings (dicts) and row errors from a Tower Collector CSV export, lazily.

    ``device`` is the token used for rows whose ``device`` column is empty or absent (the
    service derives it from the uploader); a row with neither is a row error. The header is
    read at once, so an empty file (:class:`~collectors.formats.rows.EmptyFileError`) or a
    header without the required columns
    (:class:`~collectors.formats.rows.MissingColumnsError`) raises here, before any row.

    Neighbouring-cell rows (``neighboring`` true) are skipped without an error: they describe
    a cell the phone was *not* using, often without MCC/MNC, and the serving-cell row logged
    at the same moment already measures the coverage there; importing them would count one
    moment of one phone several times.
    """
    byte_source = as_byte_source(source, progress)
    records = csv_records(byte_source)
    header = read_header(records, "Tower Collector")
    index = _column_index(header)
    return RowStream(_rows(records, header, index, device), byte_source, "line")


def _column_index(header: list[str]) -> dict[str, int]:
    """Positions of the columns we use; :class:`MissingColumnsError` if any required is absent."""
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        if name in _USED and name not in index:
            index[name] = position
    missing = [name for name in REQUIRED_COLUMNS if name not in index]
    if not any(name in index for name in SIGNAL_COLUMNS):
        missing.append("one of " + "/".join(SIGNAL_COLUMNS))
    if missing:
        raise MissingColumnsError("Tower Collector", missing, header)
    return index


# Number columns in the order a row is checked when it fails the fast path, with whether an
# empty value is an error.
_NUMBER_COLUMNS: Final = (
    ("lat", float_field, True),
    ("lon", float_field, True),
    ("mcc", int_field, True),
    ("mnc", int_field, True),
    ("accuracy", float_field, False),
    ("speed", float_field, False),
    ("lac", int_field, False),
    ("cell_id", int_field, False),
    ("psc", int_field, False),
    ("arfcn", int_field, False),
)


def _rows(
    records: Iterator[CsvRow], header: list[str], index: dict[str, int], device: str | None
) -> Iterator[tuple[int, Row]]:
    width = len(header)
    # Absent optional columns point at -1: every row gets an empty field appended, so they
    # read as "unknown" without a per-field "is the column there?" test.
    at = {name: index.get(name, -1) for name in _USED}
    i_mcc, i_mnc, i_lat, i_lon = at["mcc"], at["mnc"], at["lat"], at["lon"]
    i_time, i_net, i_device, i_neighbour = (
        at["measured_at"],
        at["net_type"],
        at["device"],
        at["neighboring"],
    )
    i_acc, i_speed, i_lac, i_cell, i_psc, i_arfcn = (
        at[name] for name in ("accuracy", "speed", "lac", "cell_id", "psc", "arfcn")
    )
    i_dbm, i_asu = index.get("dbm"), index.get("asu")
    metric_index = {radio: index.get(name) for radio, name in _METRIC_COLUMN.items()}

    for record in records:
        fields = record.fields
        if record.problem is not None or len(fields) != width:
            error = record_error(record, header)
            if error is not None:
                yield record.line, error
            continue
        fields.append("")
        if fields[i_neighbour].strip().lower() in TRUE_WORDS:
            continue
        # Numbers are converted inline (a call per field would double the cost of a row);
        # when one fails, _diagnose finds and names it.
        try:
            radio = technology_to_radio(fields[i_net], "net_type")
            signal = _signal(fields, radio, metric_index[radio], i_dbm, i_asu)
            token = fields[i_device] or device
            if not token:
                raise FieldProblem("device", "no device token in the row and none given")
            observed_at = iso_to_rfc3339(fields[i_time], "measured_at", naive_is_utc=True)
            lat = float(fields[i_lat])
            lon = float(fields[i_lon])
            mcc = int(fields[i_mcc])
            mnc = int(fields[i_mnc])
            text = fields[i_acc]
            accuracy = float(text) if text else None
            text = fields[i_speed]
            speed = float(text) if text else None
            text = fields[i_lac]
            area = int(text) if text else None
            text = fields[i_cell]
            cell = int(text) if text else None
            text = fields[i_psc]
            pci = int(text) if text else None
            text = fields[i_arfcn]
            arfcn = int(text) if text else None
            # One test for NaN/inf in any float: they propagate through a sum.
            if not isfinite(lat + lon + (accuracy or 0.0) + (speed or 0.0)):
                raise ValueError("not finite")
        except FieldProblem as problem:
            yield record.line, RowError(record.line, problem.field, problem.reason)
            continue
        except ValueError:
            yield record.line, _diagnose(record.line, fields, at)
            continue
        radio_name = _RADIO_NAMES[radio]
        yield (
            record.line,
            {
                # Derived id: see collectors.formats.rows.reading_id for why.
                "id": reading_id(
                    f"{observed_at}|{lat}|{lon}|{mcc}|{mnc}|{radio_name}|{area}|{cell}|{signal}"
                ),
                "device": token,
                "observed_at": observed_at,
                "lat": lat,
                "lon": lon,
                "accuracy_m": accuracy,
                "speed_mps": speed,
                "mcc": mcc,
                "mnc": mnc,
                "radio": radio_name,
                "signal_dbm": signal,
                "area_code": area,
                "cell_id": cell,
                "pci": pci,
                "arfcn": arfcn,
                "source": SOURCE,
            },
        )


def _diagnose(line: int, fields: list[str], at: dict[str, int]) -> RowError:
    """The error for a row whose numbers did not all convert: the first bad column."""
    for name, convert, needed in _NUMBER_COLUMNS:
        try:
            value = convert(fields[at[name]], name)
            if needed:
                required(value, name)
        except FieldProblem as problem:
            return RowError(line, problem.field, problem.reason)
    return RowError(line, None, "a number in this row could not be read")


def _signal(
    fields: list[str],
    radio: Radio,
    i_metric: int | None,
    i_dbm: int | None,
    i_asu: int | None,
) -> float:
    """The row's dBm: the radio's own metric, else ``dbm``, else ``asu`` converted."""
    name = _METRIC_COLUMN[radio]
    if i_metric is not None:
        value = float_field(fields[i_metric], name)
        if value is not None and value != ANDROID_UNAVAILABLE:
            return value
    if i_dbm is not None and i_dbm != i_metric:
        value = float_field(fields[i_dbm], "dbm")
        if value is not None and value != ANDROID_UNAVAILABLE:
            return value
    if i_asu is not None:
        value = asu_field_to_dbm(radio, int_field(fields[i_asu], "asu"), "asu")
        if value is not None:
            return value
    raise FieldProblem(name, f"no signal: {name}, dbm and asu are all empty or unknown")
