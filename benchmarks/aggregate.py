"""Aggregation speed: full rebuild, incremental merges, and the province cell query.

    .venv/bin/python -m benchmarks.aggregate [--readings 5000000] [--backends sqlite,postgis]

Setup writes synthetic readings straight into the readings table (the ingest path has
its own benchmark): ~170,000 resolution-9 cells over a 20,000 km2 box around Buon Ma
Thuot, 3 operators, 2,000 devices, 12 months. Then it times:
  1. ``deadzone aggregate --rebuild``'s statistics step over all readings (rows/s);
  2. incremental merges of 1,000 new readings, early (small table) and late (full table),
     to show the cost per batch does not grow with what is stored;
  3. decisions + zones (the rest of ``run_aggregation``);
  4. GET /v1/cells for the whole province at resolution 9 through the real app.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import h3
import numpy as np
from fastapi.testclient import TestClient

from benchmarks.scratch import scratch_database
from service.api.app import create_app
from service.engine.decisions import decide_resolution
from service.engine.statistics import merge_new_readings, rebuild, rollup, safe_max_seq
from service.settings import Settings
from service.store.bulk import insert_readings
from service.store.database import make_engine, make_sessionmaker, session_scope

SECRET = "benchmark-secret-0123456789abcdef"
NOW = datetime(2026, 11, 15, tzinfo=UTC)
BOX = (12.1, 107.5, 13.3, 108.9)  # lat/lon box of about 20,000 km2: ~170k res-9 cells


def province_cells() -> np.ndarray:
    shape = h3.LatLngPoly([(BOX[0], BOX[1]), (BOX[0], BOX[3]), (BOX[2], BOX[3]), (BOX[2], BOX[1])])
    return np.array([h3.str_to_int(c) for c in h3.polygon_to_cells(shape, 9)], dtype=np.int64)


def synthetic_rows(n: int, cells: np.ndarray, seed: int, start_id: int):
    """Rows in ``bulk.READING_COLUMNS`` order, in chunks of 100,000."""
    rng = np.random.default_rng(seed)
    devices = [i.to_bytes(16, "big") for i in range(2000)]
    for offset in range(0, n, 100_000):
        m = min(100_000, n - offset)
        cell_idx = rng.integers(0, len(cells), m)
        # Cells have a "true" signal level; readings scatter around it.
        base = -135 + (cells[cell_idx] % 97)
        dbm = np.clip(base + rng.normal(0, 6, m), -140, -44).round()
        no_service = dbm < -128
        age = rng.integers(0, 360 * 86400, m)
        mnc = rng.choice([1, 2, 4], m)
        dev = rng.integers(0, 2000, m)
        for i in range(m):
            lat, lon = h3.cell_to_latlng(h3.int_to_str(int(cells[cell_idx[i]])))
            yield (
                devices[dev[i]], f"b{start_id + offset + i}", NOW - timedelta(seconds=int(age[i])),
                NOW, lat, lon, 10.0, None, 452, int(mnc[i]), "lte",
                None if no_service[i] else float(dbm[i]), bool(no_service[i]), None, None,
                None, None, None, None, "bench", int(cells[cell_idx[i]]),
            )  # fmt: skip


def load(sessions, rows, chunk: int = 100_000) -> None:
    buffer = []
    for row in rows:
        buffer.append(row)
        if len(buffer) >= chunk:
            with session_scope(sessions) as s:
                insert_readings(s.connection(), buffer)
            buffer = []
    if buffer:
        with session_scope(sessions) as s:
            insert_readings(s.connection(), buffer)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def incremental_batch_seconds(sessions, settings, cells, seed: int, start_id: int) -> float:
    """Median time to merge one batch of 1,000 new readings (5 batches)."""
    times = []
    for k in range(5):
        load(sessions, synthetic_rows(1000, cells, seed + k, start_id + 1000 * k))
        with session_scope(sessions) as s:
            top = safe_max_seq(s)

        def merge(top: int = top) -> None:
            with session_scope(sessions) as s:
                merge_new_readings(s, settings, up_to=top)

        times.append(timed(merge))
    return float(np.median(times))


def run(backend: str, n: int, workdir: Path) -> None:
    with scratch_database(backend, workdir) as url:
        settings = Settings(database_url=url, device_secret=SECRET, aggregate_interval_s=0)
        engine = make_engine(settings)
        sessions = make_sessionmaker(engine)
        cells = province_cells()
        load(sessions, synthetic_rows(n // 10, cells, 1, 0))
        early = incremental_batch_seconds(sessions, settings, cells, 100, 10**8)
        t_load = timed(lambda: load(sessions, synthetic_rows(n - n // 10, cells, 2, n // 10)))

        def full_rebuild() -> None:
            with session_scope(sessions) as s:
                top = safe_max_seq(s)
            with session_scope(sessions) as s:
                rebuild(s, settings, up_to=top)

        t_rebuild = timed(full_rebuild)
        late = incremental_batch_seconds(sessions, settings, cells, 200, 2 * 10**8)

        def rollups() -> None:
            with session_scope(sessions) as s:
                rollup(s, settings, settings.rollup_resolutions)

        t_rollup = timed(rollups)
        with sessions() as s:
            t_decide = timed(lambda: decide_resolution(s, settings, resolution=9, now=NOW))
        from service.jobs import run_aggregation

        t_all = timed(lambda: run_aggregation(sessions, settings, now=NOW))
        bbox = f"{BOX[1]},{BOX[0]},{BOX[3]},{BOX[2]}"
        with TestClient(create_app(settings)) as client:
            client.get("/v1/cells", params={"bbox": bbox})  # warm-up
            t0 = time.perf_counter()
            response = client.get("/v1/cells", params={"bbox": bbox})
            t_cells = time.perf_counter() - t0
            body = response.json()
        print(f"[{backend}] {n:,} readings over {len(cells):,} cells (load {n / t_load:,.0f}/s)")
        print(f"  full rebuild of statistics: {t_rebuild:6.2f} s = {n / t_rebuild:,.0f} readings/s")
        print(f"  merge 1,000 new readings:   {early * 1000:6.1f} ms with {n // 10:,} stored, "
              f"{late * 1000:6.1f} ms with {n:,} stored")  # fmt: skip
        print(f"  roll-ups (r8, r7):          {t_rollup:6.2f} s")
        print(f"  decisions r9 alone:         {t_decide:6.2f} s")
        print(f"  run_aggregation (all):      {t_all:6.2f} s")
        print(f"  GET /v1/cells province r9:  {t_cells:6.2f} s, {len(body['features']):,} cells, "
              f"{len(response.content) / 1e6:.1f} MB, resolution {body['resolution']}")  # fmt: skip
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=5_000_000)
    parser.add_argument("--backends", default="sqlite,postgis")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            run(backend, args.readings, Path(tmp))


if __name__ == "__main__":
    main()
