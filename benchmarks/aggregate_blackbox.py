"""Issue 12's bar, from outside: readings posted through the API on 127.0.0.1, then
``deadzone aggregate`` timed after the load and again after 1,000 more readings.

    .venv/bin/python -m benchmarks.aggregate_blackbox [--readings 300000]
        [--backends sqlite,postgis] [--port 8102]

A real server (``deadzone serve``, background aggregation off) takes the readings in
batches of 1,000 (``benchmarks.ingest``'s province: 500 phones over 30 days); the command
runs as a user runs it, in its own process (its start-up is counted: it is part of what a
user waits for). Printed: the full aggregate after the load, the aggregate after 1,000 more
readings (the incremental path), their ratio (goal <= 0.05), ``deadzone aggregate --full``
on the same data for reference, and the polars group-by of the same statistics over the
same readings, read back from the database into memory (best of three): the full
aggregate's rate over the polars rate (goal >= 0.05). The first aggregate also refreshes
the estimated field; the one after 1,000 readings leaves it (``estimate_interval_s``), as
the server's would. The machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import polars as pl

from benchmarks.ingest import SECRET, make_batches
from benchmarks.scratch import scratch_database
from service.engine import columnar
from service.settings import Settings
from service.store.database import make_engine


def post_all(base: str, batches: list[list[dict[str, object]]]) -> float:
    """Post the batches with four clients; return readings per second."""
    bodies = [orjson.dumps({"readings": b}) for b in batches]
    clients = [httpx.Client(base_url=base, timeout=120) for _ in range(4)]

    def send(i: int) -> int:
        r = clients[i % 4].post(
            "/v1/readings", content=bodies[i], headers={"Content-Type": "application/json"}
        )
        r.raise_for_status()
        return int(r.json()["accepted"])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        accepted = sum(pool.map(send, range(len(bodies))))
    elapsed = time.perf_counter() - t0
    for client in clients:
        client.close()
    assert accepted == sum(len(b) for b in batches), accepted
    return accepted / elapsed


def deadzone(env: dict[str, str], *args: str) -> float:
    """Run ``deadzone aggregate ARGS`` in its own process; return the wall time, s."""
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "service.cli", "aggregate", *args],
        env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    return time.perf_counter() - t0


def polars_seconds(url: str) -> float:
    """Best of three polars group-bys of the statistics over every stored reading, read
    into memory first (the reading is not timed)."""
    settings = Settings(database_url=url, device_secret=SECRET, aggregate_interval_s=0)
    engine = make_engine(settings)
    with engine.connect() as conn:
        frame = pl.concat(list(columnar.reading_chunks(conn, where="TRUE")))
        rounding = columnar.rounding_of(conn)
    engine.dispose()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        columnar.partial_of(frame, settings, rounding=rounding)
        best = min(best, time.perf_counter() - t0)
    return best


def run(backend: str, n: int, port: int, workdir: Path) -> None:
    with scratch_database(backend, workdir) as url:
        env = {
            **os.environ, "DEADZONE_DATABASE_URL": url, "DEADZONE_DEVICE_SECRET": SECRET,
            "DEADZONE_ENVIRONMENT": "development", "DEADZONE_AGGREGATE_INTERVAL_S": "0",
        }  # fmt: skip
        server = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            else:
                raise RuntimeError("server did not start")
            rate = post_all(base, make_batches(n, 1000, seed=11))
            t_polars = polars_seconds(url)
            t_full = deadzone(env)
            post_all(base, make_batches(1000, 1000, seed=12))
            t_more = deadzone(env)
            t_reference = deadzone(env, "--full")
        finally:
            server.terminate()
            server.wait(30)
        print(f"[{backend}] {n:,} readings posted at {rate:,.0f}/s through the API")
        print(f"  deadzone aggregate after the load:        {t_full:7.2f} s")
        print(f"  deadzone aggregate after 1,000 more:      {t_more:7.2f} s")
        print(f"  ratio: {t_more / t_full:.4f} (goal <= 0.05)")
        print(f"  deadzone aggregate --full, same data:     {t_reference:7.2f} s")
        polars_rate, full_rate = n / t_polars, n / t_full
        print(f"  polars group-by, same statistics:         {t_polars:7.2f} s = "
              f"{polars_rate:,.0f} readings/s")  # fmt: skip
        print(f"  full aggregate: {full_rate:,.0f} readings/s, "
              f"ratio to polars {full_rate / polars_rate:.4f} (goal >= 0.05)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=300_000)
    parser.add_argument("--backends", default="sqlite,postgis")
    parser.add_argument("--port", type=int, default=8102)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            run(backend, args.readings, args.port, Path(tmp))


if __name__ == "__main__":
    main()
