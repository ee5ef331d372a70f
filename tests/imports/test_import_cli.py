"""``deadzone import`` on both databases: real exports in, refused rows reported by line,
nothing lost, nothing doubled."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.ingest.privacy import DeviceHasher
from service.store.models import IngestCount, ReadingRow, RejectionCount, Site
from tests.conftest import TEST_SECRET
from tests.imports.conftest import (
    BIG_BAD_LINE,
    BIG_ROWS,
    DATA,
    TC_HEADER,
    readings_stored,
    tc_row,
    write_tc,
)

SAMPLES = [
    # file, extra arguments, readings accepted, rows refused
    ("towercollector.csv", [], 6, 0),
    ("opencellid_measurements.csv", ["--device", "ocid-phone"], 5, 1),
    ("canonical.csv", ["--device", "survey-phone"], 4, 0),
    ("readings.geojson", ["--device", "survey-phone"], 3, 0),
    ("geosubmit_mls_example.json", ["--device", "mls-phone"], 1, 0),
]


def sample(tmp_path: Path, name: str) -> Path:
    """A copy of a sample file (the report is written next to it)."""
    return Path(shutil.copy(DATA / name, tmp_path / name))


def report_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(("name", "args", "accepted", "refused"), SAMPLES)
def test_sample_export_is_stored_and_importing_it_again_adds_nothing(
    run_cli, sessions, tmp_path, name, args, accepted, refused
):
    path = sample(tmp_path, name)
    first = run_cli("import", path, *args)
    assert first.exit_code == 0, first.output
    assert f"accepted {accepted}, duplicates 0, rejected {refused} rows" in first.output
    assert readings_stored(sessions) == accepted

    again = run_cli("import", path, *args)
    assert again.exit_code == 0, again.output
    assert f"accepted 0, duplicates {accepted}, rejected {refused} rows" in again.output
    assert readings_stored(sessions) == accepted


def test_tower_collector_rows_keep_their_device_and_signal(run_cli, sessions, tmp_path):
    assert run_cli("import", sample(tmp_path, "towercollector.csv")).exit_code == 0
    with sessions() as s:
        rows = s.scalars(select(ReadingRow).order_by(ReadingRow.observed_at)).all()
    assert {r.device_hash for r in rows} == {DeviceHasher(TEST_SECRET).hash("tc-7f3a91c2")}
    assert [(r.radio, r.signal_dbm) for r in rows][:2] == [("lte", -108.0), ("gsm", -89.0)]
    assert {r.source for r in rows} == {"towercollector"}


def test_report_lists_each_refused_row_with_line_field_and_reason(run_cli, tmp_path):
    path = sample(tmp_path, "opencellid_measurements.csv")
    result = run_cli("import", path, "--device", "ocid-phone")
    report = tmp_path / "opencellid_measurements.csv.rejected.csv"
    assert f"report of refused rows: {report}" in result.output
    assert report.read_text(encoding="utf-8") == (
        "line,item,field,code,reason\n6,,signal,unreadable,99 means 'unknown signal'\n"
    )


def test_report_goes_where_asked_and_is_written_even_when_clean(run_cli, tmp_path):
    report = tmp_path / "out" / "problems.csv"
    report.parent.mkdir()
    result = run_cli("import", sample(tmp_path, "towercollector.csv"), "--report", report)
    assert result.exit_code == 0, result.output
    assert report.read_text(encoding="utf-8") == "line,item,field,code,reason\n"


def test_quality_gate_refusals_name_the_line_of_the_file(run_cli, sessions, tmp_path, recent):
    rows = [tc_row(i, when=recent) for i in range(6)]
    rows[3] = tc_row(3, when=recent, rsrp="-30")  # line 5: above LTE's -43 dBm maximum
    rows[5] = tc_row(5, when=recent, lat="0.0").replace("108.0500000", "0.0")  # line 7
    result = run_cli("import", write_tc(tmp_path / "tc.csv", rows))
    assert result.exit_code == 0, result.output
    refused = report_rows(tmp_path / "tc.csv.rejected.csv")
    assert [(r["line"], r["field"], r["code"]) for r in refused] == [
        ("5", "signal_dbm", "out_of_range"),
        ("7", "lat", "null_island"),
    ]
    assert "-30 dBm" in refused[0]["reason"]
    assert readings_stored(sessions) == 4


def test_lines_stay_right_across_chunks_and_skipped_neighbour_rows(
    settings, sessions, tmp_path, recent
):
    from collectors.formats import open_readings
    from service.ingest.files import import_readings
    from service.ingest.readings import Ingestor

    rows = []
    for i in range(30):
        rows.append(tc_row(i, when=recent, rsrp="-30" if i in (7, 21) else ""))
        # A neighbouring-cell row after each: skipped by the parser, but it takes a line.
        rows.append(tc_row(i, when=recent).replace(",LTE,false,", ",LTE,true,"))
    path = write_tc(tmp_path / "tc.csv", rows)
    with path.open("rb") as f:
        name, stream = open_readings(f)
        report = import_readings(
            sessions, Ingestor.from_settings(settings), stream, format_name=name,
            chunk_readings=4, keep_rejected=10,
        )  # fmt: skip
    # Row i is on line 2 + 2 i.
    assert [(p.line, p.field) for p in report.first_rejected] == [
        (16, "signal_dbm"),
        (44, "signal_dbm"),
    ]
    assert (report.accepted, report.rejected) == (28, 2)


def test_all_or_nothing_stores_nothing_when_a_row_is_bad(run_cli, sessions, tmp_path, recent):
    rows = [tc_row(i, when=recent) for i in range(10)]
    rows[8] = tc_row(8, when=recent, lat="north")
    path = write_tc(tmp_path / "tc.csv", rows)
    result = run_cli("import", path, "--all-or-nothing")
    assert result.exit_code == 1, result.output
    assert "nothing stored" in result.output
    assert readings_stored(sessions) == 0
    with sessions() as s:  # the counters were rolled back with the readings
        assert s.scalars(select(IngestCount)).all() == []
    assert [(r["line"], r["field"]) for r in report_rows(tmp_path / "tc.csv.rejected.csv")] == [
        ("10", "lat")
    ]


def test_all_or_nothing_stores_a_clean_file(run_cli, sessions, tmp_path, recent):
    path = write_tc(tmp_path / "tc.csv", [tc_row(i, when=recent) for i in range(10)])
    result = run_cli("import", path, "--all-or-nothing")
    assert result.exit_code == 0, result.output
    assert readings_stored(sessions) == 10


def test_gzip_export_is_read_transparently(run_cli, sessions, tmp_path, recent):
    rows = [tc_row(i, when=recent) for i in range(5)]
    result = run_cli("import", write_tc(tmp_path / "tc.csv.gz", rows, compress=True))
    assert result.exit_code == 0, result.output
    assert readings_stored(sessions) == 5


# --- hostile files -------------------------------------------------------------------------


def test_semicolon_separated_file_is_refused_with_a_hint(run_cli, sessions, tmp_path, recent):
    path = tmp_path / "tc.csv"
    path.write_text(
        TC_HEADER.replace(",", ";") + "\r\n" + tc_row(0, when=recent).replace(",", ";"),
        encoding="utf-8",
    )
    result = run_cli("import", path)
    assert result.exit_code == 2
    assert "deadzone expects commas" in result.output and "nothing stored" in result.output
    assert readings_stored(sessions) == 0


def test_semicolons_with_the_format_named_report_the_missing_columns(run_cli, tmp_path, recent):
    path = tmp_path / "tc.csv"
    path.write_text(TC_HEADER.replace(",", ";") + "\r\n", encoding="utf-8")
    result = run_cli("import", path, "--format", "towercollector")
    assert result.exit_code == 2
    assert "lacks required column(s)" in result.output
    assert "separated by ';'" in result.output


def test_missing_columns_are_named(run_cli, sessions, tmp_path, recent):
    header = TC_HEADER.replace(",lat,lon,", ",latitude,lon,")
    path = tmp_path / "tc.csv"
    path.write_text(header + "\r\n" + tc_row(0, when=recent), encoding="utf-8")
    result = run_cli("import", path)
    assert result.exit_code == 2
    assert "lacks required column(s) lat" in result.output
    assert readings_stored(sessions) == 0


@pytest.mark.parametrize("content", [b"", b"\r\n\r\n", b"\xef\xbb\xbf"])
def test_empty_file_is_refused(run_cli, sessions, tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    result = run_cli("import", path)
    assert result.exit_code == 2
    assert "empty file" in result.output
    assert readings_stored(sessions) == 0


def test_bytes_that_are_not_utf8_lose_only_their_row(run_cli, sessions, tmp_path, recent):
    rows = [tc_row(i, when=recent).encode() for i in range(5)]
    rows[2] = rows[2].replace(b"tc-test-1", b"t\xe9l\xe9phone")  # Latin-1, line 4
    path = tmp_path / "tc.csv"
    path.write_bytes((TC_HEADER + "\r\n").encode() + b"".join(rows))
    result = run_cli("import", path)
    assert result.exit_code == 0, result.output
    refused = report_rows(tmp_path / "tc.csv.rejected.csv")
    assert [(r["line"], r["field"]) for r in refused] == [("4", "device")]
    assert "not valid UTF-8" in refused[0]["reason"]
    assert readings_stored(sessions) == 4


def test_unknown_format_and_missing_file_exit_2(run_cli, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello,world\n1,2\n", encoding="utf-8")
    assert "unknown format" in run_cli("import", path).output
    assert run_cli("import", path).exit_code == 2
    missing = run_cli("import", tmp_path / "nope.csv")
    assert missing.exit_code == 2 and "cannot read" in missing.output
    bad_format = run_cli("import", path, "--format", "excel")
    assert bad_format.exit_code == 2 and "--format must be" in bad_format.output


def test_cell_export_is_stored_as_sites_like_the_api_does(run_cli, sessions, tmp_path):
    """One dispatch behind `deadzone import` and POST /v1/imports (issue 11): a cell export
    becomes sites on both, where the CLI used to refuse it."""
    result = run_cli("import", sample(tmp_path, "cell_export.csv"))
    assert result.exit_code == 0, result.output
    assert "sites): added" in result.output
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Site)) > 0


def test_opencellid_without_a_device_is_refused(run_cli, sessions, tmp_path):
    result = run_cli("import", sample(tmp_path, "opencellid_measurements.csv"))
    assert result.exit_code == 2 and "device token" in result.output
    assert readings_stored(sessions) == 0


def test_100k_rows_with_one_bad_row_store_the_other_99999(
    run_cli, sessions, tmp_path, big_towercollector
):
    path = Path(shutil.copy(big_towercollector, tmp_path / "big.csv"))
    result = run_cli("import", path)
    assert result.exit_code == 0, result.output
    assert f"accepted {BIG_ROWS - 1:,}, duplicates 0, rejected 1 rows" in result.output
    assert readings_stored(sessions) == BIG_ROWS - 1
    refused = report_rows(tmp_path / "big.csv.rejected.csv")
    assert [(r["line"], r["field"], r["code"]) for r in refused] == [
        (str(BIG_BAD_LINE), "lat", "unreadable")
    ]
    assert "'12.6x' is not a number" in refused[0]["reason"]
    with sessions() as s:
        counted = s.scalars(select(RejectionCount)).all()
    assert [(c.source, c.field, c.code, c.count) for c in counted] == [
        ("towercollector", "lat", "unreadable", 1)
    ]


def test_open_readings_reads_a_named_geosubmit_file_whole():
    from collectors.formats import open_readings

    with (DATA / "geosubmit_mls_example.json").open("rb") as f:
        _, rows = open_readings(f, format_name="geosubmit", device="phone")
        assert len(list(rows)) == 1


def test_naming_the_geosubmit_format_imports_it(run_cli, sessions, tmp_path):
    path = sample(tmp_path, "geosubmit_mls_example.json")
    result = run_cli("import", path, "--format", "geosubmit", "--device", "p")
    assert result.exit_code == 0, result.output
    assert readings_stored(sessions) == 1
