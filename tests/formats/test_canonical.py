"""deadzone's own reading format, as CSV and as GeoJSON."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collectors.formats import (
    EmptyFileError,
    FormatError,
    MissingColumnsError,
    RowError,
    parse_canonical_csv,
    parse_geojson,
)
from collectors.formats import geojson as geojson_module
from collectors.formats.canonical import FIELD_PARSERS
from collectors.reading import Reading
from tests.formats.conftest import split

HEADER = "observed_at,lat,lon,mcc,mnc,radio,signal_dbm,no_service,device"


def canonical(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def test_column_parsers_cover_exactly_the_reading_fields() -> None:
    assert set(FIELD_PARSERS) == set(Reading.model_fields)


def test_sample_csv_gives_valid_readings(data_dir: Path) -> None:
    with open(data_dir / "canonical.csv", "rb") as f:
        readings, errors = split(parse_canonical_csv(f, device="uploader-1"))
    assert errors == []
    for reading in readings:
        Reading.model_validate(reading)
    assert [r["id"][:2] for r in readings[:3]] == ["r-", "r-", "r-"]
    assert readings[1]["no_service"] is True and "signal_dbm" not in readings[1]
    assert readings[2]["level"] == 1 and readings[2]["source"] == "reporter"
    # +07:00 local time is normalised to UTC.
    assert readings[1]["observed_at"] == "2026-11-20T02:40:00+00:00"
    assert readings[3]["device"] == "uploader-1"
    assert readings[3]["source"] == "canonical-csv"


def test_types_are_parsed_and_a_wrong_one_names_its_field() -> None:
    data = canonical(
        "2026-11-20T02:15:31Z,12.6,108.1,452,4,lte,-95,,d",
        "2026-11-20T02:15:31Z,12.6,108.1,452,four,lte,-95,,d",
        "2026-11-20T02:15:31Z,12.6,108.1,452,4,lte,,maybe,d",
        "2026-11-20T02:15:31,12.6,108.1,452,4,lte,-95,,d",
        "2026-11-20T02:15:31Z,12.6,108.1,452,4,wimax,-95,,d",
        "2026-11-20T02:15:31Z,nan,108.1,452,4,lte,-95,,d",
        "2026-11-20T02:15:31Z,12.6,108.1,452,4,lte,,TRUE,d",
    )
    readings, errors = split(parse_canonical_csv(io.BytesIO(data)))
    assert [(e.line, e.field) for e in errors] == [
        (3, "mnc"),
        (4, "no_service"),
        (5, "observed_at"),
        (6, "radio"),
        (7, "lat"),
    ]
    first, last = readings
    assert (type(first["mcc"]), type(first["signal_dbm"])) == (int, float)
    assert last["no_service"] is True


def test_unknown_column_is_a_file_error_naming_it() -> None:
    with pytest.raises(FormatError, match="signal_dbn"):
        parse_canonical_csv(io.BytesIO(canonical(header=HEADER + ",signal_dbn")))


def test_missing_required_columns_are_named() -> None:
    with pytest.raises(MissingColumnsError, match="mnc, radio"):
        parse_canonical_csv(io.BytesIO(b"observed_at,lat,lon,mcc\n"))


def test_empty_and_header_only_files() -> None:
    with pytest.raises(EmptyFileError):
        parse_canonical_csv(io.BytesIO(b""))
    assert split(parse_canonical_csv(io.BytesIO(canonical()))) == ([], [])


def test_derived_ids_are_stable_and_given_ids_kept() -> None:
    data = canonical("2026-11-20T02:15:31Z,12.6,108.1,452,4,lte,-95,,d")
    (a,), _ = split(parse_canonical_csv(io.BytesIO(data)))
    (b,), _ = split(parse_canonical_csv(io.BytesIO(data)))
    assert a["id"] == b["id"]


def test_sample_geojson_gives_valid_readings(data_dir: Path) -> None:
    with open(data_dir / "readings.geojson", "rb") as f:
        readings, errors = split(parse_geojson(f, device="uploader-1"))
    assert errors == []
    for reading in readings:
        Reading.model_validate(reading)
    first = readings[0]
    assert (first["lon"], first["lat"]) == (108.1091543, 12.6053421)
    assert "fid" not in first and first["accuracy_m"] == 4.0
    assert readings[1]["source"] == "geojson" and readings[2]["source"] == "reporter"


def feature(properties: dict[str, Any], geometry: Any = None) -> dict[str, Any]:
    point = {"type": "Point", "coordinates": [108.1, 12.6]}
    return {"type": "Feature", "geometry": geometry or point, "properties": properties}


GOOD = {"observed_at": "2026-11-20T02:15:31Z", "mcc": 452, "mnc": 4, "radio": "lte"}


def collection(*features: dict[str, Any]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def test_geojson_feature_errors_carry_the_feature_index() -> None:
    data = collection(
        feature({**GOOD, "signal_dbm": -95}),
        feature({**GOOD, "mcc": "452", "signal_dbm": -95}),
        feature({**GOOD, "signal_dbm": -95}, {"type": "LineString", "coordinates": []}),
        feature({**GOOD, "no_service": 1}),
    )
    readings, errors = split(parse_geojson(io.BytesIO(data), device="d"))
    assert len(readings) == 1
    assert [(e.index, e.field) for e in errors] == [(1, "mcc"), (2, "geometry"), (3, "no_service")]


def test_geojson_that_is_not_a_feature_collection_is_refused() -> None:
    with pytest.raises(FormatError, match="FeatureCollection"):
        parse_geojson(io.BytesIO(b'{"type": "Feature"}'))
    with pytest.raises(FormatError, match="empty"):
        parse_geojson(io.BytesIO(b""))


def test_truncated_geojson_raises_after_the_good_features() -> None:
    pytest.importorskip("ijson", reason="incremental GeoJSON needs ijson (not yet in pyproject)")
    data = collection(feature({**GOOD, "signal_dbm": -95}), feature({**GOOD, "level": 2}))
    rows = parse_geojson(io.BytesIO(data[:-40]), device="d")
    assert isinstance(next(rows), dict)
    with pytest.raises(FormatError, match="after 1 features"):
        list(rows)


def test_geojson_without_ijson_reads_small_files_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(geojson_module, "ijson", None)
    data = collection(feature({**GOOD, "signal_dbm": -95}))
    readings, errors = split(parse_geojson(io.BytesIO(data), device="d"))
    assert (len(readings), errors) == (1, [])
    monkeypatch.setattr(geojson_module, "MAX_BYTES_WITHOUT_IJSON", 10)
    with pytest.raises(FormatError, match="ijson"):
        list(parse_geojson(io.BytesIO(data), device="d"))


def test_geojson_stream_positions_are_feature_indexes() -> None:
    data = collection(feature({**GOOD, "level": 2}), feature({**GOOD, "level": 3}))
    rows = parse_geojson(io.BytesIO(data), device="d")
    assert [rows.position for _ in rows] == [0, 1]
    assert rows.position_kind == "index"


def test_geojson_features_come_lazily_from_an_endless_stream() -> None:
    pytest.importorskip("ijson", reason="incremental GeoJSON needs ijson (not yet in pyproject)")
    one = json.dumps(feature({**GOOD, "level": 2})).encode()

    def endless() -> Iterator[bytes]:
        yield b'{"type": "FeatureCollection", "features": [' + one
        while True:
            yield b"," + one

    rows = parse_geojson(endless(), device="d")
    assert len(list(itertools.islice(rows, 500))) == 500


def test_quoted_field_over_two_lines_keeps_later_line_numbers_right() -> None:
    data = canonical(
        '2026-11-20T02:15:31Z,12.6,108.1,452,4,lte,-95,,"team\nseven"',
        "2026-11-20T02:15:31Z,12.6,108.1,452,x,lte,-95,,d",
        header=HEADER,
    )
    rows = parse_canonical_csv(io.BytesIO(data))
    reading, error = list(rows)
    assert isinstance(reading, dict) and reading["device"] == "team\nseven"
    assert isinstance(error, RowError) and (error.line, error.field) == (4, "mnc")


def test_an_empty_mnc_is_an_unknown_operator() -> None:
    """A resident who did not know the operator (the reporter page's "Tôi không biết"): an
    empty mnc is ``null``, which the service takes for a report without a signal value."""
    data = canonical("2026-11-20T02:15:31Z,12.6,108.1,452,,lte,,true,d")
    readings, errors = split(parse_canonical_csv(io.BytesIO(data)))
    assert errors == []
    (reading,) = readings
    assert reading["mnc"] is None and Reading.model_validate(reading).mnc is None
