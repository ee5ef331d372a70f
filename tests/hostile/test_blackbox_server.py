"""Issue 17's bars black-box: a real production `deadzone serve` (no keys, one worker, on
127.0.0.1) on each database, measured from outside: the time of the answer, and the
server process's resident memory from /proc."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import h3
import httpx
import pytest

from tests.conftest import make_reading
from tests.coverage_helpers import CENTRE, reading_in
from tests.hostile.inputs import free_port, geojson_nested

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(8150, 8160)  # the range this module may listen on
BBOX = {"bbox": "108.0,12.6,108.1,12.75"}
CELL_FIGURES = ("readings", "devices", "days", "no_service_share", "signal_dbm_mean", "last_seen")


def memory_kib(pid: int, field: str) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of a process, KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    assert found is not None, status
    return int(found.group(1))


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used (every thread), seconds: a bound on
    the work a request made, which the machine's load does not stretch as it does wall
    time."""
    # /proc/PID/stat: the command may hold spaces, so count the fields after its ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """A production server on ``db_url`` (migrated by the fixture) and its process."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.env = {**os.environ, "DEADZONE_DATABASE_URL": db_url,
                    "DEADZONE_ENVIRONMENT": "production",
                    "DEADZONE_DEVICE_SECRET": secrets.token_hex(24),
                    "DEADZONE_AGGREGATE_INTERVAL_S": "0"}  # fmt: skip
        self.env.pop("DEADZONE_API_KEYS", None)
        self.base = f"http://127.0.0.1:{free_port(PORTS)}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", self.base.rsplit(":", 1)[1]],
            env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"the server did not start: {self.process.communicate()[0][-2000:]}")

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.post(f"{self.base}{path}", timeout=60, **kwargs)  # type: ignore[arg-type]

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(f"{self.base}{path}", timeout=60, **kwargs)  # type: ignore[arg-type]

    def aggregate(self) -> None:
        subprocess.run([sys.executable, "-m", "service.cli", "aggregate"], env=self.env,
                       cwd=ROOT, check=True, capture_output=True, timeout=300)  # fmt: skip

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(30)


@pytest.fixture
def server(db_url: str) -> Iterator[Server]:
    running = Server(db_url)
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.slow
def test_geojson_nested_100000_deep_is_refused_fast_and_small(server: Server) -> None:
    content = geojson_nested(100_000)
    assert 190_000 < len(content) < 210_000  # the 200 KB file of the report
    server.get("/v1/stats")  # the routes' first use loaded what they import
    resident_before = memory_kib(server.process.pid, "VmRSS")
    started = cpu_seconds(server.process.pid)
    answer = server.post("/v1/imports", files={"file": ("deep.geojson", content)},
                         data={"device": "p"})  # fmt: skip
    took = cpu_seconds(server.process.pid) - started
    # The peak since the server started bounds what the request took, whatever it freed.
    grown_kib = memory_kib(server.process.pid, "VmHWM") - resident_before
    assert 400 <= answer.status_code < 500, answer.text
    assert "deeper than 32 levels" in answer.json()["message"]
    assert took < 2.0, f"refused after {took:.2f} s of the server's CPU"
    # The report's server grew to 23.5 GB on this file.
    assert grown_kib < 100 * 1024, f"peak resident memory grew by {grown_kib / 1024:.0f} MB"
    assert server.get("/v1/stats").json()["accepted"] == 0


@pytest.mark.slow
def test_huge_cell_id_and_nul_id_store_the_good_readings_and_name_both(server: Server) -> None:
    batch = [make_reading(id="good-1"), make_reading(id="huge-cell", cell_id=2**63 + 1),
             make_reading(id="nul\x00id"), make_reading(id="good-2")]  # fmt: skip
    answer = server.post("/v1/readings", json={"readings": batch})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accepted"], body["rejected_readings"]) == (2, 2)
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [(1, "cell_id"), (2, "id")]
    stats = server.get("/v1/stats").json()
    assert (stats["accepted"], stats["rejected"]) == (2, 2)
    # The same batch again: the good readings are duplicates, nothing is lost or doubled.
    again = server.post("/v1/readings", json={"readings": batch}).json()
    assert (again["accepted"], again["duplicates"], again["rejected_readings"]) == (0, 2, 2)


@pytest.mark.slow
def test_production_without_a_key_shows_no_cell_figures_from_fewer_than_three_phones(
    server: Server,
) -> None:
    """Cells behind 1, 2, 3 and 5 phones (each phone its own request: new tokens of one
    request count as one), decided by `deadzone aggregate`, read through ``GET /v1/cells``."""
    rings = [CENTRE, *h3.grid_ring(CENTRE, 2)[:1], *h3.grid_ring(CENTRE, 3)[:2]]
    phones = dict(zip(rings, (5, 2, 1, 3), strict=True))
    for cell, count in phones.items():
        for phone in range(count):
            items = [reading_in(cell, device=f"{cell[-5:]}-{phone}", dbm=-85.0, days_ago=1 + day)
                     for day in range(2)]  # fmt: skip
            assert server.post("/v1/readings", json={"readings": items}).json()["accepted"] == 2
    server.aggregate()

    cells = {f["properties"]["h3"]: f["properties"]
             for f in server.get("/v1/cells", params=BBOX).json()["features"]}  # fmt: skip
    assert set(cells) >= set(phones)
    for cell, props in cells.items():
        if props["devices"] is not None:
            assert props["devices"] >= 3, (cell, props)
        else:
            assert all(props[name] is None for name in CELL_FIGURES), (cell, props)
    shown = {cell: cells[cell]["devices"] for cell in phones}
    assert shown == {rings[0]: 5, rings[1]: None, rings[2]: None, rings[3]: 3}
