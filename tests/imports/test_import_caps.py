"""Uploads a server must survive: the decompressed size and the rows of one upload to
POST /v1/imports are capped (settings), the cap is met while reading, never after, and what
was stored before it stays (issue 17: a 542 KB gzip held 160 MB of rows)."""

from __future__ import annotations

import gzip
import io
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from collectors.formats import FormatError, open_readings
from service.api.app import create_app
from tests.imports.conftest import TC_HEADER, readings_stored, tc_row


def capped_client(settings: Any, **caps: int) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=caps)))


def test_a_gzip_bomb_is_stopped_at_the_decompressed_cap(settings, recent):
    # 2 MB of rows squeezed into a few kilobytes: refused once 1 MB has come out.
    rows = "".join(tc_row(i % 50, when=recent) for i in range(20_000))
    bomb = gzip.compress((TC_HEADER + "\r\n" + rows).encode(), compresslevel=9)
    assert len(bomb) < 200_000
    with capped_client(settings, max_import_decompressed_bytes=1_000_000) as client:
        response = client.post("/v1/imports", files={"file": ("tc.csv.gz", bomb)})
    assert response.status_code == 422
    assert "1,000,000 bytes once decompressed" in response.json()["message"]


def test_rows_past_the_cap_are_refused_and_the_chunks_before_stay(settings, sessions, recent):
    start = recent - timedelta(hours=4)  # one row a second: all 12,000 in the past
    rows = "".join(tc_row(i, when=start) for i in range(12_000))
    content = (TC_HEADER + "\r\n" + rows).encode()
    with capped_client(settings, max_import_rows=10_000) as client:
        response = client.post("/v1/imports", files={"file": ("tc.csv", content)})
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "file" and "more than 10,000 rows" in body["message"]
    assert readings_stored(sessions) == 10_000  # two chunks of 5,000 committed before


def test_uploads_within_the_caps_are_stored_whole(settings, sessions, recent):
    rows = "".join(tc_row(i, when=recent) for i in range(300))
    content = gzip.compress((TC_HEADER + "\r\n" + rows).encode())
    with capped_client(settings, max_import_rows=300, max_import_decompressed_bytes=10**6) as c:
        response = c.post("/v1/imports", files={"file": ("tc.csv.gz", content)})
    assert response.status_code == 200, response.text
    assert readings_stored(sessions) == 300


def test_the_parser_never_inflates_past_the_cap_in_one_read(recent):
    body = gzip.compress(b'{"items": [' + b" " * 5_000_000 + b"]}")
    with pytest.raises(FormatError, match="once decompressed"):
        name, stream = open_readings(
            io.BytesIO(body), format_name="geosubmit", device="d", max_bytes=100_000
        )
        list(stream)
