"""OpenCelliD measurement CSVs and cell exports."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors.formats import MissingColumnsError, parse_cell_export, parse_opencellid
from collectors.formats.opencellid import COLUMNS
from collectors.reading import Reading
from tests.formats.conftest import split


def measurement_csv(*rows: dict[str, str]) -> bytes:
    base = {
        "lat": "12.6053421",
        "lon": "108.1091543",
        "mcc": "452",
        "mnc": "4",
        "tac": "12101",
        "cellid": "26200321",
        "pci": "123",
        "measured_at": "1795140931",
        "rating": "4",
        "act": "LTE",
        "devn": "SM-A035F",
    }
    lines = [",".join(COLUMNS)]
    lines += [",".join({**base, **row}.get(name, "") for name in COLUMNS) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def test_sample_measurements_give_valid_readings(data_dir: Path) -> None:
    with open(data_dir / "opencellid_measurements.csv", "rb") as f:
        readings, errors = split(parse_opencellid(f, device="uploader-1"))
    for reading in readings:
        Reading.model_validate(reading)
    assert len(readings) == 5
    # Row 6 reports signal 99: "unknown", so it cannot be a reading.
    assert [(e.line, e.field) for e in errors] == [(6, "signal")]
    assert {r["observed_at"][:10] for r in readings} == {"2026-11-20"}
    assert readings[0]["accuracy_m"] == 4.0
    assert all(r["device"] == "uploader-1" for r in readings)


@pytest.mark.parametrize(
    ("act", "signal", "dbm"),
    [
        ("LTE", "-108", -108.0),  # negative: already dBm
        ("LTE", "19", -121.0),  # LTE ASU 0..97: asu - 140
        ("GSM", "12", -89.0),  # GSM ASU 0..31: 2 * asu - 113
        ("UMTS", "21", -95.0),  # UMTS ASU: asu - 116
        ("NR", "60", -80.0),  # NR as LTE
        ("GSM", "0", -113.0),  # ASU 0 is a real (the weakest) value
    ],
)
def test_signal_is_read_as_asu_or_dbm_per_row(act: str, signal: str, dbm: float) -> None:
    (reading,), errors = split(
        parse_opencellid(io.BytesIO(measurement_csv({"act": act, "signal": signal})), device="d")
    )
    assert errors == []
    assert reading["signal_dbm"] == dbm


@pytest.mark.parametrize("signal", ["99", "255", "45", "3.5", ""])
def test_unknown_or_impossible_signals_are_row_errors(signal: str) -> None:
    act = "GSM"  # GSM ASU stops at 31, so 45 is neither ASU nor dBm
    data = measurement_csv({"act": act, "signal": signal})
    _, (error,) = split(parse_opencellid(io.BytesIO(data), device="d"))
    assert (error.line, error.field) == (2, "signal")


@pytest.mark.parametrize(
    "measured_at",
    ["1795140931", "1795140931000", "2026-11-20T02:15:31Z", "2026-11-20 02:15:31"],
)
def test_measured_at_as_epoch_seconds_ms_or_iso(measured_at: str) -> None:
    data = measurement_csv({"signal": "-100", "measured_at": measured_at})
    (reading,), _ = split(parse_opencellid(io.BytesIO(data), device="d"))
    assert reading["observed_at"] == "2026-11-20T02:15:31+00:00"


def test_umts_takes_psc_and_lac_lte_takes_pci_and_tac() -> None:
    umts = {"act": "UMTS", "signal": "-95", "lac": "30210", "tac": "", "psc": "256", "pci": ""}
    lte = {"signal": "-100", "lac": "1", "tac": "12101"}
    (a, b), _ = split(parse_opencellid(io.BytesIO(measurement_csv(umts, lte)), device="d"))
    assert (a["area_code"], a["pci"]) == (30210, 256)
    assert (b["area_code"], b["pci"]) == (12101, 123)


def test_measurement_file_needs_its_columns() -> None:
    with pytest.raises(MissingColumnsError, match="signal"):
        parse_opencellid(io.BytesIO(b"lat,lon,mcc,mnc,measured_at,act\n"), device="d")


def test_cell_export_sample_gives_sites(data_dir: Path) -> None:
    with open(data_dir / "cell_export.csv", "rb") as f:
        sites, errors = split(parse_cell_export(f))
    assert errors == []
    assert [s["radio"] for s in sites] == ["gsm", "umts", "lte", "lte", "nr", "lte"]
    gsm, umts = sites[0], sites[1]
    assert gsm == {
        "radio": "gsm",
        "mcc": 452,
        "mnc": 4,
        "area": 12345,
        "cell": 23456,
        "unit": None,
        "lon": 108.1148,
        "lat": 12.6127,
        "range_m": 1850,
        "samples": 37,
        "changeable": True,
        "created": datetime(2016, 4, 4, 23, 38, 43, tzinfo=UTC),
        "updated": datetime(2024, 11, 14, 7, 42, 3, tzinfo=UTC),
        "average_signal": None,
    }
    assert (umts["unit"], umts["average_signal"]) == (256, -93)


CELL_ROW = {
    "radio": "GSM",
    "mcc": "452",
    "net": "4",
    "area": "12345",
    "cell": "23456",
    "lon": "108.1148",
    "lat": "12.6127",
    "range": "1850",
    "samples": "37",
    "changeable": "1",
    "created": "1459813123",
    "updated": "1731570123",
    "averageSignal": "0",
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"radio": "CDMA"}, "radio"),
        ({"radio": "WIMAX"}, "radio"),
        ({"lat": ""}, "lat"),
        ({"lat": "95.0"}, "lat"),
        ({"lat": "0", "lon": "0"}, "lat"),
        ({"lon": "181.5"}, "lon"),
        ({"created": "soon"}, "created"),
    ],
)
def test_cell_export_rows_with_bad_radio_position_or_time_are_errors(
    change: dict[str, str], field: str
) -> None:
    columns = list(CELL_ROW) + ["unit"]
    row = {**CELL_ROW, **change}
    data = ",".join(columns) + "\n" + ",".join(row.get(name, "") for name in columns) + "\n"
    sites, (error,) = split(parse_cell_export(io.BytesIO(data.encode())))
    assert (sites, error.line, error.field) == ([], 2, field)
