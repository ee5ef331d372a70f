"""Tower Collector's CSV export, read into canonical readings.

Tower Collector (an open-source Android app that logs the serving cell along a walk) exports
one row per measurement, CRLF line ends, empty fields for unknown values and ISO-8601 UTC
times. Columns are found by name, so older exports with fewer columns and newer ones with
more are both read; columns we do not use are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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
from collectors.radio import ANDROID_UNAVAILABLE, Radio

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
) -> Iterator[Row]:
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
    index = column_index_checked(header)
    return _rows(records, header, index, device)


def column_index_checked(header: list[str]) -> dict[str, int]:
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


def _rows(
    records: Iterator[CsvRow], header: list[str], index: dict[str, int], device: str | None
) -> Iterator[Row]:
    width = len(header)
    i_mcc, i_mnc, i_lat, i_lon = index["mcc"], index["mnc"], index["lat"], index["lon"]
    i_time, i_net = index["measured_at"], index["net_type"]
    i_lac, i_cell, i_psc = index.get("lac"), index.get("cell_id"), index.get("psc")
    i_acc, i_speed, i_arfcn = index.get("accuracy"), index.get("speed"), index.get("arfcn")
    i_neighbour, i_device, i_asu = index.get("neighboring"), index.get("device"), index.get("asu")
    i_dbm = index.get("dbm")
    metric_index = {radio: index.get(name) for radio, name in _METRIC_COLUMN.items()}

    for record in records:
        fields = record.fields
        if record.problem is not None or len(fields) != width:
            error = record_error(record, header)
            if error is not None:
                yield error
            continue
        if i_neighbour is not None and fields[i_neighbour].strip().lower() in TRUE_WORDS:
            continue
        try:
            radio = technology_to_radio(fields[i_net], "net_type")
            radio_name = _RADIO_NAMES[radio]
            signal = _signal(fields, radio, metric_index[radio], i_dbm, i_asu)
            token = (fields[i_device] if i_device is not None else "") or device
            if not token:
                raise FieldProblem("device", "no device token in the row and none given")
            reading = {
                "device": token,
                "observed_at": iso_to_rfc3339(fields[i_time], "measured_at", naive_is_utc=True),
                "lat": required(float_field(fields[i_lat], "lat"), "lat"),
                "lon": required(float_field(fields[i_lon], "lon"), "lon"),
                "accuracy_m": float_field(fields[i_acc], "accuracy") if i_acc is not None else None,
                "speed_mps": float_field(fields[i_speed], "speed") if i_speed is not None else None,
                "mcc": required(int_field(fields[i_mcc], "mcc"), "mcc"),
                "mnc": required(int_field(fields[i_mnc], "mnc"), "mnc"),
                "radio": radio_name,
                "signal_dbm": signal,
                "area_code": int_field(fields[i_lac], "lac") if i_lac is not None else None,
                "cell_id": int_field(fields[i_cell], "cell_id") if i_cell is not None else None,
                "pci": int_field(fields[i_psc], "psc") if i_psc is not None else None,
                "arfcn": int_field(fields[i_arfcn], "arfcn") if i_arfcn is not None else None,
                "source": SOURCE,
            }
        except FieldProblem as problem:
            yield RowError(record.line, problem.field, problem.reason)
            continue
        reading["id"] = reading_id(
            f"{reading['observed_at']}|{reading['lat']}|{reading['lon']}|{reading['mcc']}|"
            f"{reading['mnc']}|{radio_name}|{reading['area_code']}|{reading['cell_id']}|{signal}"
        )
        yield reading


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
