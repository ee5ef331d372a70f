"""The province demo's upload: CPU seconds per 200,000 readings through ``POST /v1/readings``.

    .venv/bin/python -m benchmarks.upload [--batches 100] [--backends sqlite,postgis]

The first ``--batches`` batches of 2,000 readings of ``deadzone demo --size province``
(seed 1: duplicates and bad readings included) are posted as the demo posts them (its own
application in process, each batch judged at its replayed upload time), on a fresh
scratch database per backend (``benchmarks.scratch``). Bodies are serialised before the
clock starts; the figure is the process's CPU time (``time.process_time``: every thread,
SQLite included; PostgreSQL's own server is not counted), printed with the load average,
because the machine is shared (docs/scale.md).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
import orjson

from benchmarks import first_paragraph
from benchmarks.scratch import scratch_database
from service.api.app import create_app
from service.settings import Settings
from simulation import generate_scenario
from simulation.demo import POST_BATCH, ReplayClock, ReplayIngestor

PER = 200_000


async def post_batches(
    settings: Settings, start: datetime, bodies: list[tuple[datetime, bytes]]
) -> tuple[float, dict[str, int]]:
    """CPU seconds spent posting ``bodies`` and the answers' tallies."""
    app = create_app(settings)
    clock = ReplayClock(start)
    app.state.ingestor = ReplayIngestor(settings, app.state.ingestor.hasher, clock)
    tally = {"accepted": 0, "duplicates": 0, "rejected_readings": 0}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as client,
    ):
        cpu = time.process_time()
        for uploaded_at, body in bodies:
            clock.now = uploaded_at
            response = await client.post(
                "/v1/readings", content=body, headers={"content-type": "application/json"}
            )
            response.raise_for_status()
            answer = response.json()
            for name in tally:
                tally[name] += answer[name]
        return time.process_time() - cpu, tally


def main() -> None:
    parser = argparse.ArgumentParser(description=first_paragraph(__doc__))
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--backends", default="sqlite,postgis")
    args = parser.parse_args()
    scenario = generate_scenario("province", seed=1)
    bodies = []
    for batch in scenario.reading_batches(POST_BATCH):
        if batch.number >= args.batches:
            break
        bodies.append((batch.uploaded_at, orjson.dumps({"readings": batch.readings})))
    readings = sum(len(orjson.loads(body)["readings"]) for _, body in bodies)
    print(f"{'backend':8} {'readings':>9} {'CPU s':>7} {'per 200,000':>12} {'load':>5}  tallies")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            with scratch_database(backend, Path(tmp)) as url:
                settings = Settings(  # type: ignore[call-arg]
                    database_url=url, environment="development", aggregate_interval_s=0
                )
                cpu, tally = asyncio.run(post_batches(settings, scenario.start, bodies))
            load = Path("/proc/loadavg").read_text().split()[0]
            print(f"{backend:8} {readings:9,d} {cpu:7.2f} {cpu * PER / readings:12.2f} "
                  f"{load:>5}  {tally}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
