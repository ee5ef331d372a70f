"""POST /v1/readings on SQLite and PostGIS: what is kept, what is refused, and why."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from service.api.routes.readings import IngestAnswer
from service.ingest.counters import IngestStats
from service.store.models import ReadingRow
from tests.conftest import DROP, make_reading


def post(client: Any, readings: list[Any], **kw: Any) -> Any:
    return client.post("/v1/readings", json={"readings": readings}, **kw)


def stored(sessions: Any) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(ReadingRow)))


def test_mixed_batch_keeps_good_readings_and_names_bad_ones(client, sessions):
    batch = [
        make_reading(id="ok-1"),
        make_reading(id="bad-signal", signal_dbm=-150.0),
        make_reading(id="ok-2", radio="gsm", signal_dbm=-90.0),
        make_reading(id="bad-lat", lat="12.5"),
        make_reading(id="ok-3", signal_dbm=DROP, no_service=True),
    ]
    response = post(client, batch)
    assert response.status_code == 200
    answer = IngestAnswer.model_validate(response.json())
    assert (answer.accepted, answer.duplicates, answer.rejected_readings) == (3, 0, 2)
    assert [(r.index, r.field, r.code) for r in answer.rejected] == [
        (1, "signal_dbm", "out_of_range"),
        (3, "lat", "wrong_type"),
    ]
    assert "-150 dBm" in answer.rejected[0].reason and "-140..-43" in answer.rejected[0].reason
    assert stored(sessions) == 3


def test_reading_sent_twice_in_one_batch_counts_once(client, sessions):
    r = make_reading(id="same")
    answer = post(client, [r, r, make_reading(id="other")]).json()
    assert (answer["accepted"], answer["duplicates"]) == (2, 1)
    assert stored(sessions) == 2


def test_reading_sent_again_later_counts_once(client, sessions):
    batch = [make_reading(id=f"r{i}") for i in range(10)]
    assert post(client, batch).json()["accepted"] == 10
    again = post(client, batch[5:] + [make_reading(id="new")]).json()
    assert (again["accepted"], again["duplicates"]) == (1, 5)
    assert stored(sessions) == 11


def test_same_id_from_two_devices_is_two_readings(client, sessions):
    answer = post(client, [make_reading(device="a"), make_reading(device="b")]).json()
    assert answer["accepted"] == 2


BAD_INPUTS = [
    ({"signal_dbm": -30.0}, "signal_dbm", "out_of_range"),
    ({"radio": "gsm", "signal_dbm": -120.0}, "signal_dbm", "out_of_range"),
    ({"radio": "umts", "signal_dbm": -20.0}, "signal_dbm", "out_of_range"),
    ({"radio": "nr", "signal_dbm": -43.0}, "signal_dbm", "out_of_range"),
    ({"signal_dbm": 2147483647}, "signal_dbm|no_service|level", "no_signal_value"),
    ({"signal_dbm": DROP}, "signal_dbm|no_service|level", "no_signal_value"),
    ({"no_service": True}, "signal_dbm|no_service|level", "no_signal_value"),
    ({"signal_dbm": "-95"}, "signal_dbm", "wrong_type"),
    ({"mcc": "452"}, "mcc", "wrong_type"),
    ({"no_service": "yes", "signal_dbm": DROP}, "no_service", "wrong_type"),
    ({"lat": 0.0, "lon": 0.0}, "lat", "null_island"),
    ({"lat": 86.0}, "lat", "out_of_range"),
    ({"lon": -181.0}, "lon", "out_of_range"),
    ({"lat": DROP}, "lat", "missing"),
    ({"accuracy_m": 1500.0}, "accuracy_m", "inaccurate"),
    ({"accuracy_m": -1.0}, "accuracy_m", "out_of_range"),
    ({"speed_mps": 80.0}, "speed_mps", "too_fast"),
    ({"observed_at": "2099-01-01T00:00:00Z"}, "observed_at", "future"),
    ({"observed_at": "2019-01-01T00:00:00Z"}, "observed_at", "too_old"),
    ({"observed_at": "2026-11-21T08:00:00"}, "observed_at", "invalid_time"),
    ({"observed_at": "yesterday"}, "observed_at", "invalid_time"),
    ({"radio": "5g"}, "radio", "invalid"),
    ({"level": 5, "signal_dbm": DROP}, "level", "out_of_range"),
    ({"id": ""}, "id", "invalid"),
    ({"colour": "red"}, "colour", "unknown_field"),
]


@pytest.mark.parametrize(("change", "field", "code"), BAD_INPUTS)
def test_bad_reading_is_refused_with_its_field_named(client, sessions, change, field, code):
    answer = post(client, [make_reading(id="good"), make_reading(**{"id": "bad", **change})]).json()
    assert answer["accepted"] == 1
    assert answer["rejected_readings"] == 1
    first = answer["rejected"][0]
    assert (first["index"], first["field"], first["code"]) == (1, field, code), first
    assert first["reason"]
    assert stored(sessions) == 1


@pytest.mark.parametrize(
    "raw", [b"NaN", b"Infinity", b"-Infinity", b"1e999"], ids=["nan", "inf", "-inf", "overflow"]
)
def test_non_finite_numbers_are_refused(client, raw):
    body = b'{"readings": [' + orjson.dumps(make_reading()).replace(b"-101.0", raw) + b"]}"
    response = client.post("/v1/readings", content=body)
    # orjson refuses NaN/Infinity literals outright: the whole body is not JSON.
    if response.status_code == 400:
        assert "not valid JSON" in response.json()["message"]
    else:
        assert response.json()["rejected"][0]["field"] == "signal_dbm"


def test_android_unavailable_means_missing_not_a_signal(client):
    answer = post(
        client, [make_reading(signal_dbm=2147483647, no_service=True, accuracy_m=2147483647)]
    ).json()
    assert answer["accepted"] == 1


def test_manual_report_is_stored(client, sessions):
    answer = post(
        client, [make_reading(signal_dbm=DROP, level=1, calls_fail=True, source="reporter")]
    ).json()
    assert answer["accepted"] == 1
    with sessions() as s:
        row = s.scalars(select(ReadingRow)).one()
    assert (row.level, row.calls_fail, row.source, row.signal_dbm) == (1, True, "reporter", None)


def test_stored_reading_keeps_raw_values_hashed_device_and_cell(client, sessions, settings):
    import h3

    # Ten days ago: a fixed date would leave the 400-day retention (2026-11-20 did from
    # 25 December 2027 on) and be refused, not stored.
    ten_days_ago = datetime.now(UTC) - timedelta(days=10)
    observed = ten_days_ago.replace(hour=3, minute=4, second=5, microsecond=0)
    post(client, [make_reading(observed_at=observed.isoformat(), device="secret-token")])
    with sessions() as s:
        row = s.scalars(select(ReadingRow)).one()
    assert row.observed_at == observed
    assert row.device_hash != b"secret-token" and len(row.device_hash) == 16
    assert h3.int_to_str(row.h3_cell) == h3.latlng_to_cell(12.6667, 108.05, 9)
    assert (row.geom.x, row.geom.y) == (108.05, 12.6667)


def test_late_upload_within_retention_is_accepted(client):
    old = (datetime.now(UTC) - timedelta(days=200)).isoformat()
    assert post(client, [make_reading(observed_at=old)]).json()["accepted"] == 1


def test_not_json_is_400_and_stores_nothing(client, sessions):
    response = client.post("/v1/readings", content=b'{"readings": [')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]
    assert stored(sessions) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [([make_reading()], None), ({"reading": []}, "reading"), ({"readings": {}}, "readings")],
    ids=["array", "wrong-key", "not-array"],
)
def test_wrong_shape_is_422_and_names_the_problem(client, sessions, body, field):
    response = client.post("/v1/readings", json=body)
    assert response.status_code == 422
    assert response.json().get("field") == field
    assert stored(sessions) == 0


def test_batch_over_the_limit_is_413_and_stores_nothing(client, sessions, settings):
    limit = settings.max_batch_readings
    response = post(client, [make_reading(id=str(i)) for i in range(limit + 1)])
    assert response.status_code == 413
    assert str(limit) in response.json()["message"]
    assert stored(sessions) == 0


def test_body_over_the_byte_limit_is_413(db_url):
    from fastapi.testclient import TestClient

    from service.api.app import create_app
    from service.settings import Settings
    from tests.conftest import TEST_SECRET

    settings = Settings(database_url=db_url, device_secret=TEST_SECRET, max_body_bytes=2048)
    with TestClient(create_app(settings)) as client:
        big = [make_reading(id=f"r{i}") for i in range(50)]
        assert post(client, big).status_code == 413
        bomb = gzip.compress(b'{"readings": [' + b" " * 1_000_000 + b"]}")
        response = client.post("/v1/readings", content=bomb, headers={"Content-Encoding": "gzip"})
        assert response.status_code == 413
        assert "decompressed" in response.json()["message"]


def test_gzip_body_is_accepted(client):
    body = gzip.compress(orjson.dumps({"readings": [make_reading()]}))
    response = client.post(
        "/v1/readings",
        content=body,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.json()["accepted"] == 1


def test_broken_gzip_is_400(client):
    response = client.post(
        "/v1/readings", content=b"\x1f\x8b\x08garbage", headers={"Content-Encoding": "gzip"}
    )
    assert response.status_code == 400
    assert "gzip" in response.json()["message"]


def test_database_failure_mid_batch_stores_nothing(client, sessions, monkeypatch):
    """The readings are already inserted when the counters fail: all must roll back."""
    import service.ingest.readings

    def explode(*args: Any, **kwargs: Any) -> None:
        from sqlalchemy.exc import OperationalError

        raise OperationalError("UPDATE ingest_counts", {}, Exception("disk I/O error"))

    monkeypatch.setattr(service.ingest.readings, "add_to_counters", explode)
    response = post(client, [make_reading(id=f"r{i}") for i in range(100)])
    assert response.status_code == 503
    assert "disk I/O" not in response.text  # the detail goes to the log, not the client
    assert "nothing was stored" in response.json()["message"]
    assert stored(sessions) == 0


def test_rejections_are_counted_by_reason(client):
    post(client, [make_reading(id="a", signal_dbm=-150.0), make_reading(id="b", lat=0.0, lon=0.0)])
    post(client, [make_reading(id="c", signal_dbm=-10.0), make_reading(id="d")])
    post(client, [make_reading(id="d")])
    stats = IngestStats.model_validate(client.get("/v1/stats").json())
    assert (stats.accepted, stats.duplicates, stats.rejected) == (1, 1, 3)
    counts = {(r.field, r.code): r.count for r in stats.rejections}
    assert counts == {("signal_dbm", "out_of_range"): 2, ("lat", "null_island"): 1}


def test_healthz_checks_the_database(client):
    assert client.get("/healthz").json() == {
        "status": "ok",
        "database": "postgresql" if "postgresql" in str(client.app.state.engine.url) else "sqlite",
    }


def test_openapi_describes_every_reading_field_with_units(client):
    schema = client.get("/openapi.json").json()
    reading = schema["components"]["schemas"]["Reading"]["properties"]
    assert all(p.get("description") for p in reading.values()), [
        k for k, p in reading.items() if not p.get("description")
    ]
    assert "dBm" in reading["signal_dbm"]["description"]
    assert "metres" in reading["accuracy_m"]["description"]
    assert "degrees" in reading["lat"]["description"]
    body = schema["paths"]["/v1/readings"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/ReadingBatch")


def test_manual_report_without_a_known_radio_is_stored_as_unknown(client, sessions):
    reports = [
        make_reading(id="bars", radio="unknown", signal_dbm=DROP, level=2, source="reporter"),
        make_reading(id="none", radio="unknown", signal_dbm=DROP, level=0, calls_fail=True),
        make_reading(id="lost", radio="unknown", signal_dbm=DROP, no_service=True),
    ]
    answer = post(client, reports).json()
    assert (answer["accepted"], answer["rejected_readings"]) == (3, 0)
    with sessions() as s:
        radios = set(s.scalars(select(ReadingRow.radio)))
    assert radios == {"unknown"}


def test_measured_signal_needs_its_radio(client, sessions):
    answer = post(client, [make_reading(id="dbm", radio="unknown", signal_dbm=-100.0)]).json()
    assert answer["accepted"] == 0
    assert [(r["field"], r["code"]) for r in answer["rejected"]] == [
        ("radio", "unknown_with_signal")
    ]
    assert "manual report" in answer["rejected"][0]["reason"]
    assert stored(sessions) == 0
