"""Tower Collector CSV exports, including the hostile files people actually upload."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.formats import (
    EmptyFileError,
    MissingColumnsError,
    RowError,
    parse_towercollector,
)
from collectors.formats.registry import open_readings
from collectors.formats.rows import MAX_LINE_BYTES
from collectors.formats.towercollector import COLUMNS
from collectors.reading import Reading
from tests.formats.conftest import split

LTE_ROW = {
    "mcc": "452",
    "mnc": "4",
    "lac": "12101",
    "cell_id": "26200321",
    "psc": "123",
    "asu": "32",
    "dbm": "-108",
    "lat": "12.6053421",
    "lon": "108.1091543",
    "accuracy": "4.0",
    "speed": "1.25",
    "measured_at": "2026-11-20T02:15:31.412Z",
    "net_type": "LTE",
    "neighboring": "false",
    "device": "tc-7f3a91c2",
    "rsrp": "-108",
    "arfcn": "1850",
}


def csv_bytes(*rows: dict[str, str], columns: list[str] | None = None) -> bytes:
    """A Tower Collector export (CRLF) with ``columns`` (default: all) and ``rows``."""
    names = columns or list(COLUMNS)
    lines = [",".join(names)] + [",".join(row.get(name, "") for name in names) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def parse(data: bytes, device: str | None = None) -> tuple[list[dict], list[RowError]]:
    return split(parse_towercollector(io.BytesIO(data), device=device))


def test_sample_export_gives_valid_readings_for_every_radio(data_dir: Path) -> None:
    with open(data_dir / "towercollector.csv", "rb") as f:
        readings, errors = split(parse_towercollector(f))
    assert errors == []
    for reading in readings:
        Reading.model_validate(reading)
    assert [r["radio"] for r in readings] == ["lte", "gsm", "umts", "nr", "lte", "lte"]
    # LTE RSRP, GSM dbm, UMTS RSCP, NR SS-RSRP, then LTE from asu 21 (21 - 140).
    assert [r["signal_dbm"] for r in readings] == [-108.0, -89.0, -95.0, -82.0, -119.0, -121.0]
    assert all(r["source"] == "towercollector" for r in readings)
    assert readings[0]["observed_at"] == "2026-11-20T02:15:31.412000+00:00"


def test_neighbouring_cell_rows_are_skipped_without_error() -> None:
    neighbour = {**LTE_ROW, "mcc": "", "mnc": "", "neighboring": "true", "rsrp": "-116"}
    readings, errors = parse(csv_bytes(LTE_ROW, neighbour))
    assert (len(readings), errors) == (1, [])


def test_reparsing_gives_identical_ids() -> None:
    data = csv_bytes(LTE_ROW, {**LTE_ROW, "rsrp": "-110"})
    first, _ = parse(data)
    again, _ = parse(data)
    assert [r["id"] for r in first] == [r["id"] for r in again]
    assert first[0]["id"] != first[1]["id"]


def test_ids_do_not_depend_on_column_order_or_number_spelling() -> None:
    reordered = list(reversed(COLUMNS))
    respelled = {**LTE_ROW, "rsrp": "-108.0", "lat": "12.60534210"}
    (a,), _ = parse(csv_bytes(LTE_ROW))
    (b,), _ = parse(csv_bytes(respelled, columns=reordered))
    assert a["id"] == b["id"]


@pytest.mark.parametrize(
    ("net_type", "radio"),
    [
        ("GPRS", "gsm"),
        ("EDGE", "gsm"),
        ("HSDPA", "umts"),
        ("HSUPA", "umts"),
        ("HSPA+", "umts"),
        ("LTE", "lte"),
        ("NR", "nr"),
    ],
)
def test_network_types_map_to_radio_families(net_type: str, radio: str) -> None:
    (reading,), _ = parse(csv_bytes({**LTE_ROW, "net_type": net_type, "dbm": "-90"}))
    assert reading["radio"] == radio


def test_cdma_rows_are_refused_with_a_reason() -> None:
    readings, (error,) = parse(csv_bytes({**LTE_ROW, "net_type": "EVDO_A"}))
    assert readings == []
    assert (error.line, error.field) == (2, "net_type")
    assert "CDMA" in error.reason


def test_signal_falls_back_from_metric_to_dbm_to_asu() -> None:
    no_rsrp = {**LTE_ROW, "rsrp": ""}
    unavailable = {**LTE_ROW, "rsrp": "2147483647", "dbm": ""}
    gsm_asu = {**LTE_ROW, "net_type": "GSM", "dbm": "", "asu": "10"}
    readings, errors = parse(csv_bytes(no_rsrp, unavailable, gsm_asu))
    assert errors == []
    assert [r["signal_dbm"] for r in readings] == [-108.0, -108.0, -93.0]


def test_a_row_without_any_signal_is_an_error() -> None:
    row = {**LTE_ROW, "rsrp": "", "dbm": "", "asu": "99"}
    _, (error,) = parse(csv_bytes(row))
    assert error.field == "rsrp"
    assert "no signal" in error.reason


def test_device_parameter_fills_an_empty_device_column() -> None:
    rows = ({**LTE_ROW, "device": ""}, LTE_ROW)
    readings, _ = parse(csv_bytes(*rows), device="uploader-1")
    assert [r["device"] for r in readings] == ["uploader-1", "tc-7f3a91c2"]
    _, (error,) = parse(csv_bytes({**LTE_ROW, "device": ""}))
    assert error.field == "device"


def test_extra_columns_are_ignored_and_order_does_not_matter() -> None:
    columns = ["future_column", *reversed(COLUMNS)]
    readings, errors = parse(csv_bytes({**LTE_ROW, "future_column": "x"}, columns=columns))
    assert (len(readings), errors) == (1, [])


def test_missing_columns_are_one_file_level_error_naming_them() -> None:
    columns = [name for name in COLUMNS if name not in ("lat", "measured_at")]
    with pytest.raises(MissingColumnsError) as caught:
        parse_towercollector(io.BytesIO(csv_bytes(LTE_ROW, columns=columns)))
    assert caught.value.missing == ("lat", "measured_at")
    assert "lat, measured_at" in str(caught.value)


def test_semicolon_separated_file_is_refused_with_a_hint() -> None:
    data = csv_bytes(LTE_ROW).replace(b",", b";")
    with pytest.raises(MissingColumnsError, match="separated by ';'"):
        parse_towercollector(io.BytesIO(data))


def test_non_utf8_bytes_spoil_only_their_row() -> None:
    data = csv_bytes(LTE_ROW, {**LTE_ROW, "device": "Nguy\x00"}, LTE_ROW)
    data = data.replace(b"Nguy\x00", b"Nguy\xe9n")  # Latin-1 "Nguyen" with an accent
    readings, (error,) = parse(data)
    assert len(readings) == 2
    assert (error.line, error.field) == (3, "device")
    assert "not valid UTF-8" in error.reason and "0xe9" in error.reason


def test_a_bad_row_in_the_middle_of_100_000_is_one_error_at_its_line() -> None:
    good = csv_bytes(LTE_ROW).split(b"\r\n")[1] + b"\r\n"
    bad = good.replace(b"12.6053421", b"twelve", 1)
    header = ",".join(COLUMNS).encode() + b"\r\n"
    data = header + good * 50_000 + bad + good * 49_999
    readings, errors = parse(data)
    assert len(readings) == 99_999
    assert len(errors) == 1
    assert (errors[0].line, errors[0].field) == (50_002, "lat")


def test_empty_file_is_a_clear_error() -> None:
    with pytest.raises(EmptyFileError, match="empty file"):
        parse_towercollector(io.BytesIO(b""))


def test_header_only_file_gives_no_rows() -> None:
    assert parse(csv_bytes()) == ([], [])


def test_short_rows_and_blank_lines() -> None:
    data = csv_bytes(LTE_ROW) + b"\r\n452,4,1\r\n" + csv_bytes(LTE_ROW).split(b"\r\n", 1)[1]
    readings, (error,) = parse(data)
    assert len(readings) == 2
    assert error.line == 4 and "3 fields" in error.reason


def test_utf8_bom_in_front_of_the_header_is_accepted() -> None:
    readings, errors = parse(b"\xef\xbb\xbf" + csv_bytes(LTE_ROW))
    assert (len(readings), errors) == (1, [])


def test_a_line_without_end_is_cut_and_reported_not_read_whole() -> None:
    data = csv_bytes(LTE_ROW) + b"x" * (MAX_LINE_BYTES * 3) + b"\r\n"
    data += csv_bytes(LTE_ROW).split(b"\r\n", 1)[1]
    readings, (error,) = parse(data)
    assert len(readings) == 2
    assert error.line == 3 and "longer than" in error.reason


def test_a_line_without_end_in_the_sniffed_head_is_one_error_at_its_line() -> None:
    """The sniffer reads the file's first bytes ahead; a line that starts there and never
    ends had been read past the cut as further lines (two errors, wrong line numbers)."""
    data = csv_bytes(LTE_ROW) + b"x" * (MAX_LINE_BYTES * 3) + b"\r\n"
    data += csv_bytes(LTE_ROW).split(b"\r\n", 1)[1]
    name, rows = open_readings(io.BytesIO(data))
    readings, (error,) = split(rows)
    assert (name, len(readings)) == ("towercollector", 2)
    assert error.line == 3 and "longer than" in error.reason


def test_chunked_input_and_progress_hook() -> None:
    data = csv_bytes(*[LTE_ROW] * 50)
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
    seen: list[int] = []
    readings, errors = split(parse_towercollector(iter(chunks), progress=seen.append))
    assert (len(readings), errors) == (50, [])
    assert seen[-1] == len(data)


def test_stream_tells_the_line_of_each_reading_for_later_rejections() -> None:
    neighbour = {**LTE_ROW, "neighboring": "true"}
    data = csv_bytes(LTE_ROW, neighbour, {**LTE_ROW, "lat": "x"}, LTE_ROW)
    rows = parse_towercollector(io.BytesIO(data))
    positions = [(rows.position, isinstance(row, RowError)) for row in rows]
    assert positions == [(2, False), (4, True), (5, False)]
    assert rows.position_kind == "line" and rows.bytes_read == len(data)
    numbered = parse_towercollector(io.BytesIO(data)).numbered()
    assert [line for line, _ in numbered] == [2, 4, 5]


def test_rows_come_lazily_from_an_endless_stream() -> None:
    row = csv_bytes(LTE_ROW).split(b"\r\n")[1] + b"\r\n"

    def endless() -> Iterator[bytes]:
        yield ",".join(COLUMNS).encode() + b"\r\n"
        while True:
            yield row * 100

    rows = parse_towercollector(endless())
    first = list(itertools.islice(rows, 1000))
    assert len(first) == 1000 and rows.bytes_read < 1001 * len(row) + 400
