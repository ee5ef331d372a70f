"""Freshness: how long from a POST /v1/readings that changes a cell to that change in
/v1/cells, with the server's background aggregation on.

    .venv/bin/python -m benchmarks.freshness [--sizes 300000,3000000] [--backends sqlite]
        [--interval 1] [--port N] [--no-field]

For each size, readings are written straight into the store (``benchmarks.aggregate``'s
synthetic province) and aggregated once, as a running service would have them. Then a real
server (``deadzone serve`` on 127.0.0.1, ``DEADZONE_AGGREGATE_INTERVAL_S``) runs, and each
trial posts 12 readings from 4 new phones at full strength into a cell that is not
``covered`` yet, and polls ``GET /v1/cells`` on the cell's box every 50 ms until it says
``covered``. The time includes the wait for the worker's next round (on average half the
interval), the incremental run and the publication. The machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import h3
import httpx
import numpy as np

from benchmarks import first_paragraph
from benchmarks.aggregate import SECRET, load, load_average, province_cells, synthetic_rows
from benchmarks.ingest import free_port
from benchmarks.scratch import scratch_database
from service.jobs import run_aggregation
from service.settings import Settings
from service.store.database import make_engine, make_sessionmaker, session_scope
from service.store.runs import ESTIMATED_AT, set_state_value

FIELD_LEFT_S = 86_400  # with --no-field: the server's field interval, longer than the trials


def cell_box(cell: int) -> str:
    lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
    d = 0.0005  # well inside the cell (edge 174 m at resolution 9)
    return f"{lon - d},{lat - d},{lon + d},{lat + d}"


def status_in(client: httpx.Client, cell: int) -> str | None:
    body = client.get("/v1/cells", params={"bbox": cell_box(cell), "resolution": 9}).json()
    wanted = h3.int_to_str(cell)
    for feature in body.get("features", []):
        if feature["properties"]["h3"] == wanted:
            return str(feature["properties"]["status"])
    return None


def strong_readings(cell: int, trial: str) -> list[dict[str, object]]:
    """12 strong readings from 4 phones new to the store: ``trial`` names them, and must
    differ from every earlier trial's on the same database (a reading whose id its phone
    sent before is a duplicate, and is not stored)."""
    lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
    now = datetime.now(UTC)
    return [
        {
            "id": f"fresh-{trial}-{phone}-{k}",
            "device": f"fresh-phone-{trial}-{phone}",
            "observed_at": (now - timedelta(minutes=5 + k)).isoformat(),
            "lat": lat,
            "lon": lon,
            "accuracy_m": 5.0,
            "mcc": 452,
            "mnc": 4,
            "radio": "lte",
            "signal_dbm": -70.0,
        }  # fmt: skip
        for phone in range(4)
        for k in range(3)
    ]


def trials(base: str, cells: np.ndarray, rounds: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    found = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for trial in range(rounds):
            cell = int(rng.choice(cells))
            while status_in(client, cell) == "covered":
                cell = int(rng.choice(cells))
            t0 = time.perf_counter()
            # Named after the seed too: the sizes of one run share the database, and the
            # second size's trials, named alike, were duplicates of the first's.
            readings = strong_readings(cell, f"{seed}-{trial}")
            answer = client.post("/v1/readings", json={"readings": readings})
            accepted = answer.json().get("accepted") if answer.is_success else None
            if accepted != len(readings):
                raise RuntimeError(
                    f"trial {trial}: {accepted} of {len(readings)} readings "
                    f"stored ({answer.status_code} {answer.text[:200]})"
                )
            deadline = t0 + 120
            while status_in(client, cell) != "covered":
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"cell {h3.int_to_str(cell)} not covered after 120 s")
                time.sleep(0.05)
            found.append(time.perf_counter() - t0)
    return found


def run(
    backend: str, sizes: list[int], interval: float, port: int, workdir: Path, *, field: bool
) -> None:
    with scratch_database(backend, workdir) as url:
        settings = Settings(
            database_url=url, device_secret=SECRET, aggregate_interval_s=0, trust_upload_days=1
        )  # the server's rules (below): else its first round is a full run
        engine = make_engine(settings)
        sessions = make_sessionmaker(engine)
        cells = province_cells()
        stored = 0
        for size in sizes:
            load(sessions, synthetic_rows(size - stored, cells, 7 + size, stored))
            stored = size
            t0 = time.perf_counter()
            run_aggregation(sessions, settings, full=True, estimate=field)
            t_full = time.perf_counter() - t0
            if not field:
                # The field's schedule starts now, as after a full run that krige it: the
                # server's rounds then leave it (its interval, below), and the trials
                # time measured statuses, which never wait for the field.
                with session_scope(sessions) as session:
                    set_state_value(session, ESTIMATED_AT, int(time.time()))
            env = {
                **os.environ, "DEADZONE_DATABASE_URL": url, "DEADZONE_DEVICE_SECRET": SECRET,
                "DEADZONE_ENVIRONMENT": "development",
                "DEADZONE_AGGREGATE_INTERVAL_S": str(interval),
                "DEADZONE_SNAPSHOT_AFTER_AGGREGATION": "false",
                # The trial phones are new tokens from one network (127.0.0.1) in one hour,
                # which device trust counts as one phone until they have uploaded on
                # trust_upload_days days (service.engine.trust): trusted from their first
                # day here, since this measures latency, not trust.
                "DEADZONE_TRUST_UPLOAD_DAYS": "1",
            }  # fmt: skip
            if not field:
                env["DEADZONE_ESTIMATE_INTERVAL_S"] = str(FIELD_LEFT_S)
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
                found = trials(base, cells, 7, seed=size)
            finally:
                server.terminate()
                server.wait(30)
            field_note = "" if field else ", estimated field not computed nor refreshed"
            print(f"[{backend}] {size:,} readings stored (full aggregate {t_full:.0f} s"
                  f"{field_note}), worker interval {interval:g} s, "
                  f"load {load_average()}")  # fmt: skip
            print(f"  POST -> /v1/cells shows it: median {np.median(found):.2f} s, "
                  f"max {max(found):.2f} s over {len(found)} trials (goal < 5 s)")  # fmt: skip
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=first_paragraph(__doc__))
    parser.add_argument("--sizes", default="300000,3000000")
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument(
        "--port", type=int, default=0, help="the server's port (default: a free one)"
    )
    parser.add_argument(
        "--no-field",
        dest="field",
        action="store_false",
        help="skip kriging the estimated field at setup (minutes a million readings) and "
        "keep the server from refreshing it during the trials: the measured statuses' "
        "freshness alone",
    )
    args = parser.parse_args()
    args.port = args.port or free_port()  # fixed defaults collided between runs
    sizes = [int(v) for v in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            run(backend, sizes, args.interval, args.port, Path(tmp), field=args.field)


if __name__ == "__main__":
    main()
