"""Phones' upload latency while the server's background aggregation runs (issue 17: p99
under 1 s on both databases).

    .venv/bin/python -m benchmarks.ingest_latency [--preload 300000] [--seconds 60]
        [--phones 8] [--batch 200] [--import-rows 0] [--cold | --spread 20000]
        [--backends sqlite,postgis] [--trees main=/work/main,change=.] [--rounds 1]

A real server (``deadzone serve``, one worker, on 127.0.0.1) first takes ``--preload``
readings with its background job off (``benchmarks.ingest``'s province: 500 phones over 30
days), which ``deadzone aggregate`` then decides, and is restarted with its job every 2 s:
its runs are then incremental, each over what the phones sent since the last. With
``--cold`` the load is not decided first, and the job's first run is a full aggregation of
it (as after ``deadzone aggregate --full`` or a change of the decision rules). With
``--spread``, that many more readings over the whole province (``benchmarks.ingest``'s)
are stored after the preload is decided: the job's first run is an incremental one that
touches most of the province's cells. For
``--seconds``, ``--phones`` threads, each one phone with its own token, upload ``--batch``
readings at a time with a random pause of 0-0.5 s, the way a collector app flushes its
backlog. With ``--import-rows``, a Tower Collector file of that many rows is posted to
``POST /v1/imports`` at the same time (a long import, stored in chunks). Printed per
backend: the uploads' latency (p50, p95, p99, max), how many were refused, and how many
aggregation runs finished in the window (the job did run while the phones uploaded) and
when the first of them did, and the machine's load average at the window's start and end
(a shared machine is noisy), and the peak resident memory (VmHWM) of the server's process and
of its aggregator process. With ``--trees``, the database is prepared once (by this
tree) and each tree's server is measured on a copy of it, one after the other (``--rounds``
times in turn): main against a change on the same data in one run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
from sqlalchemy import create_engine, func, select

from benchmarks import first_paragraph
from benchmarks.ingest import SECRET, free_port, make_batches
from benchmarks.scratch import copy_of, scratch_database
from benchmarks.served import post_all, start_server
from service.store.models import AggregationRun


def phone(base: str, index: int, batch: int, until: float, out: list[tuple[float, int]]) -> None:
    """One phone uploading batches until ``until``; appends (seconds, status) per request."""
    rng = random.Random(index)
    lat0, lon0 = 12.3 + rng.random() * 0.8, 107.7 + rng.random() * 1.0
    sent = 0
    with httpx.Client(base_url=base, timeout=120) as client:
        while time.perf_counter() < until:
            now = datetime.now(UTC)
            items = [
                {
                    "id": f"p{index}-{sent + i}",
                    "device": f"latency-phone-{index}",
                    "observed_at": (now - timedelta(seconds=600 - i)).isoformat(),
                    "lat": lat0 + rng.random() * 0.01,
                    "lon": lon0 + rng.random() * 0.01,
                    "accuracy_m": 8.0,
                    "mcc": 452,
                    "mnc": 4,
                    "radio": "lte",
                    "signal_dbm": round(-95 - rng.random() * 30, 1),
                }
                for i in range(batch)
            ]
            sent += batch
            body = orjson.dumps({"readings": items})
            t0 = time.perf_counter()
            answer = client.post(
                "/v1/readings", content=body, headers={"Content-Type": "application/json"}
            )
            out.append((time.perf_counter() - t0, answer.status_code))
            time.sleep(rng.random() * 0.5)


def peak_memory(server: int, until: threading.Event, out: dict[str, int]) -> None:
    """The peak resident memory (VmHWM, bytes) of the server's process and of its
    aggregator process (the child started by ``multiprocessing`` spawn), sampled every
    second until ``until`` is set: the aggregator's peak is kept if its process restarts."""
    while True:
        out["server"] = max(out.get("server", 0), _vm_hwm(server))
        for child in _children(server):
            if "spawn_main" in _cmdline(child):
                out["aggregator"] = max(out.get("aggregator", 0), _vm_hwm(child))
        if until.wait(1.0):
            return


