"""One aggregation at a time on each database, whatever starts it: two runs at once must
count every reading once, the background job must stand aside, and the run's table lock
must let phones' uploads through."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import h3
import pytest
from sqlalchemy import func, select, text, update

from service.engine import aggregation
from service.errors import Busy
from service.jobs import AggregationWorker, engine_of, run_aggregation
from service.settings import Settings
from service.store.locks import AGGREGATION, JobLock
from service.store.models import CellStat, Device, ProvisionalStat, ReadingRow
from tests.conftest import TEST_SECRET
from tests.coverage_helpers import CENTRE, ingest, reading_in

ROOT = Path(__file__).resolve().parents[2]


def spread_readings(count: int) -> list[dict]:
    """``count`` readings over 19 cells and 40 phones, signal and no-service mixed."""
    cells = sorted(h3.grid_disk(CENTRE, 2))
    return [
        reading_in(cells[i % len(cells)], device=f"p{i % 40}", days_ago=1 + i % 5,
                   no_service=i % 3 == 0, dbm=-80.0 - i % 30)
        for i in range(count)
    ]  # fmt: skip


def readings_per_cell(sessions) -> dict[int, int]:
    with sessions() as s:
        stats = s.execute(
            select(CellStat.h3_cell, func.sum(CellStat.readings))
            .where(CellStat.resolution == 9)
            .group_by(CellStat.h3_cell)
        )
        return {int(cell): int(n) for cell, n in stats}


def raw_per_cell(sessions) -> dict[int, int]:
    with sessions() as s:
        rows = s.execute(select(ReadingRow.h3_cell, func.count()).group_by(ReadingRow.h3_cell))
        return {int(cell): int(n) for cell, n in rows}


def test_two_aggregate_commands_started_together_count_each_reading_once(
    client, settings, sessions
):
    posted = spread_readings(3_000)
    for start in range(0, len(posted), 1_000):
        answer = client.post("/v1/readings", json={"readings": posted[start : start + 1_000]})
        assert answer.json()["accepted"] == 1_000
    env = {**os.environ, "DEADZONE_DATABASE_URL": settings.database_url,
           "DEADZONE_DEVICE_SECRET": TEST_SECRET}  # fmt: skip
    command = [sys.executable, "-m", "service.cli", "aggregate"]
    runs = [subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(2)]  # fmt: skip
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    # One run merged everything; the other waited for it and found nothing left.
    merged = sorted(int(out.split("merged ")[1].split()[0].replace(",", "")) for out in outputs)
    assert merged[0] == 0 and merged[1] > 0
    assert readings_per_cell(sessions) == raw_per_cell(sessions)
    cells = client.get("/v1/cells", params={"bbox": "108.0,12.6,108.1,12.75"}).json()
    total = sum(
        f["properties"]["readings"] for f in cells["features"] if f["properties"]["readings"]
    )
    assert total == len(posted)


def test_runs_in_threads_of_one_process_exclude_each_other(settings, sessions):
    ingest(sessions, settings, spread_readings(600))
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            run_aggregation(sessions, settings)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    assert readings_per_cell(sessions) == raw_per_cell(sessions)


def test_a_run_that_cannot_get_the_lock_in_time_is_busy(settings, sessions):
    holder = JobLock(engine_of(sessions), AGGREGATION)
    assert holder.acquire(wait_s=0)
    try:
        started = time.monotonic()
        with pytest.raises(Busy, match="another aggregation is running"):
            run_aggregation(sessions, settings, wait_s=0.5)
        assert time.monotonic() - started >= 0.5
    finally:
        holder.release()
    run_aggregation(sessions, settings, wait_s=0)  # free again


def test_one_background_aggregator_among_the_server_workers(db_url, engine, sessions):
    settings = Settings(database_url=db_url, device_secret=TEST_SECRET, aggregate_interval_s=0.05)
    workers = [AggregationWorker(sessions, settings) for _ in range(3)]
    for worker in workers:
        worker.start()
    try:
        deadline = time.monotonic() + 60  # a leader starts its aggregator process
        while time.monotonic() < deadline and not any(w.is_leader for w in workers):
            time.sleep(0.05)
        time.sleep(0.3)  # several rounds for the others to try
        leaders = [w for w in workers if w.is_leader]
        assert len(leaders) == 1
        leaders[0].stop()  # its process ends: another takes over
        rest = [w for w in workers if w is not leaders[0]]
        deadline = time.monotonic() + 60  # a leader starts its aggregator process
        while time.monotonic() < deadline and not any(w.is_leader for w in rest):
            time.sleep(0.05)
        assert sum(w.is_leader for w in rest) == 1
    finally:
        for worker in workers:
            worker.stop()


def test_aggregation_waiting_for_a_long_import_does_not_hold_up_phones(
    postgis_only_settings, sessions
):
    """PostgreSQL queues lock requests: an aggregation waiting for its table lock behind a
    long import would make every phone's insert wait too. It gives up after a second and
    retries, so a phone's insert gets through while the import is still open."""
    settings = postgis_only_settings
    ingest(sessions, settings, spread_readings(30))
    engine = engine_of(sessions)
    importer = engine.connect()
    importer.execute(text("INSERT INTO readings (device_hash, reading_id, observed_at, "
                          "received_at, lat, lon, mcc, mnc, radio, signal_dbm, no_service, "
                          "source, h3_cell) SELECT device_hash, 'long-import', observed_at, "
                          "received_at, lat, lon, mcc, mnc, radio, signal_dbm, no_service, "
                          "source, h3_cell FROM readings LIMIT 1"))  # fmt: skip
    aggregation = threading.Thread(target=run_aggregation, args=(sessions, settings))
    aggregation.start()
    time.sleep(1.5)  # the aggregation is now queued for its lock (or retrying)
    phone_done = threading.Event()

    def phone() -> None:
        ingest(sessions, settings, [reading_in(CENTRE, device="phone", dbm=-90.0)])
        phone_done.set()

    threading.Thread(target=phone).start()
    try:
        assert phone_done.wait(timeout=15), "the phone waited behind the aggregation"
        assert aggregation.is_alive()  # still waiting for the import to finish
    finally:
        importer.commit()
        importer.close()
        aggregation.join(timeout=120)
    assert readings_per_cell(sessions) == raw_per_cell(sessions)


