"""Rate limits per device token, API key and client address: a flood gets a 429 with
Retry-After, counted in /v1/stats; a phone's week of offline backlog passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import Settings
from tests.conftest import TEST_SECRET


def burst(device: str, start: int, count: int) -> list[dict[str, Any]]:
    when = datetime.now(UTC) - timedelta(days=30)
    return [
        {"id": f"{device}-{i}", "device": device,
         "observed_at": (when + timedelta(seconds=10 * i)).isoformat(),
         "lat": 12.6667 + (i % 100) * 1e-4, "lon": 108.05, "mcc": 452, "mnc": 4,
         "radio": "lte", "signal_dbm": -100.0}
        for i in range(start, start + count)
    ]  # fmt: skip


def test_one_token_sending_200000_readings_gets_429_after_a_weeks_backlog(client):
    sent = accepted = 0
    refused = None
    while sent < 200_000:
        response = client.post("/v1/readings", json={"readings": burst("flood", sent, 5_000)})
        sent += 5_000
        if response.status_code == 429:
            refused = response
            break
        assert response.status_code == 200, response.text
        accepted += response.json()["accepted"]
    assert refused is not None, "200,000 readings from one token were all taken"
    # A collector logging every 10 s, 16 h a day, gathers 40,320 readings in a week: they pass.
    assert accepted >= 40_320
    assert int(refused.headers["Retry-After"]) >= 1
    assert "readings from one device" in refused.json()["message"]
    other = client.post("/v1/readings", json={"readings": burst("honest", 0, 100)})
    assert other.json()["accepted"] == 100  # the limit is the token's, not everyone's
    assert client.get("/v1/stats").json()["rate_limited"] == 1


def test_address_key_and_import_limits(db_url):
    settings = Settings(
        database_url=db_url, device_secret=TEST_SECRET, aggregate_interval_s=0,
        rate_limit_address_requests="6/minute", rate_limit_key_requests="2/minute",
        rate_limit_address_imports="1/hour",
    )  # fmt: skip
    with TestClient(create_app(settings)) as client:
        report = {"timestamp": int(datetime.now(UTC).timestamp() * 1000) - 60_000,
                  "position": {"latitude": 12.6667, "longitude": 108.05},
                  "cellTowers": [{"radioType": "lte", "mobileCountryCode": 452,
                                  "mobileNetworkCode": 4, "signalStrength": -100}]}  # fmt: skip
        answers = [client.post("/v2/geosubmit?key=app-key", json={"items": [report]})
                   for _ in range(3)]  # fmt: skip
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert "requests with this key" in answers[2].json()["message"]
        csv = b"observed_at,lat,lon,mcc,mnc,radio,signal_dbm\r\n"
        imports = [client.post("/v1/imports", files={"file": ("r.csv", csv)},
                               data={"device": "p", "format": "canonical-csv"})
                   for _ in range(2)]  # fmt: skip
        assert [a.status_code for a in imports] == [200, 429]
        # A refused request costs nothing: 2 geosubmit + 1 import taken, 3 requests left.
        readings = [client.post("/v1/readings", json={"readings": burst("x", i, 1)})
                    for i in range(4)]  # fmt: skip
        assert [a.status_code for a in readings] == [200, 200, 200, 429]
        assert "requests from this address" in readings[3].json()["message"]
        assert client.get("/v1/stats").json()["rate_limited"] == 3


def test_a_limit_that_is_not_a_limit_is_refused_at_startup():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="is not a rate limit"):
        Settings(rate_limit_device_readings="lots")


@pytest.mark.parametrize("storage", ["memory", "shared file"])
def test_counters_pass_and_refuse_as_the_limits_package_did(monkeypatch, tmp_path, storage):
    """``MemoryCounters`` replaced ``limits``' sliding-window limiter (for its cost per
    token), and ``SharedCounters`` (``serve --workers N``) counts the same way: on a random
    stream of requests, with the clock under the test's control, the same requests pass,
    the same check refuses, with the same wait, as the package's ``test`` of every check,
    ``hit`` of every check, and ``get_window_stats`` did, whichever storage holds the
    counts."""
    import math
    import random
    import time

    from limits import parse
    from limits.storage import MemoryStorage
    from limits.strategies import SlidingWindowCounterRateLimiter

    from service.api.ratelimit import MemoryCounters, SharedCounters

    clock = [1_700_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    reference = SlidingWindowCounterRateLimiter(MemoryStorage())
    counters = (
        MemoryCounters() if storage == "memory" else SharedCounters(tmp_path / "limits.sqlite")
    )
    items = [parse("10/minute"), parse("25/hour"), parse("3/second")]
    rng = random.Random(7)
    refusals = 0
    for _ in range(3_000):
        clock[0] += rng.choice([0.0, 0.05, 0.4, 1.3, 7.0, 29.0, 61.0, 900.0])
        checks = [
            (item, ("device", f"t{rng.randrange(3)}"), rng.choice([1, 1, 2, 4, 11]), "what")
            for item in rng.sample(items, rng.randrange(1, 3))
        ]
        expected = None
        for check in checks:
            item, identifiers, cost, _ = check
            if not reference.test(item, *identifiers, cost=cost):
                stats = reference.get_window_stats(item, *identifiers)
                expected = (check, max(1, math.ceil(stats.reset_time - clock[0])))
                break
        else:
            for item, identifiers, cost, _ in checks:
                reference.hit(item, *identifiers, cost=cost)
        assert counters.take(checks, now=clock[0]) == expected
        refusals += expected is not None
    assert 300 < refusals < 2_700  # both answers were exercised


def test_shared_counters_forget_windows_that_no_longer_count(tmp_path):
    """Every invented token leaves a window in the shared file; once a window no longer
    counts (older than the one before the current), the next sweep drops it, so a flood
    of new tokens does not grow the file for good (``MemoryCounters`` sweeps alike)."""
    import sqlite3

    from limits import parse

    from service.api.ratelimit import SharedCounters

    path = tmp_path / "limits.sqlite"
    counters = SharedCounters(path)
    minute, hour = parse("10/minute"), parse("100/hour")
    start = 1_700_000_000.0
    for n in range(50):
        assert counters.take([(minute, ("device", f"t{n}"), 1, "readings")], now=start) is None
    assert counters.take([(hour, ("key", "k"), 1, "requests")], now=start) is None

    def windows() -> int:
        with sqlite3.connect(path) as db:
            return int(db.execute("SELECT count(*) FROM sliding_windows").fetchone()[0])

    assert windows() == 51
    # Two minutes on: the tokens' windows count no more; the key's hour still does.
    assert counters.take([(minute, ("device", "late"), 1, "readings")], now=start + 130) is None
    assert windows() == 2
    # The refusals and the window that still counts are kept: the key is at 1 of 100.
    assert counters.take([(hour, ("key", "k"), 99, "requests")], now=start + 131) is None
    refused = counters.take([(hour, ("key", "k"), 1, "requests")], now=start + 132)
    assert refused is not None and refused[0][1] == ("key", "k")


def test_a_shared_file_of_an_older_shape_is_started_afresh(tmp_path):
    """A counters file kept from a version whose windows had no ``expiry`` column: the
    server counts in a new table rather than failing every request on a missing column."""
    import sqlite3

    from limits import parse

    from service.api.ratelimit import SharedCounters

    path = tmp_path / "limits.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE sliding_windows (key TEXT NOT NULL, period_index INTEGER NOT NULL, "
            "count INTEGER NOT NULL, PRIMARY KEY (key, period_index))"
        )
        db.execute("INSERT INTO sliding_windows VALUES ('old', 1, 5)")
    counters = SharedCounters(path)
    check = (parse("2/minute"), ("device", "t"), 2, "readings")
    assert counters.take([check], now=1_700_000_000.0) is None
    assert counters.take([check], now=1_700_000_001.0) is not None
