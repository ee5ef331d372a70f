"""``POST /v1/imports`` on both databases: uploads stored like the CLI stores files, and
file-level problems answered 422 with the parser's message."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from sqlalchemy import func, select

from service.api.routes.imports import SHOWN_REJECTED, ImportAnswer
from service.store.models import Site
from tests.imports.conftest import DATA, TC_HEADER, readings_stored, tc_row


def upload(client: Any, name: str, content: bytes, **data: str) -> Any:
    return client.post("/v1/imports", files={"file": (name, content)}, data=data)


def answer_of(response: Any) -> ImportAnswer:
    assert response.status_code == 200, response.text
    return ImportAnswer.model_validate(response.json())


SAMPLES = [
    ("towercollector.csv", {}, "towercollector", 6, 0),
    ("opencellid_measurements.csv", {"device": "ocid-phone"}, "opencellid", 5, 1),
    ("canonical.csv", {"device": "survey-phone"}, "canonical-csv", 4, 0),
    ("readings.geojson", {"device": "survey-phone"}, "geojson", 3, 0),
    ("geosubmit_mls_example.json", {"device": "mls-phone"}, "geosubmit", 1, 0),
]


@pytest.mark.parametrize(("name", "data", "format_name", "accepted", "refused"), SAMPLES)
def test_uploaded_export_is_stored_once(
    client, sessions, name, data, format_name, accepted, refused
):
    content = (DATA / name).read_bytes()
    first = answer_of(upload(client, name, content, **data))
    assert (first.format, first.kind, first.stored) == (format_name, "readings", True)
    assert (first.accepted, first.duplicates, first.rejected) == (accepted, 0, refused)
    again = answer_of(upload(client, name, content, **data))
    assert (again.accepted, again.duplicates) == (0, accepted)
    assert readings_stored(sessions) == accepted


def test_refused_rows_are_listed_with_their_line(client):
    content = (DATA / "opencellid_measurements.csv").read_bytes()
    answer = answer_of(upload(client, "m.csv", content, device="ocid-phone"))
    assert [r.model_dump() for r in answer.rejected_rows] == [
        {
            "line": 6,
            "item": None,
            "field": "signal",
            "code": "unreadable",
            "reason": "99 means 'unknown signal'",
        }
    ]


def test_cell_export_upload_becomes_sites(client, sessions):
    content = (DATA / "cell_export.csv").read_bytes()
    first = answer_of(upload(client, "cells.csv", content))
    assert (first.kind, first.format, first.accepted, first.updated) == (
        "sites", "cell-export", 6, 0,
    )  # fmt: skip
    again = answer_of(upload(client, "cells.csv.gz", gzip.compress(content)))
    assert (again.accepted, again.updated) == (0, 6)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Site)) == 6
    assert readings_stored(sessions) == 0


def test_format_can_be_named(client, sessions):
    content = (DATA / "towercollector.csv").read_bytes()
    answer = answer_of(upload(client, "x.txt", content, format="towercollector"))
    assert answer.accepted == 6


def test_all_or_nothing_upload_with_a_bad_row_stores_nothing(client, sessions, recent):
    rows = [tc_row(i, when=recent) for i in range(5)] + [tc_row(5, when=recent, rsrp="-20")]
    content = (TC_HEADER + "\r\n" + "".join(rows)).encode()
    answer = answer_of(upload(client, "tc.csv", content, all_or_nothing="true"))
    assert (answer.stored, answer.accepted, answer.rejected) == (False, 0, 1)
    assert answer.rejected_rows[0].line == 7
    assert readings_stored(sessions) == 0


def test_answer_lists_the_first_problems_and_counts_them_all(client, sessions, recent):
    rows = [tc_row(i, when=recent, lat="x") for i in range(SHOWN_REJECTED + 50)]
    content = (TC_HEADER + "\r\n" + "".join(rows)).encode()
    answer = answer_of(upload(client, "tc.csv", content))
    assert answer.rejected == SHOWN_REJECTED + 50
    assert [r.line for r in answer.rejected_rows] == list(range(2, SHOWN_REJECTED + 2))


def test_non_utf8_row_is_refused_alone(client, sessions, recent):
    rows = [tc_row(i, when=recent).encode() for i in range(3)]
    rows[1] = rows[1].replace(b"tc-test-1", b"\xff\xfe")
    answer = answer_of(upload(client, "tc.csv", (TC_HEADER + "\r\n").encode() + b"".join(rows)))
    assert (answer.accepted, answer.rejected) == (2, 1)
    assert (answer.rejected_rows[0].line, answer.rejected_rows[0].field) == (3, "device")


HOSTILE = [
    ("empty", b"", "empty file"),
    ("semicolons", (TC_HEADER.replace(",", ";") + "\r\n").encode(), "deadzone expects commas"),
    ("no lat", (TC_HEADER.replace(",lat,", ",latitude,") + "\r\n").encode(),
     "lacks required column(s) lat"),
    ("not json", b'{"items": [', "body is not JSON"),
    # A lone CR in the first line (found by the fuzzing job): the csv module raised, a 500.
    ("bare CR", b"\xc5\xb5 rl\reP\xff\xfe", "unknown format: the first line was"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "content", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_file_that_cannot_be_read_is_422_with_the_reason(client, sessions, label, content, message):
    response = upload(client, "upload.csv", content, device="x")
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "file"
    assert message in body["message"] and body["message"].startswith("upload.csv: ")
    assert readings_stored(sessions) == 0


def test_bad_form_fields_are_422(client):
    content = (DATA / "towercollector.csv").read_bytes()
    assert upload(client, "a.csv", content, format="excel").json()["field"] == "format"
    assert upload(client, "a.csv", content, all_or_nothing="maybe").json()["field"] == (
        "all_or_nothing"
    )
    no_file = client.post("/v1/imports", data={"format": "auto"}, files={"other": ("a", b"")})
    assert no_file.status_code == 422 and no_file.json()["field"] == "file"
    not_multipart = client.post("/v1/imports", content=content)
    assert not_multipart.status_code == 422
    assert not_multipart.json()["field"] == "Content-Type"


def test_upload_over_the_limit_is_413(settings, sessions):
    from fastapi.testclient import TestClient

    from service.api.app import create_app

    small = settings.model_copy(update={"max_upload_bytes": 2048})
    content = (TC_HEADER + "\r\n").encode() * 20
    with TestClient(create_app(small)) as client:
        response = upload(client, "big.csv", content)
    assert response.status_code == 413
    assert "2048 bytes" in response.json()["message"]
    assert readings_stored(sessions) == 0
