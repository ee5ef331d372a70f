"""The server keeps the grid up to date by itself, and idles when nothing arrived."""

from __future__ import annotations

import multiprocessing
import os
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from domain.localtime import vietnam_date
from service.api.app import create_app
from service.settings import Settings
from service.store.models import AggregationRun
from tests.conftest import TEST_SECRET
from tests.coverage_helpers import CENTRE, reading_in


def post_each_phone(client: TestClient, items: list[dict[str, Any]]) -> None:
    """Each reading in a request of its own, as phones send them: new device tokens of one
    request count as one phone (docs/forged-evidence.md)."""
    for item in items:
        assert client.post("/v1/readings", json={"readings": [item]}).json()["accepted"] == 1


def wait_for(condition, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_background_aggregation_follows_uploads_and_then_idles(db_url, sessions):
    settings = Settings(database_url=db_url, device_secret=TEST_SECRET, aggregate_interval_s=0.2)

    def runs() -> int:
        with sessions() as s:
            return int(s.scalar(select(func.count()).select_from(AggregationRun)))

    with TestClient(create_app(settings)) as client:
        post_each_phone(client, [reading_in(CENTRE, device=f"d{i % 3}", no_service=True,
                                            days_ago=1 + i) for i in range(4)])  # fmt: skip
        assert wait_for(lambda: client.get("/v1/summary").json()["cells"]["dead"] == 1)
        settled = runs()
        time.sleep(1.0)  # five more intervals with nothing new
        assert runs() == settled


def test_background_rounds_run_in_a_process_of_their_own(db_url, sessions):
    """The aggregation's Python and pandas work held the server's interpreter lock away
    from the threads taking phones' uploads (issue 17): it runs in another process, which
    ends with the server."""
    settings = Settings(database_url=db_url, device_secret=TEST_SECRET, aggregate_interval_s=0.2)

    def aggregators() -> list[multiprocessing.process.BaseProcess]:
        return [p for p in multiprocessing.active_children() if p.name == "deadzone-aggregator"]

    with TestClient(create_app(settings)) as client:
        post_each_phone(client, [reading_in(CENTRE, device="d0", dbm=-90.0)])
        assert wait_for(lambda: runs_of(sessions) == 1)
        [aggregator] = aggregators()
        assert aggregator.pid != os.getpid() and aggregator.is_alive()
    assert aggregators() == []


def test_background_aggregation_keeps_one_progress_snapshot_per_day(db_url, sessions, tmp_path):
    from service.store.models import ProgressSnapshot
    from tests.areas.conftest import import_areas, village, write_layer

    settings = Settings(database_url=db_url, device_secret=TEST_SECRET, aggregate_interval_s=0.2)
    villages = write_layer(tmp_path / "v.geojson", [village("V1", "Buôn Một", CENTRE, 120)])
    import_areas(sessions, settings, villages)

    def snapshots() -> list[tuple[str, float, int]]:
        with sessions() as s:
            rows = s.execute(
                select(ProgressSnapshot.day, ProgressSnapshot.people_dead,
                       ProgressSnapshot.villages_trang_song)
                .where(ProgressSnapshot.area == "province")
            )  # fmt: skip
            return sorted((str(day), dead, n) for day, dead, n in rows)

    with TestClient(create_app(settings)) as client:
        post_each_phone(client, [reading_in(CENTRE, device=f"d{i % 2}", no_service=True,
                                            days_ago=1 + i) for i in range(3)])  # fmt: skip
        assert wait_for(lambda: len(snapshots()) == 1)
        # Two phones are not enough for 'dead': the village is unknown, nobody dead yet.
        assert snapshots()[0][1:] == (0.0, 0)
        # A third phone makes the centre dead; the day's snapshot is replaced, not added.
        client.post("/v1/readings", json={"readings": [reading_in(CENTRE, device="d3",
                                                                  no_service=True)]})  # fmt: skip
        assert wait_for(lambda: snapshots() and snapshots()[0][2] == 1)
    rows = snapshots()
    assert len(rows) == 1
    assert rows[0][1] > 0  # the village's people in its dead centre cell


def test_a_day_without_uploads_still_gets_its_snapshot(db_url, sessions, tmp_path):
    from datetime import timedelta

    from service.areas.progress import take_snapshot
    from service.jobs import run_aggregation
    from service.store.database import session_scope
    from service.store.models import ProgressSnapshot
    from service.timestamps import utcnow
    from tests.areas.conftest import import_areas, village, write_layer

    settings = Settings(database_url=db_url, device_secret=TEST_SECRET, aggregate_interval_s=0)
    villages = write_layer(tmp_path / "v.geojson", [village("V1", "Buôn Một", CENTRE, 120)])
    import_areas(sessions, settings, villages)
    with TestClient(create_app(settings)) as client:
        post_each_phone(client, [reading_in(CENTRE, device=f"d{i % 3}", no_service=True,
                                            days_ago=1 + i) for i in range(4)])  # fmt: skip
    run_aggregation(sessions, settings)
    with session_scope(sessions) as session:
        take_snapshot(session, settings, now=utcnow() - timedelta(days=1))

    def days() -> list[str]:
        with sessions() as s:
            rows = s.scalars(
                select(ProgressSnapshot.day).where(ProgressSnapshot.area == "province")
            )
            return sorted(str(day) for day in rows)

    before = runs_of(sessions)
    worker_settings = settings.model_copy(update={"aggregate_interval_s": 0.2})
    with TestClient(create_app(worker_settings)):
        assert wait_for(lambda: len(days()) == 2)
        time.sleep(0.6)  # more rounds: still one snapshot today, and no new aggregation
    assert days()[-1] == vietnam_date(utcnow()).isoformat() and len(days()) == 2
    assert runs_of(sessions) == before


def runs_of(sessions) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(AggregationRun)))


def test_a_stop_while_the_aggregator_process_starts_closes_it_once_started(monkeypatch):
    """The server's stop may close the aggregator process while the worker's thread is
    starting it: the close waits for the start, then ends the process (a close between
    the process made and started met an unstarted one: CI, 30 November 2026)."""
    import threading

    from service import jobs

    inside_start, go_on = threading.Event(), threading.Event()
    ended: list[str] = []

    class FakeProcess:
        started = False

        def __init__(self, **_: Any) -> None:
            pass

        def start(self) -> None:
            inside_start.set()
            assert go_on.wait(10)
            self.started = True

        def terminate(self) -> None:
            if not self.started:  # as multiprocessing's: no process to signal yet
                raise AttributeError("'NoneType' object has no attribute 'terminate'")
            ended.append("terminated")

        def join(self, timeout: float | None = None) -> None:
            pass

    class Context:
        Process = FakeProcess

        @staticmethod
        def Pipe() -> tuple[Any, Any]:  # noqa: N802 (multiprocessing's name)
            return multiprocessing.Pipe()

    monkeypatch.setattr(jobs.multiprocessing, "get_context", lambda _: Context())
    aggregator = jobs._AggregatorProcess(Settings(device_secret=TEST_SECRET))
    errors: list[BaseException] = []

    def close() -> None:
        try:
            aggregator.close()
        except BaseException as error:  # the test reports it below
            errors.append(error)

    starting = threading.Thread(target=aggregator.start)
    starting.start()
    assert inside_start.wait(10)
    closing = threading.Thread(target=close)
    closing.start()
    time.sleep(0.2)  # the close is waiting for the start
    go_on.set()
    starting.join(10)
    closing.join(10)
    assert errors == [] and ended == ["terminated"]
