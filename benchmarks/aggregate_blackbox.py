"""Issue 12's bar, from outside: readings posted through the API on 127.0.0.1, then
``deadzone aggregate`` timed after the load and again after 1,000 more readings.

    .venv/bin/python -m benchmarks.aggregate_blackbox [--readings 300000]
        [--backends sqlite,postgis] [--port N] [--trees main=/work/main,change=.]
        [--no-reference]

A real server (``deadzone serve``, background aggregation off) takes the readings in
batches of 1,000 (``benchmarks.ingest``'s province: 500 phones over 30 days); the command
runs as a user runs it, in its own process (its start-up is counted: it is part of what a
user waits for). Printed: the full aggregate after the load, the aggregate after 1,000 more
readings (the incremental path), their ratio (goal <= 0.05), ``deadzone aggregate --full``
on the same data for reference (unless ``--no-reference``), and the polars group-by of the
same statistics over the same readings, read back from the database into memory (best of
three): the full aggregate's rate over the polars rate (goal >= 0.05). The first aggregate
also refreshes the estimated field; the one after 1,000 readings leaves it
(``estimate_interval_s``), as the server's would. The machine is shared and noisy, so the
load average (1 minute) is printed beside each time. With ``--trees``, the readings are
posted once (by this tree's server) and each tree's server and command take it from there
on a copy of that database, one tree after the other: main against a change on the same
data in one run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from benchmarks import first_paragraph
from benchmarks.ingest import SECRET, free_port, make_batches
from benchmarks.scratch import copy_of, scratch_database
from benchmarks.served import post_all, start_server, with_tree
from service.engine import columnar
from service.settings import Settings
from service.store.database import make_engine


def deadzone(env: dict[str, str], *args: str, tree: Path | None = None) -> tuple[float, float]:
    """Run ``deadzone aggregate ARGS`` in its own process (from the source tree ``tree``,
    default this one); return its wall time, s, and the load average (1 minute) at its
    end."""
    if tree is not None:
        env = with_tree(env, tree)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "service.cli", "aggregate", *args],
        env=env, cwd=tree, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    return time.perf_counter() - t0, os.getloadavg()[0]


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


def environment(url: str) -> dict[str, str]:
    return {
        **os.environ, "DEADZONE_DATABASE_URL": url, "DEADZONE_DEVICE_SECRET": SECRET,
        "DEADZONE_ENVIRONMENT": "development", "DEADZONE_AGGREGATE_INTERVAL_S": "0",
    }  # fmt: skip


def post(env: dict[str, str], port: int, count: int, seed: int, tree: Path | None) -> float:
    """``count`` readings posted through a server of ``tree`` started for them; returns
    readings per second."""
    server = start_server(env, port, tree=tree)
    try:
        return post_all(f"http://127.0.0.1:{port}", make_batches(count, 1000, seed=seed))
    finally:
        server.terminate()
        server.wait(30)


def measure(
    url: str, tree: Path | None, args: argparse.Namespace
) -> dict[str, tuple[float, float]]:
    """The three aggregates of one tree on the loaded database at ``url``."""
    env = environment(url)
    times = {"full": deadzone(env, tree=tree)}
    post(env, args.port, 1000, 12, tree)
    times["more"] = deadzone(env, tree=tree)
    if args.reference:
        times["reference"] = deadzone(env, "--full", tree=tree)
    return times


def report(
    label: str, n: int, rate: float, t_polars: float, times: dict[str, tuple[float, float]]
) -> None:
    (t_full, load_full), (t_more, load_more) = times["full"], times["more"]
    print(f"[{label}] {n:,} readings posted at {rate:,.0f}/s through the API")
    print(f"  deadzone aggregate after the load:        {t_full:7.2f} s  (load {load_full:.1f})")
    print(f"  deadzone aggregate after 1,000 more:      {t_more:7.2f} s  (load {load_more:.1f})")
    print(f"  ratio: {t_more / t_full:.4f} (goal <= 0.05)")
    if "reference" in times:
        t_reference, load_reference = times["reference"]
        print(f"  deadzone aggregate --full, same data:     {t_reference:7.2f} s  "
              f"(load {load_reference:.1f})")  # fmt: skip
    polars_rate, full_rate = n / t_polars, n / t_full
    print(f"  polars group-by, same statistics:         {t_polars:7.2f} s = "
          f"{polars_rate:,.0f} readings/s")  # fmt: skip
    print(f"  full aggregate: {full_rate:,.0f} readings/s, "
          f"ratio to polars {full_rate / polars_rate:.4f} (goal >= 0.05)", flush=True)  # fmt: skip


def run(backend: str, args: argparse.Namespace, workdir: Path) -> None:
    trees = [
        (name, Path(path).resolve())
        for name, path in (t.split("=", 1) for t in args.trees.split(","))
    ] if args.trees else [(backend, None)]  # fmt: skip
    with scratch_database(backend, workdir) as url:
        rate = post(environment(url), args.port, args.readings, 11, None)
        t_polars = polars_seconds(url)
        if not args.trees:
            report(backend, args.readings, rate, t_polars, measure(url, None, args))
            return
        for name, tree in trees:
            with copy_of(url, backend, name) as copy:
                times = measure(copy, tree, args)
            report(f"{backend} {name}", args.readings, rate, t_polars, times)


def main() -> None:
    parser = argparse.ArgumentParser(description=first_paragraph(__doc__))
    parser.add_argument("--readings", type=int, default=300_000)
    parser.add_argument("--backends", default="sqlite,postgis")
    parser.add_argument(
        "--port", type=int, default=0, help="the server's port (default: a free one)"
    )
    parser.add_argument("--trees", default="",
                        help="source trees measured one after the other on copies of the "
                        "same loaded database, e.g. main=/work/main,change=.")  # fmt: skip
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="no `deadzone aggregate --full` after the other two")  # fmt: skip
    args = parser.parse_args()
    args.port = args.port or free_port()  # fixed defaults collided between runs
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            run(backend, args, Path(tmp))


if __name__ == "__main__":
    main()
