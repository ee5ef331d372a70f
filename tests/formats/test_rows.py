"""The row error type that every parser shares."""

from __future__ import annotations

from collectors.formats import RowError


def test_row_error_says_where_and_why_for_people_and_json() -> None:
    csv_error = RowError(12, "lat", "'x' is not a number")
    assert str(csv_error) == "line 12, field 'lat': 'x' is not a number"
    assert csv_error.to_dict() == {"reason": "'x' is not a number", "line": 12, "field": "lat"}
    report_error = RowError(None, "asu", "GSM asu must be 0..31, got 40", index=3, cell=1)
    assert str(report_error).startswith("item 3, cell 1, field 'asu'")
    assert report_error.to_dict() == {
        "reason": "GSM asu must be 0..31, got 40",
        "index": 3,
        "cell": 1,
        "field": "asu",
    }