def _vm_hwm(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # the process ended between two samples
        return 0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else 0


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return children


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def post_import(base: str, path: Path, out: dict[str, float]) -> None:
    t0 = time.perf_counter()
    with path.open("rb") as file, httpx.Client(base_url=base, timeout=3600) as client:
        answer = client.post("/v1/imports", files={"file": (path.name, file, "text/csv")})
    out["seconds"] = time.perf_counter() - t0
    out["status"] = answer.status_code
    out["accepted"] = float(answer.json().get("accepted", 0)) if answer.is_success else 0.0


def runs_finished(url: str) -> tuple[int, datetime | None]:
    """How many aggregation runs the database records, and when the last finished (UTC)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            count = conn.scalar(select(func.count()).select_from(AggregationRun))
            last = conn.scalar(select(func.max(AggregationRun.finished_at)))
    finally:
        engine.dispose()
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return int(count or 0), last


def first_run_after(url: str, runs_before: int) -> datetime | None:
    """When the first run after the ``runs_before`` recorded ones finished (UTC)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            first = conn.scalar(
                select(AggregationRun.finished_at).order_by(AggregationRun.id)
                .offset(runs_before).limit(1)
            )  # fmt: skip
    finally:
        engine.dispose()
    if first is not None and first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    return first


def environment(url: str) -> dict[str, str]:
    return {
        **os.environ, "DEADZONE_DATABASE_URL": url, "DEADZONE_DEVICE_SECRET": SECRET,
        "DEADZONE_ENVIRONMENT": "development", "DEADZONE_AGGREGATE_INTERVAL_S": "0",
        # Many phones of the benchmark share 127.0.0.1, and each sends more in a minute
        # than a real phone in a week: the rate limits are not what is measured.
        "DEADZONE_RATE_LIMIT_ADDRESS_REQUESTS": "1000000/minute",
        "DEADZONE_RATE_LIMIT_DEVICE_READINGS": "100000000/hour",
        "DEADZONE_RATE_LIMIT_ADDRESS_IMPORTS": "1000/minute",
    }  # fmt: skip


def prepare(url: str, args: argparse.Namespace) -> None:
    """The preload stored (and decided unless ``--cold``), then the ``--spread``, by this
    tree's server and command: every tree then starts from a copy of the same database."""
    env = environment(url)

    def store(count: int, seed: int) -> None:
        """``count`` readings posted through this tree's server, started for them."""
        server = start_server(env, args.port)
        try:
            post_all(f"http://127.0.0.1:{args.port}", make_batches(count, 1000, seed=seed))
        finally:
            server.terminate()
            server.wait(30)

    store(args.preload, seed=21)
    if not args.cold:
        subprocess.run([sys.executable, "-m", "service.cli", "aggregate"], env=env,
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    if args.spread:
        store(args.spread, seed=22)


def measure(url: str, tree: Path, args: argparse.Namespace, export: Path | None) -> dict[str, Any]:
    """The phones' window against ``tree``'s server with its background job every 2 s."""
    env = {**environment(url), "DEADZONE_AGGREGATE_INTERVAL_S": "2"}
    base = f"http://127.0.0.1:{args.port}"
    runs_before, _ = runs_finished(url)
    server = start_server(env, args.port, tree=tree)
    results: list[tuple[float, int]] = []
    imported: dict[str, float] = {}
    load_before = os.getloadavg()[0]
    started = datetime.now(UTC)
    memory: dict[str, int] = {}
    sampled = threading.Event()
    sampler = threading.Thread(target=peak_memory, args=(server.pid, sampled, memory))
    sampler.start()
    try:
        until = time.perf_counter() + args.seconds
        threads = [
            threading.Thread(target=phone, args=(base, i, args.batch, until, results))
            for i in range(args.phones)
        ]
        if export is not None:
            threads.append(threading.Thread(target=post_import, args=(base, export, imported)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        runs = runs_finished(url)[0] - runs_before
        first = first_run_after(url, runs_before)
        load_after = os.getloadavg()[0]
    finally:
        sampled.set()
        sampler.join()
        server.terminate()
        server.wait(60)
    seconds = np.array([s for s, _ in results])
    return {
        "uploads": len(results), "refused": sum(1 for _, status in results if status != 200),
        "percentiles": np.percentile(seconds, [50, 95, 99]).tolist(), "max": float(seconds.max()),
        "runs": runs, "load": (load_before, load_after), "imported": imported, "memory": memory,
        "first_run_s": None if first is None else (first - started).total_seconds(),
    }  # fmt: skip


def report(backend: str, tree: str, args: argparse.Namespace, figures: dict[str, Any]) -> None:
    p50, p95, p99 = figures["percentiles"]
    spread = f" + {args.spread:,} over the province" if args.spread else ""
    print(f"[{backend} {tree}] {args.preload:,} readings preloaded{spread}; "
          f"{figures['uploads']} uploads of {args.batch} readings by {args.phones} phones "
          f"in {args.seconds:.0f} s, {figures['runs']} aggregation runs finished "
          "meanwhile")  # fmt: skip
    if figures["first_run_s"] is not None:
        # The first run is the one over the preload (--cold) or the spread: how long the
        # aggregation took to catch up while the phones uploaded.
        print(f"  the first of them finished {figures['first_run_s']:.1f} s into the window")
    print(f"  upload latency: p50 {p50:.3f} s  p95 {p95:.3f} s  p99 {p99:.3f} s  "
          f"max {figures['max']:.3f} s   (goal p99 < 1 s); "
          f"refused: {figures['refused']}")  # fmt: skip
    # The machine may be shared: the figures mean little without its load (this run
    # adds about 2 on its own: the server and the phones' threads).
    load_before, load_after = figures["load"]
    print(f"  load average (1 min) at the window's start and end: {load_before:.2f}, "
          f"{load_after:.2f} on {os.cpu_count()} cores", flush=True)  # fmt: skip
    memory = figures["memory"]
    aggregator = (f"{memory['aggregator'] / 2**20:.0f} MB" if "aggregator" in memory
                  else "no process seen")  # fmt: skip
    print(f"  peak resident memory (VmHWM): server {memory.get('server', 0) / 2**20:.0f} MB, "
          f"aggregator {aggregator}", flush=True)  # fmt: skip
    imported = figures["imported"]
    if args.import_rows:
        took, status = imported.get("seconds", 0.0), imported.get("status", 0.0)
        print(f"  import of {args.import_rows:,} rows alongside: {took:.1f} s, "
              f"HTTP {status:.0f}, {imported.get('accepted', 0):,.0f} stored")  # fmt: skip


def run(backend: str, args: argparse.Namespace, workdir: Path) -> None:
    trees = [
        (name, Path(path).resolve())
        for name, path in (t.split("=", 1) for t in args.trees.split(","))
    ]
    with scratch_database(backend, workdir) as url:
        prepare(url, args)
        export = None
        if args.import_rows:
            export = workdir / f"latency-{backend}.csv"
            importlib.import_module("benchmarks.import").write_export(export, args.import_rows)
        for round_ in range(args.rounds):
            for name, tree in trees:
                with copy_of(url, backend, f"{name}{round_}") as copy:
                    print(f"[{backend} {name}] window starts", flush=True)
                    report(backend, name, args, measure(copy, tree, args, export))


def main() -> None:
    parser = argparse.ArgumentParser(description=first_paragraph(__doc__))
    parser.add_argument("--preload", type=int, default=300_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--phones", type=int, default=8)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--import-rows", type=int, default=0)
    parser.add_argument("--cold", action="store_true",
                        help="no aggregation before the window: the job's first run is a "
                        "full one over the whole preload")  # fmt: skip
    parser.add_argument("--spread", type=int, default=0,
                        help="readings over the whole province stored after the preload's "
                        "aggregation: the job's first run is an incremental one that "
                        "touches most of the province's cells")  # fmt: skip
    parser.add_argument("--backends", default="sqlite,postgis")
    parser.add_argument("--trees", default="this=.",
                        help="source trees whose servers are measured one after the "
                        "other on copies of the same database, e.g. "
                        "main=/work/main,branch=.")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure the trees in turn this many times (the load "
                        "drifts)")  # fmt: skip
    parser.add_argument(
        "--port", type=int, default=0, help="the server's port (default: a free one)"
    )
    args = parser.parse_args()
    args.port = args.port or free_port()  # fixed defaults collided between runs
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            run(backend, args, Path(tmp))


if __name__ == "__main__":
    main()
