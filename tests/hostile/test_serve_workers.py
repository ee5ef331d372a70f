"""`deadzone serve --workers N` really runs N worker processes, and one background
aggregator among them (a real server on 127.0.0.1)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select

from service.store.models import AggregationRun
from tests.conftest import TEST_SECRET
from tests.coverage_helpers import CENTRE, reading_in
from tests.hostile.inputs import free_port

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(8160, 8170)  # the range this test may listen on


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_serve_with_two_workers_runs_two_and_aggregates_once_per_round(tmp_path):
    """On SQLite only: starting two workers is slow on a loaded machine, and the leader
    lock of each database is tested in test_one_aggregation without a server."""
    database_url = f"sqlite:///{tmp_path / 'serve.sqlite'}"
    port = free_port(PORTS)
    env = {**os.environ, "DEADZONE_DEVICE_SECRET": TEST_SECRET,
           "DEADZONE_AGGREGATE_INTERVAL_S": "0.3",
           "DEADZONE_SNAPSHOT_AFTER_AGGREGATION": "false",
           "DEADZONE_RATE_LIMIT_DEVICE_READINGS": "20/hour"}  # fmt: skip
    # serve refuses an absent database (issue 18): create it as the README says.
    subprocess.run(
        [sys.executable, "-m", "service.cli", "db", "upgrade", "--database-url", database_url],
        env=env, cwd=ROOT, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--workers", "2", "--port", str(port),
         "--database-url", database_url],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            server.kill()
            raise AssertionError(f"the server did not start: {server.communicate()[0][-2000:]}")
        # uvicorn's supervisor, then its workers (multiprocessing may add a tracker).
        workers = [pid for pid in children_of(server.pid)
                   if "multiprocessing.resource_tracker" not in
                   Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]  # fmt: skip
        assert len(workers) == 2
        # Three phones, each its own request (new tokens of one request count as one phone,
        # docs/forged-evidence.md); the first reports twice: four readings make it dead.
        for i in range(4):
            items = [reading_in(CENTRE, device=f"d{i % 3}", no_service=True, days_ago=1 + i)]
            answer = httpx.post(f"{base}/v1/readings", json={"readings": items}, timeout=10)
            assert answer.json()["accepted"] == 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if httpx.get(f"{base}/v1/summary", timeout=5).json()["cells"]["dead"] == 1:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the background aggregation never ran")
        engine = create_engine(database_url)

        def runs() -> int:
            with engine.connect() as connection:
                return int(connection.scalar(select(func.count()).select_from(AggregationRun)))

        settled = runs()
        time.sleep(1.5)  # five more rounds in each worker, nothing new arrived
        # One aggregator; the other worker stood by (and nobody ran twice over nothing).
        assert 1 <= runs() == settled <= 3
        engine.dispose()
        # The workers share their rate-limit counters: one token's limit (20 readings an
        # hour here) holds for the server, whichever worker takes each request.
        accepted = refused = 0
        for _ in range(8):
            items = [reading_in(CENTRE, device="flood", dbm=-90.0) for _ in range(5)]
            answer = httpx.post(f"{base}/v1/readings", json={"readings": items}, timeout=10)
            if answer.status_code == 429:
                refused += 1
            else:
                accepted += answer.json()["accepted"]
        assert (accepted, refused) == (20, 4)
        assert httpx.get(f"{base}/v1/stats", timeout=5).json()["rate_limited"] == 4
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
