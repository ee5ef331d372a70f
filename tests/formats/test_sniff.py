"""Telling formats apart, and the one entry point that sniffs and parses."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from collectors.formats import (
    EmptyFileError,
    FormatError,
    MissingColumnsError,
    UnknownFormatError,
    open_readings,
    open_sites,
    sniff_format,
)
from collectors.reading import Reading
from tests.formats.conftest import split

SAMPLES = {
    "towercollector.csv": "towercollector",
    "opencellid_measurements.csv": "opencellid",
    "cell_export.csv": "cell-export",
    "geosubmit_mls_example.json": "geosubmit",
    "canonical.csv": "canonical-csv",
    "readings.geojson": "geojson",
}


@pytest.mark.parametrize(("name", "expected"), SAMPLES.items())
def test_every_sample_is_recognised(data_dir: Path, name: str, expected: str) -> None:
    assert sniff_format((data_dir / name).read_bytes()[:4096]) == expected


def test_a_header_missing_some_columns_is_still_recognised() -> None:
    assert sniff_format(b"mcc,mnc,cell_id,net_type,measured_at\r\n") == "towercollector"
    # Lines that end at a lone CR (old Mac exports).
    assert sniff_format(b"mcc,mnc,cell_id,net_type,measured_at\r1,2") == "towercollector"
    assert sniff_format(b"lat,lon,mcc,mnc,signal,act\n") == "opencellid"
    assert sniff_format(b"\xef\xbb\xbfobserved_at,lat,lon\n") == "canonical-csv"


def test_json_kind_is_told_by_its_first_key() -> None:
    assert sniff_format(b'  {\n  "items": [{"cellTowers": []}]}') == "geosubmit"
    features = b'{"type": "FeatureCollection", "features": [{"properties": {"items": 1}}]}'
    assert sniff_format(features) == "geojson"


def test_unknown_header_says_what_was_seen_and_expected() -> None:
    with pytest.raises(UnknownFormatError) as caught:
        sniff_format(b"name,age,city\n")
    message = str(caught.value)
    assert "'name,age,city'" in message and "net_type" in message and "FeatureCollection" in message


def test_semicolons_are_pointed_out() -> None:
    with pytest.raises(UnknownFormatError, match="separated by ';'"):
        sniff_format(b"mcc;mnc;lac;cell_id;net_type\n")


def test_empty_and_unknown_json() -> None:
    with pytest.raises(EmptyFileError):
        sniff_format(b"  \n")
    with pytest.raises(UnknownFormatError, match="JSON"):
        sniff_format(b'{"readings": []}')


@pytest.mark.parametrize("name", [n for n, f in SAMPLES.items() if f != "cell-export"])
def test_open_readings_sniffs_and_parses_every_reading_sample(data_dir: Path, name: str) -> None:
    seen: list[int] = []
    with open(data_dir / name, "rb") as f:
        format_name, rows = open_readings(f, device="uploader-1", progress=seen.append)
        readings, _ = split(rows)
    assert format_name == SAMPLES[name]
    assert readings
    for reading in readings:
        Reading.model_validate(reading)
    assert seen[-1] == (data_dir / name).stat().st_size


def test_open_readings_refuses_a_cell_export_and_open_sites_takes_it(data_dir: Path) -> None:
    with open(data_dir / "cell_export.csv", "rb") as f, pytest.raises(FormatError, match="sites"):
        open_readings(f, device="d")
    with open(data_dir / "cell_export.csv", "rb") as f:
        sites, errors = split(open_sites(f))
    assert (len(sites), errors) == (6, [])


def test_open_readings_needs_a_device_for_formats_without_one(data_dir: Path) -> None:
    with open(data_dir / "opencellid_measurements.csv", "rb") as f, pytest.raises(FormatError):
        open_readings(f)


def test_open_readings_passes_missing_columns_through() -> None:
    with pytest.raises(MissingColumnsError, match="lat"):
        open_readings(io.BytesIO(b"mcc,mnc,lon,measured_at,net_type,dbm\r\n"))


def test_gzipped_exports_are_read_and_progress_counts_compressed_bytes(data_dir: Path) -> None:
    compressed = gzip.compress((data_dir / "cell_export.csv").read_bytes())
    seen: list[int] = []
    sites, errors = split(open_sites(io.BytesIO(compressed), progress=seen.append))
    assert (len(sites), errors) == (6, [])
    assert seen[-1] == len(compressed)
    data = gzip.compress((data_dir / "towercollector.csv").read_bytes())
    name, rows = open_readings(io.BytesIO(data))
    assert name == "towercollector" and len(split(rows)[0]) == 6


def test_truncated_gzip_is_a_format_error(data_dir: Path) -> None:
    data = gzip.compress((data_dir / "towercollector.csv").read_bytes() * 50)
    with pytest.raises(FormatError, match="gzip"):
        _, rows = open_readings(io.BytesIO(data[: len(data) // 2]))
        list(rows)


def test_text_mode_files_are_refused_clearly(data_dir: Path) -> None:
    with open(data_dir / "canonical.csv", encoding="utf-8") as f, pytest.raises(TypeError):
        open_readings(f)  # type: ignore[arg-type]
