"""OpenCelliD's measurement CSV, read into canonical readings.

One row per measurement as uploaded to OpenCelliD by collector apps:
``lat,lon,mcc,mnc,sid,lac,tac,nid,cellid,bid,psc,pci,signal,ta,measured_at,rating,speed,
direction,act,devn``. ``rating`` is the GPS accuracy in metres, ``act`` the access technology
(GSM/UMTS/LTE/NR or the finer names Android uses), ``devn`` the phone model (not a device
token: many phones share it). Columns are found by name; unused ones are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from collectors.formats.rows import (
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
    column_index,
    csv_records,
    epoch_to_rfc3339,
    float_field,
    int_field,
    iso_to_rfc3339,
    read_header,
    reading_id,
    record_error,
    required,
)
from collectors.formats.strength import asu_or_dbm_to_dbm
from collectors.formats.technology import technology_to_radio
from domain.radio import Radio

SOURCE: Final = "opencellid"

COLUMNS: Final = [
    "lat",
    "lon",
    "mcc",
    "mnc",
    "sid",
    "lac",
    "tac",
    "nid",
    "cellid",
    "bid",
    "psc",
    "pci",
    "signal",
    "ta",
    "measured_at",
    "rating",
    "speed",
    "direction",
    "act",
    "devn",
]
"""The header of an OpenCelliD measurement file, in its usual order."""

REQUIRED_COLUMNS: Final = ("lat", "lon", "mcc", "mnc", "signal", "measured_at", "act")
_OPTIONAL: Final = ("lac", "tac", "cellid", "psc", "pci", "rating", "speed")
_RADIO_NAMES: Final[dict[Radio, str]] = {radio: radio.value for radio in Radio}


def parse_opencellid(
    source: ByteSource | BinaryReadable | Iterable[bytes],
    *,
    device: str,
    progress: ProgressHook | None = None,
) -> RowStream[Row]:
    """Readings (dicts) and row errors from an OpenCelliD measurement CSV, lazily.

    The format carries no device token (``devn`` is a phone model), so the caller gives
    ``device`` (e.g. derived by the service from the uploader or the file). Raises
    :class:`~collectors.formats.rows.EmptyFileError` or
    :class:`~collectors.formats.rows.MissingColumnsError` at once for a file without a usable
    header.
    """
    if not device:
        raise ValueError("an OpenCelliD file has no device token: pass device=")
    byte_source = as_byte_source(source, progress)
    records = csv_records(byte_source)
    header = read_header(records, "OpenCelliD measurement")
    index = column_index(header, (*REQUIRED_COLUMNS, *_OPTIONAL))
    missing = [name for name in REQUIRED_COLUMNS if name not in index]
    if missing:
        raise MissingColumnsError("OpenCelliD measurement", missing, header)
    return RowStream(_rows(records, header, index, device), byte_source, "line")


def _observed_at(text: str) -> str:
    """``measured_at`` as RFC 3339: epoch seconds or milliseconds (digits, told apart by
    size), or an ISO-8601 time (UTC when it has no offset, as OpenCelliD stores UTC)."""
    stripped = text.strip()
    if stripped and stripped.lstrip("-").replace(".", "", 1).isdigit():
        return epoch_to_rfc3339(float(stripped), "measured_at")
    return iso_to_rfc3339(stripped, "measured_at", naive_is_utc=True)


def _rows(
    records: Iterator[CsvRow], header: list[str], index: dict[str, int], device: str
) -> Iterator[tuple[int, Row]]:
    width = len(header)
    i_lat, i_lon, i_mcc, i_mnc = index["lat"], index["lon"], index["mcc"], index["mnc"]
    i_signal, i_time, i_act = index["signal"], index["measured_at"], index["act"]
    i_lac, i_tac, i_cell = index.get("lac"), index.get("tac"), index.get("cellid")
    i_psc, i_pci = index.get("psc"), index.get("pci")
    i_rating, i_speed = index.get("rating"), index.get("speed")

    for record in records:
        fields = record.fields
        if record.problem is not None or len(fields) != width:
            error = record_error(record, header)
            if error is not None:
                yield record.line, error
            continue
        try:
            radio = technology_to_radio(fields[i_act], "act")
            raw_signal = required(float_field(fields[i_signal], "signal"), "signal")
            signal = asu_or_dbm_to_dbm(radio, raw_signal, "signal")
            if signal is None:
                raise FieldProblem("signal", f"{fields[i_signal]} means 'unknown signal'")
            # LTE and NR cells live in tracking areas (tac), GSM and UMTS in location areas
            # (lac); apps fill one or the other, sometimes both with the same number.
            lac = int_field(fields[i_lac], "lac") if i_lac is not None else None
            tac = int_field(fields[i_tac], "tac") if i_tac is not None else None
            area = (tac if tac is not None else lac) if radio in (Radio.LTE, Radio.NR) else lac
            if area is None:
                area = tac
            # UMTS identifies the local cell by its scrambling code (psc), LTE/NR by pci.
            psc = int_field(fields[i_psc], "psc") if i_psc is not None else None
            pci = int_field(fields[i_pci], "pci") if i_pci is not None else None
            physical = psc if radio is Radio.UMTS or pci is None else pci
            radio_name = _RADIO_NAMES[radio]
            reading = {
                "device": device,
                "observed_at": _observed_at(fields[i_time]),
                "lat": required(float_field(fields[i_lat], "lat"), "lat"),
                "lon": required(float_field(fields[i_lon], "lon"), "lon"),
                "accuracy_m": (
                    float_field(fields[i_rating], "rating") if i_rating is not None else None
                ),
                "speed_mps": float_field(fields[i_speed], "speed") if i_speed is not None else None,
                "mcc": required(int_field(fields[i_mcc], "mcc"), "mcc"),
                "mnc": required(int_field(fields[i_mnc], "mnc"), "mnc"),
                "radio": radio_name,
                "signal_dbm": signal,
                "area_code": area,
                "cell_id": int_field(fields[i_cell], "cellid") if i_cell is not None else None,
                "pci": physical,
                "source": SOURCE,
            }
        except FieldProblem as problem:
            yield record.line, RowError(record.line, problem.field, problem.reason)
            continue
        # Derived id: see collectors.formats.rows.reading_id for why.
        reading["id"] = reading_id(
            f"{reading['observed_at']}|{reading['lat']}|{reading['lon']}|{reading['mcc']}|"
            f"{reading['mnc']}|{radio_name}|{area}|{reading['cell_id']}|{signal}"
        )
        yield record.line, reading
