"""How long the aggregation holds SQLite's single writer (issue 17): every write
transaction of a province-wide full run and of an incremental run after readings spread
over the whole province, timed in-process, for one or more source trees on the same data.

    .venv/bin/python -m benchmarks.writer_hold [--readings 100000] [--batch 20000]
        [--trees main=/work/main,branch=.]

A SQLite province of ``--readings`` readings (``benchmarks.ingest``'s: 500 phones over
about 13,000 km2 and 30 days) is stored once through the real ingest; each tree then runs,
in a process of its own on a copy of that file, ``run_aggregation`` with ``full=True``
(which refreshes the estimated field too), takes ``--batch`` more readings spread over the
same area, and runs again (incremental). Every write transaction (``BEGIN IMMEDIATE`` to
its connection's return to the pool) is timed and named by the engine function (and line)
that opened it. Printed per tree and run: the longest write transaction, the longest per step,
how many there were, the run's wall time, and the load average before and after (the
machine may be shared). Phones' uploads queue behind each of these transactions in turn
(``WriterTurnstile``): the longest one is what an upload may wait.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks import first_paragraph

SECRET = "benchmark-secret-0123456789abcdef"


def store(url: str, batches: list[list[dict[str, object]]]) -> None:
    """Readings through the same ingest as the API, one transaction per batch."""
    from service.ingest.readings import Ingestor
    from service.settings import Settings
    from service.store.database import make_engine, make_sessionmaker, session_scope

    settings = Settings(database_url=url, device_secret=SECRET)
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    ingestor = Ingestor.from_settings(settings)
    for batch in batches:
        with session_scope(sessions) as session:
            ingestor.ingest(session, batch, default_source="file")
    engine.dispose()


def _step_of(stack: traceback.StackSummary) -> str:
    """The innermost engine or job function on the stack (who opened the transaction)."""
    for frame in reversed(stack):
        path = frame.filename.replace(os.sep, "/")
        if ("/service/engine/" in path or path.endswith("/service/jobs.py")) and (
            frame.name not in {"__enter__", "__exit__"}
        ):
            return f"{Path(path).stem}.{frame.name}:{frame.lineno}"
    return "other"


def child(database: Path, batch_file: Path) -> None:
    """In the tree under test: time every write transaction of a full and an incremental
    run; print them as JSON."""
    import orjson
    from sqlalchemy import event

    from service.jobs import run_aggregation
    from service.settings import Settings
    from service.store.database import make_engine, make_sessionmaker

    url = f"sqlite:///{database}"
    settings = Settings(database_url=url, device_secret=SECRET)
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    open_at: dict[int, tuple[float, str]] = {}
    held: list[tuple[str, float]] = []

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if conn.get_execution_options().get("deadzone_sqlite_begin") == "IMMEDIATE":
            step = _step_of(traceback.extract_stack())
            open_at[id(conn.connection.dbapi_connection)] = (time.perf_counter(), step)

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection: Any, _record: Any) -> None:
        opened = open_at.pop(id(dbapi_connection), None)
        if opened is not None:
            held.append((opened[1], time.perf_counter() - opened[0]))

    out: dict[str, Any] = {}
    for name in ("full", "incremental"):
        if name == "incremental":
            engine.dispose()
            store(url, orjson.loads(batch_file.read_bytes()))
        held.clear()
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        run_aggregation(sessions, settings, full=name == "full")
        out[name] = {"held": list(held), "wall": time.perf_counter() - t0,
                     "load": [load, os.getloadavg()[0]]}  # fmt: skip
    engine.dispose()
    print(json.dumps(out))


def report(tree: str, figures: dict[str, Any]) -> None:
    for name, run in figures.items():
        held = run["held"]
        longest = max(held, key=lambda h: h[1]) if held else ("none", 0.0)
        print(f"[{tree}] {name} run: {run['wall']:.1f} s, {len(held)} write transactions, "
              f"longest {longest[1]:.2f} s ({longest[0]}); load average "
              f"{run['load'][0]:.2f} -> {run['load'][1]:.2f}")  # fmt: skip
        steps: dict[str, list[float]] = {}
        for step, seconds in held:
            steps.setdefault(step, []).append(seconds)
        for step, times in sorted(steps.items(), key=lambda s: -max(s[1])):
            print(f"    {step:45s} {len(times):4d} x, longest {max(times):6.2f} s, "
                  f"total {sum(times):6.2f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=first_paragraph(__doc__))
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--trees", default="main=/work/main,branch=.")
    parser.add_argument("--child", nargs=2, metavar=("DATABASE", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return
    import orjson

    from benchmarks.ingest import make_batches
    from benchmarks.scratch import scratch_database

    trees = dict(t.split("=", 1) for t in args.trees.split(","))
    with tempfile.TemporaryDirectory() as tmp, scratch_database("sqlite", Path(tmp)) as url:
        base = Path(url.removeprefix("sqlite:///"))
        t0 = time.perf_counter()
        store(url, make_batches(args.readings, 1000, seed=21))
        batch_file = Path(tmp) / "batch.json"
        batch_file.write_bytes(orjson.dumps(make_batches(args.batch, 1000, seed=22)))
        print(f"{args.readings:,} readings stored in {time.perf_counter() - t0:.0f} s; "
              f"then {args.batch:,} more over the same area for the incremental run; "
              f"{os.cpu_count()} cores")  # fmt: skip
        for tree, path in trees.items():
            database = Path(tmp) / f"{tree}.sqlite"
            shutil.copyfile(base, database)
            root = Path(path).resolve()
            answer = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--child", str(database),
                 str(batch_file)],
                cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            report(tree, json.loads(answer.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    main()
