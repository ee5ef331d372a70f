"""MLS geosubmit v2 bodies: the documented example and what real apps send."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from collectors.formats import (
    MLS_PARSE_ERROR_BODY,
    GeosubmitParseError,
    RowError,
    gunzip_body,
    parse_geosubmit,
)
from collectors.reading import Reading
from tests.formats.conftest import split

POSITION = {"latitude": 12.6053421, "longitude": 108.1091543, "accuracy": 8.0, "speed": 1.5}
LTE_CELL = {
    "radioType": "lte",
    "mobileCountryCode": 452,
    "mobileNetworkCode": 4,
    "locationAreaCode": 12101,
    "cellId": 26200321,
    "primaryScramblingCode": 123,
    "signalStrength": -108,
}


def body(*items: dict[str, Any]) -> bytes:
    return orjson.dumps({"items": list(items)})


def report(**fields: Any) -> dict[str, Any]:
    return {"timestamp": 1795140931000, "position": POSITION, **fields}


def test_mls_documentation_example_gives_one_valid_reading(data_dir: Path) -> None:
    rows = parse_geosubmit((data_dir / "geosubmit_mls_example.json").read_bytes(), device="d")
    (reading,) = rows
    assert isinstance(reading, dict)
    Reading.model_validate(reading)
    # timestamp 1405602028568 ms minus the cell's age of 3000 ms.
    assert reading["observed_at"] == "2014-07-17T13:00:25.568000+00:00"
    assert (reading["radio"], reading["signal_dbm"], reading["accuracy_m"]) == ("lte", -51.0, 10.0)
    assert (reading["mcc"], reading["mnc"], reading["cell_id"], reading["pci"]) == (
        208,
        1,
        12345,
        5,
    )
    assert reading["speed_mps"] == 3.6
    assert reading["source"] == "mls-geosubmit"


def test_serving_cell_is_chosen_over_stronger_neighbours() -> None:
    neighbour = {**LTE_CELL, "cellId": 1, "signalStrength": -70, "serving": 0}
    serving = {**LTE_CELL, "serving": 1}
    (reading,) = parse_geosubmit(body(report(cellTowers=[neighbour, serving])), device="d")
    assert isinstance(reading, dict)
    assert reading["cell_id"] == 26200321


def test_without_a_serving_flag_the_strongest_cell_is_taken() -> None:
    weak = {**LTE_CELL, "cellId": 1, "signalStrength": -115}
    strong = {**LTE_CELL, "cellId": 2, "signalStrength": -92}
    (reading,) = parse_geosubmit(body(report(cellTowers=[weak, strong])), device="d")
    assert isinstance(reading, dict)
    assert reading["cell_id"] == 2


def test_wifi_only_report_is_rejected_with_a_reason() -> None:
    wifi = [{"macAddress": "01:23:45:67:89:ab", "signalStrength": -77}]
    rows = parse_geosubmit(
        body(report(wifiAccessPoints=wifi), report(cellTowers=[LTE_CELL])), device="d"
    )
    readings, (error,) = split(rows)
    assert len(readings) == 1
    assert (error.index, error.field) == (0, "cellTowers")
    assert "wifiAccessPoints" in error.reason


def test_asu_only_cell_is_converted_per_radio() -> None:
    gsm = {**LTE_CELL, "radioType": "gsm", "asu": 12}
    del gsm["signalStrength"]
    wcdma = {**LTE_CELL, "radioType": "wcdma", "signalStrength": 0, "asu": 20}
    rows = parse_geosubmit(body(report(cellTowers=[gsm]), report(cellTowers=[wcdma])), device="d")
    assert [(r["radio"], r["signal_dbm"]) for r in rows if isinstance(r, dict)] == [
        ("gsm", -89.0),
        ("umts", -96.0),
    ]


def test_legacy_report_radio_type_applies_to_cells_without_one() -> None:
    cell = {key: value for key, value in LTE_CELL.items() if key != "radioType"}
    (reading,) = parse_geosubmit(body(report(radioType="gsm", cellTowers=[cell])), device="d")
    assert isinstance(reading, dict)
    assert reading["radio"] == "gsm"


def test_report_without_usable_cell_names_cell_and_field() -> None:
    no_mcc = {key: value for key, value in LTE_CELL.items() if key != "mobileCountryCode"}
    cdma = {**LTE_CELL, "radioType": "cdma"}
    rows = parse_geosubmit(body(report(cellTowers=[no_mcc]), report(cellTowers=[cdma])), device="d")
    first, second = rows
    assert isinstance(first, RowError) and isinstance(second, RowError)
    assert (first.index, first.cell, first.field) == (0, 0, "mobileCountryCode")
    assert (second.index, second.cell, second.field) == (1, 0, "radioType")


def test_position_age_is_used_when_the_cell_has_none() -> None:
    item = report(cellTowers=[LTE_CELL])
    item["position"] = {**POSITION, "age": 2000}
    (reading,) = parse_geosubmit(body(item), device="d")
    assert isinstance(reading, dict)
    assert reading["observed_at"] == "2026-11-20T02:15:29+00:00"


def test_missing_timestamp_takes_the_receive_time() -> None:
    item = {"position": POSITION, "cellTowers": [LTE_CELL]}
    received = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    (reading,) = parse_geosubmit(body(item), device="d", received_at=received)
    assert isinstance(reading, dict)
    assert reading["observed_at"] == "2026-11-21T08:00:00+00:00"
    (error,) = parse_geosubmit(body(item), device="d")
    assert isinstance(error, RowError) and error.field == "timestamp"


def test_resubmitted_body_gives_the_same_ids() -> None:
    data = body(report(cellTowers=[LTE_CELL]), report(timestamp=1, cellTowers=[LTE_CELL]))
    first = [r["id"] for r in parse_geosubmit(data, device="d") if isinstance(r, dict)]
    assert first == [r["id"] for r in parse_geosubmit(data, device="d") if isinstance(r, dict)]
    assert len(set(first)) == 2


@pytest.mark.parametrize(
    "data", [b"", b"not json", b"[]", b'{"item": []}', b'{"items": {}}', b'{"items": [1,'], ids=repr
)
def test_unparseable_bodies_raise_the_mls_parse_error(data: bytes) -> None:
    with pytest.raises(GeosubmitParseError):
        parse_geosubmit(data, device="d")


def test_parse_error_body_is_mls_verbatim() -> None:
    assert MLS_PARSE_ERROR_BODY == {
        "error": {
            "errors": [{"domain": "global", "reason": "parseError", "message": "Parse Error"}],
            "code": 400,
            "message": "Parse Error",
        }
    }


def test_gunzip_helper_and_its_size_limit() -> None:
    data = body(report(cellTowers=[LTE_CELL]))
    assert gunzip_body(gzip.compress(data)) == data
    with pytest.raises(GeosubmitParseError, match="larger"):
        gunzip_body(gzip.compress(b" " * 10_000), max_bytes=1000)
    with pytest.raises(GeosubmitParseError, match="gzip"):
        gunzip_body(b"plain")


def test_timestamps_are_always_milliseconds_and_absurd_ones_are_row_errors() -> None:
    early = report(timestamp=86_400_000, cellTowers=[LTE_CELL])  # one day after 1970
    absurd = report(timestamp=10**17, cellTowers=[LTE_CELL])  # year 3 million
    reading, error = parse_geosubmit(body(early, absurd), device="d")
    assert isinstance(reading, dict) and reading["observed_at"] == "1970-01-02T00:00:00+00:00"
    assert isinstance(error, RowError) and (error.index, error.field) == (1, "timestamp")
