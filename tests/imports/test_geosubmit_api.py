"""``POST /v2/geosubmit`` on both databases: what MLS clients send is stored, and they get
the answers MLS gave them."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from collectors.formats import MLS_PARSE_ERROR_BODY
from service.ingest.privacy import DeviceHasher
from service.store.models import ReadingRow
from tests.conftest import TEST_SECRET
from tests.imports.conftest import DATA, readings_stored

MLS_EXAMPLE = (DATA / "geosubmit_mls_example.json").read_bytes()


def device_hash(token: str) -> bytes:
    return DeviceHasher(TEST_SECRET).hash(token)


def recent_report(**cell: Any) -> dict[str, Any]:
    when = datetime.now(UTC) - timedelta(minutes=5)
    tower = {"radioType": "lte", "mobileCountryCode": 452, "mobileNetworkCode": 4,
             "locationAreaCode": 12101, "cellId": 26200321, "signalStrength": -101}  # fmt: skip
    tower.update(cell)
    return {
        "timestamp": int(when.timestamp() * 1000),
        "position": {"latitude": 12.6667, "longitude": 108.05, "accuracy": 8.0},
        "cellTowers": [tower],
    }


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_mls_documentation_example_reaches_the_readings_table(client, sessions, gzipped):
    body, headers = MLS_EXAMPLE, {"Content-Type": "application/json"}
    if gzipped:
        body, headers = gzip.compress(MLS_EXAMPLE), {**headers, "Content-Encoding": "gzip"}
    response = client.post("/v2/geosubmit?key=tower-collector-1", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json() == {}
    with sessions() as s:
        row = s.scalars(select(ReadingRow)).one()
    assert (row.mcc, row.mnc, row.radio, row.signal_dbm) == (208, 1, "lte", -51.0)
    assert (row.area_code, row.cell_id, row.pci) == (2, 12345, 5)
    assert (row.lat, row.lon, row.accuracy_m) == (-22.7539192, -43.4371081, 10.0)
    # timestamp 1405602028568 ms minus the cell's age of 3000 ms
    assert row.observed_at == datetime(2014, 7, 17, 13, 0, 25, 568000, tzinfo=UTC)
    assert row.source == "mls-geosubmit"
    assert row.device_hash == device_hash("tower-collector-1")


def test_gzip_body_without_content_encoding_is_read(client, sessions):
    response = client.post("/v2/geosubmit?key=k", content=gzip.compress(MLS_EXAMPLE))
    assert response.status_code == 200
    assert readings_stored(sessions) == 1


def test_same_body_sent_again_is_stored_once(client, sessions):
    for _ in range(2):
        assert client.post("/v2/geosubmit?key=k", content=MLS_EXAMPLE).status_code == 200
    assert readings_stored(sessions) == 1
    stats = client.get("/v1/stats").json()
    assert (stats["accepted"], stats["duplicates"]) == (1, 1)


def test_device_header_wins_over_the_key(client, sessions):
    response = client.post(
        "/v2/geosubmit?key=shared-app-key",
        content=MLS_EXAMPLE,
        headers={"X-Deadzone-Device": "phone-42"},
    )
    assert response.status_code == 200
    with sessions() as s:
        assert s.scalars(select(ReadingRow.device_hash)).one() == device_hash("phone-42")


@pytest.mark.parametrize("query", ["", "?key=", "?key=%20%20", f"?key={'x' * 257}"])
def test_request_without_a_usable_device_token_is_refused(client, sessions, query):
    response = client.post(f"/v2/geosubmit{query}", content=MLS_EXAMPLE)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400
    assert error["errors"][0]["reason"] == "keyInvalid"
    assert "key" in error["message"] or "token" in error["message"]
    assert readings_stored(sessions) == 0


BAD_BODIES = [
    ("not json", b"items: []", {}),
    ("empty", b"", {}),
    ("array", b"[]", {}),
    ("no items", b'{"reports": []}', {}),
    ("items not a list", b'{"items": {}}', {}),
    ("bad gzip", b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"}),
    ("truncated gzip", gzip.compress(MLS_EXAMPLE)[:-12], {"Content-Encoding": "gzip"}),
]


@pytest.mark.parametrize(("label", "body", "headers"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_unreadable_body_gets_the_mls_parse_error(client, sessions, label, body, headers):
    response = client.post("/v2/geosubmit?key=k", content=body, headers=headers)
    assert response.status_code == 400
    assert response.json() == MLS_PARSE_ERROR_BODY
    assert readings_stored(sessions) == 0


def test_body_over_the_limit_is_413(settings, sessions):
    from fastapi.testclient import TestClient

    from service.api.app import create_app

    small = settings.model_copy(update={"max_body_bytes": 1024})
    with TestClient(create_app(small)) as client:
        plain = client.post("/v2/geosubmit?key=k", content=MLS_EXAMPLE)
        bomb = client.post(
            "/v2/geosubmit?key=k",
            content=gzip.compress(b" " * 100_000 + MLS_EXAMPLE),
            headers={"Content-Encoding": "gzip"},
        )
    assert (plain.status_code, bomb.status_code) == (413, 413)
    assert readings_stored(sessions) == 0


def test_reports_without_a_usable_cell_are_counted_as_rejected(client, sessions):
    items = [
        recent_report(),
        {**recent_report(), "cellTowers": [], "wifiAccessPoints": [{"macAddress": "x"}]},
        recent_report(signalStrength=None),  # no signal, no asu
        recent_report(signalStrength=-20),  # above LTE's -43 dBm: the quality gate
    ]
    response = client.post("/v2/geosubmit?key=k", content=orjson.dumps({"items": items}))
    assert response.status_code == 200 and response.json() == {}
    assert readings_stored(sessions) == 1
    stats = client.get("/v1/stats").json()
    assert stats["by_source"] == [
        {"source": "mls-geosubmit", "accepted": 1, "duplicates": 0, "rejected": 3}
    ]
    assert sorted((r["field"], r["code"], r["count"]) for r in stats["rejections"]) == [
        ("cellTowers", "unreadable", 1),
        ("signalStrength", "unreadable", 1),
        ("signal_dbm", "out_of_range", 1),
    ]


def test_serving_cell_is_the_reading(client, sessions):
    report = recent_report()
    neighbour = {**report["cellTowers"][0], "cellId": 999, "signalStrength": -70}
    report["cellTowers"] = [neighbour, {**report["cellTowers"][0], "serving": 1}]
    assert client.post("/v2/geosubmit?key=k", json={"items": [report]}).status_code == 200
    with sessions() as s:
        assert s.scalars(select(ReadingRow.cell_id)).one() == 26200321