def test_a_phone_whose_device_the_merge_trusts_is_not_held_up(
    postgis_only_settings, sessions, monkeypatch
):
    """A phone's upload updates its device's row (its upload days), and so does the merge
    that trusts the device; on PostgreSQL the upload waits for whichever transaction
    updated the row first to commit. The merge flags the device last, so the upload does
    not wait for the merge of the readings (up to 500,000 in one transaction)."""
    settings = postgis_only_settings
    ingest(sessions, settings, [reading_in(CENTRE, device="regular", dbm=-90.0)])
    run_aggregation(sessions, settings)
    with sessions.begin() as session:  # its history, as after that many days of uploads
        session.execute(update(Device).values(upload_days=settings.trust_upload_days))
    ingest(sessions, settings, [reading_in(CENTRE, device="regular", dbm=-91.0)])
    merge = aggregation.merge_new_readings
    held_up: list[bool] = []
    uploads: list[threading.Thread] = []

    def merge_while_the_phone_uploads(session, settings, *, up_to):
        merged = merge(session, settings, up_to=up_to)
        items = [reading_in(CENTRE, device="regular", dbm=-92.0)]
        uploads.append(threading.Thread(target=ingest, args=(sessions, settings, items)))
        uploads[-1].start()
        uploads[-1].join(timeout=10)  # the merge's transaction is still open
        held_up.append(uploads[-1].is_alive())
        return merged

    monkeypatch.setattr(aggregation, "merge_new_readings", merge_while_the_phone_uploads)
    run_aggregation(sessions, settings)
    for upload in uploads:
        upload.join(timeout=60)
    assert held_up == [False]
    with sessions() as session:
        assert session.scalars(select(Device.trusted)).all() == [True]
        assert session.scalar(select(func.count()).select_from(ProvisionalStat)) == 0
        assert session.scalar(select(func.count()).select_from(ReadingRow)) == 3


@pytest.fixture
def postgis_only_settings(settings: Settings) -> Settings:
    if not settings.is_postgres:
        pytest.skip("SQLite has one writer at a time: there is no lock queue to jump")
    return settings
