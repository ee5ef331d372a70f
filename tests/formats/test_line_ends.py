"""Files whose lines end at a lone CR (Excel's "CSV (Macintosh)", old Mac tools) are read
as the same file with CR LF: ``readline`` splits at LF only, so such a file had been one
line, refused as a malformed header."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from collectors.formats import RowError, rows
from collectors.formats.registry import open_readings, open_sites
from collectors.formats.rows import MAX_LINE_BYTES
from tests.formats.conftest import split
from tests.formats.test_towercollector import LTE_ROW, csv_bytes


def cr_only(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize(
    "name", ["canonical.csv", "towercollector.csv", "opencellid_measurements.csv"]
)
def test_a_reading_file_with_cr_line_ends_reads_as_with_cr_lf(data_dir: Path, name: str) -> None:
    data = (data_dir / name).read_bytes()
    assert b"\r" not in data.replace(b"\r\n", b"")  # the sample has no lone CR of its own
    device = "team-7"
    as_is = open_readings(io.BytesIO(data), device=device)
    old_mac = open_readings(io.BytesIO(cr_only(data)), device=device)
    assert old_mac[0] == as_is[0]
    expected = split(as_is[1])
    assert expected[0]  # the sample has readings
    assert split(old_mac[1]) == expected


def test_a_cell_export_with_cr_line_ends_reads_as_with_cr_lf(data_dir: Path) -> None:
    data = (data_dir / "cell_export.csv").read_bytes()
    expected = split(open_sites(io.BytesIO(data)))
    assert expected[0]
    assert split(open_sites(io.BytesIO(cr_only(data)))) == expected


@pytest.mark.parametrize("size", [1, 7, 64])
def test_line_numbers_hold_across_input_chunks_and_mixed_line_ends(size: int) -> None:
    """Fed a few bytes at a time, with CR LF and CR mixed: a bad row is named by its line."""
    bad = dict(LTE_ROW, lat="north")
    data = cr_only(csv_bytes(LTE_ROW, bad, LTE_ROW))
    data = data[:-1] + b"\r\n" + cr_only(csv_bytes(LTE_ROW)).split(b"\r", 1)[1]  # CR LF, CR
    readings, errors = split(open_readings(iter(chunks(data, size)), device="team-7")[1])
    assert len(readings) == 3
    assert [(e.line, e.field) for e in errors] == [(3, "lat")]


def test_a_cr_lf_split_between_two_reads_is_one_line_end(monkeypatch) -> None:
    """The CR of a CR LF ends one read and its LF starts the next: one line end, not two
    (a blank line would put every later row a line late)."""
    header, row = cr_only(csv_bytes(LTE_ROW)).split(b"\r")[:2]
    bad = cr_only(csv_bytes(dict(LTE_ROW, lat="north"))).split(b"\r")[1]
    data = header + b"\r" + row + b"\r\n" + bad + b"\r" + row + b"\r"
    cut = data.index(b"\r\n") + 1
    monkeypatch.setattr(rows, "_CR_CHUNK", cut)  # the first read ends between CR and LF
    seen: list[int] = []
    readings, errors = split(
        open_readings(io.BytesIO(data), device="team-7", progress=seen.append)[1]
    )
    assert len(readings) == 2
    assert [(e.line, e.field) for e in errors] == [(3, "lat")]
    assert seen[-1] == len(data)  # the import's progress bar reaches the end


def test_an_endless_line_is_cut_and_reported_in_a_cr_file() -> None:
    header, row = cr_only(csv_bytes(LTE_ROW)).split(b"\r")[:2]
    data = header + b"\r" + row + b"\r" + b"x" * (MAX_LINE_BYTES * 3) + b"\r" + row + b"\r"
    readings, errors = split(open_readings(io.BytesIO(data), device="team-7")[1])
    assert len(readings) == 2
    assert [(e.line, "longer than" in e.reason) for e in errors] == [(3, True)]
    # A line just over the cap is cut as well, though it ends within the read.
    long = header + b"\r" + b"x" * (MAX_LINE_BYTES + 10) + b"\r" + row + b"\r"
    readings, errors = split(open_readings(io.BytesIO(long), device="team-7")[1])
    assert len(readings) == 1
    assert [(e.line, "longer than" in e.reason) for e in errors] == [(2, True)]
    assert all(isinstance(e, RowError) for e in errors)
