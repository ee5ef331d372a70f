"""Ingest throughput: readings/s through the HTTP API and through the bulk path.

    .venv/bin/python -m benchmarks.ingest [--readings 200000] [--backends sqlite,postgis]

HTTP: one uvicorn worker on 127.0.0.1, batches of 1000 readings, bodies serialised in
advance, 4 client connections to keep the worker busy. Bulk: ``Ingestor.ingest`` on
batches of 5000 in one process, one transaction per batch. PostGIS uses a scratch
database on the local server (DEADZONE_TEST_POSTGRES_URL's server), dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from benchmarks import first_paragraph
from benchmarks.scratch import scratch_database
from benchmarks.served import post_all, start_server
from service.ingest.readings import Ingestor
from service.settings import Settings
from service.store.database import make_engine, make_sessionmaker, session_scope
from service.store.models import ReadingRow

SECRET = "benchmark-secret-0123456789abcdef"


def make_batches(n: int, batch: int, seed: int) -> list[list[dict[str, object]]]:
    """Realistic readings around Buon Ma Thuot from 500 phones over 30 days."""
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    lat = 12.2 + rng.random(n) * 1.0
    lon = 107.6 + rng.random(n) * 1.2
    dbm = np.clip(rng.normal(-100, 12, n), -140, -44).round(1)
    age_s = rng.integers(60, 30 * 86400, n)
    devices = rng.integers(0, 500, n)
    mnc = rng.choice([1, 2, 4], n)
    readings = [
        {
            "id": f"{seed}-{i}",
            "device": f"bench-{devices[i]}",
            "observed_at": (now - timedelta(seconds=int(age_s[i]))).isoformat(),
            "lat": float(lat[i]),
            "lon": float(lon[i]),
            "accuracy_m": 10.0,
            "mcc": 452,
            "mnc": int(mnc[i]),
            "radio": "lte",
            "signal_dbm": float(dbm[i]),
        }
        for i in range(n)
    ]
    return [readings[i : i + batch] for i in range(0, n, batch)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_http(url: str, n: int) -> float:
    batches = make_batches(n, 1000, seed=1)
    port = free_port()
    env = {**os.environ, "DEADZONE_DATABASE_URL": url, "DEADZONE_DEVICE_SECRET": SECRET}
    server = start_server(env, port)
    try:
        return post_all(f"http://127.0.0.1:{port}", batches)
    finally:
        server.terminate()
        server.wait(10)


def bench_bulk(url: str, n: int) -> float:
    settings = Settings(database_url=url, device_secret=SECRET)
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    ingestor = Ingestor.from_settings(settings)
    batches = make_batches(n, 5000, seed=2)
    t0 = time.perf_counter()
    for batch in batches:
        with session_scope(sessions) as session:
            ingestor.ingest(session, batch, default_source="bench")
    elapsed = time.perf_counter() - t0
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(ReadingRow)) >= n
    engine.dispose()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=first_paragraph(__doc__))
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--backends", default="sqlite,postgis")
    args = parser.parse_args()
    print(f"{'backend':8} {'path':6} {'readings':>9} {'readings/s':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            for path, fn in (("http", bench_http), ("bulk", bench_bulk)):
                with scratch_database(backend, Path(tmp)) as url:
                    rate = fn(url, args.readings)
                print(f"{backend:8} {path:6} {args.readings:9d} {rate:11,.0f}", flush=True)


if __name__ == "__main__":
    main()
