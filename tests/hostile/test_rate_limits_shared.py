"""Rate limits shared by the worker processes of one server (``rate_limit_shared_path``,
set by ``deadzone serve --workers N``): the limit holds for the server as a whole, not once
per process. Two apps on one counters file stand for two workers: each has its own
connection to the file, as each process has."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import Settings
from tests.conftest import TEST_SECRET
from tests.hostile.test_rate_limits import burst


def test_two_workers_share_one_device_limit(db_url, tmp_path):
    settings = Settings(
        database_url=db_url, device_secret=TEST_SECRET, aggregate_interval_s=0,
        rate_limit_device_readings="10/hour", rate_limit_shared_path=tmp_path / "limits.sqlite",
    )  # fmt: skip
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        first = one.post("/v1/readings", json={"readings": burst("phone", 0, 6)})
        second = two.post("/v1/readings", json={"readings": burst("phone", 6, 4)})
        assert (first.json()["accepted"], second.json()["accepted"]) == (6, 4)
        third = one.post("/v1/readings", json={"readings": burst("phone", 10, 1)})
        assert third.status_code == 429, third.text
        assert int(third.headers["Retry-After"]) >= 1
        other = two.post("/v1/readings", json={"readings": burst("neighbour", 0, 3)})
        assert other.json()["accepted"] == 3  # the limit is the token's, not everyone's
        # Each worker reports the refusals of all of them.
        assert one.get("/v1/stats").json()["rate_limited"] == 1
        assert two.get("/v1/stats").json()["rate_limited"] == 1
