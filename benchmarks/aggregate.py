"""Aggregation speed: full rebuild, incremental merges, and the province cell query.

    .venv/bin/python -m benchmarks.aggregate [--readings 5000000] [--backends sqlite,postgis]
    .venv/bin/python -m benchmarks.aggregate --incremental 300000,3000000 --backends sqlite

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
import os
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import h3
import numpy as np
import polars as pl
from fastapi.testclient import TestClient

from benchmarks import first_paragraph
from benchmarks.scratch import scratch_database
from domain.radio import Radio
from service.api.app import create_app
from service.engine import columnar
from service.engine.decisions import decide_resolution
from service.engine.statistics import (
    merge_new_readings,
    rebuild,
    rebuild_in_database,
    rollup,
    safe_max_seq,
)
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


# --- columnar rebuild (issue 12, full rebuild and scale-out) --------------------------


def synthetic_frame(n: int, cells: np.ndarray, seed: int) -> pl.DataFrame:
    """``n`` readings in ``columnar.READING_SCHEMA``, built vectorised: like
    ``synthetic_rows`` (cells with a "true" level, 3 operators, 2,000 devices, 12 months)
    plus the rest of the evidence mix: 4 radios, 5 % manual reports, 10 % poor fixes,
    and readings clustered in busy cells."""
    rng = np.random.default_rng(seed)
    # Readings cluster where people live and travel: 90 % in a fifth of the cells.
    busy = rng.choice(cells, len(cells) // 5, replace=False)
    cell = np.where(
        rng.random(n) < 0.9,
        busy[rng.integers(0, len(busy), n)],
        cells[rng.integers(0, len(cells), n)],
    )
    dbm = np.clip(-135 + (cell % 97) + rng.normal(0, 6, n), -140, -44).round(1)
    manual = rng.random(n) < 0.05
    no_service = (dbm < -128) & ~manual
    observed = np.datetime64(NOW.replace(tzinfo=None), "us") - rng.integers(
        0, 360 * 86400 * 10**6, n
    ).astype("timedelta64[us]")
    device = rng.integers(0, 2000, n)
    return pl.DataFrame(
        {
            "h3_cell": cell,
            "mcc": np.full(n, 452, np.int16),
            "mnc": rng.choice(np.array([1, 2, 4], np.int16), n),
            # gsm, umts, lte, nr: LTE carries most traffic in Vietnam (DESIGN.md).
            "radio": rng.choice(np.array([0, 1, 2, 3], np.uint8), n, p=[0.01, 0.1, 0.85, 0.04]),
            "observed_at": observed,
            "signal_dbm": pl.Series(np.where(manual | no_service, np.nan, dbm)).fill_nan(None),
            "no_service": no_service,
            "level": pl.Series(rng.integers(0, 5, n).astype(np.int16)).set(
                pl.Series(~manual), None
            ),
            "calls_fail": pl.Series(rng.random(n) < 0.3).set(pl.Series(~manual), None),
            "accuracy_m": np.where(rng.random(n) < 0.1, 120.0, 8.0),
            "device_hi": device * 7919 + 13,  # 2,000 distinct 16-byte hashes
            "device_lo": device * -104_729,
        },
        schema=columnar.READING_SCHEMA,
    )


def frame_rows(frame: pl.DataFrame, start_id: int):
    """Rows of a synthetic frame in ``bulk.READING_COLUMNS`` order, for ``load``."""
    centres = {int(c): h3.cell_to_latlng(h3.int_to_str(int(c))) for c in frame["h3_cell"].unique()}
    radios = columnar.RADIO_CODES
    hashes = columnar.device_hashes(frame["device_hi"], frame["device_lo"])
    for i, (r, device) in enumerate(zip(frame.iter_rows(), hashes, strict=True)):
        lat, lon = centres[r[0]]
        yield (
            device, f"c{start_id + i}", r[4].replace(tzinfo=UTC), NOW, lat, lon, r[9], None,
            r[1], r[2], radios[r[3]], r[5], r[6], r[7], r[8], None, None, None, None,
            "reporter" if r[7] is not None else "bench", r[0],
        )  # fmt: skip


def duckdb_statistics(frame: pl.DataFrame, settings: Settings) -> columnar.Partial:
    """The statistics and device set of ``partial_of``, computed by DuckDB over the same
    Arrow data (zero copy), for the engine comparison."""
    import duckdb

    ones = " ".join(
        f"WHEN {i} THEN {settings.bars_for(Radio(c))[0]}"
        for i, c in enumerate(columnar.RADIO_CODES)
    )
    twos = " ".join(
        f"WHEN {i} THEN {settings.bars_for(Radio(c))[1]}"
        for i, c in enumerate(columnar.RADIO_CODES)
    )
    con = duckdb.connect()
    con.register("readings", frame.to_arrow())
    con.execute(f"""
        CREATE TEMP VIEW r AS SELECT *,
          CAST(date_trunc('month', observed_at) AS DATE) AS bucket,
          CASE WHEN no_service THEN 2 WHEN level = 0 THEN 2 WHEN level = 1 THEN 1
               WHEN level >= 2 AND coalesce(calls_fail, false) THEN 1 WHEN level >= 2 THEN 0
               WHEN signal_dbm >= (CASE radio {twos} END) THEN 0
               WHEN signal_dbm >= (CASE radio {ones} END) THEN 1 ELSE 2 END AS cls,
          CASE WHEN level IS NOT NULL OR accuracy_m > {settings.downweight_accuracy_m}
               THEN 1 ELSE 2 END AS weight,
          CAST(round_even(power(10.0, (signal_dbm + 150.0) / 10.0), 0) AS BIGINT) AS aw
        FROM readings""")  # fmt: skip
    stats = con.sql(f"""
        SELECT h3_cell, mcc, mnc, radio, bucket,
          CAST({settings.h3_resolution} AS SMALLINT) AS resolution,
          count(*) AS readings, count(signal_dbm) AS measured, count(level) AS manual,
          CAST(sum(CAST(no_service AS INT)) AS BIGINT) AS no_service,
          CAST(sum(CASE WHEN cls = 0 THEN weight ELSE 0 END) AS BIGINT) AS weight_covered,
          CAST(sum(CASE WHEN cls = 1 THEN weight ELSE 0 END) AS BIGINT) AS weight_weak,
          CAST(sum(CASE WHEN cls = 2 THEN weight ELSE 0 END) AS BIGINT) AS weight_dead,
          CAST(coalesce(sum(aw), 0) AS BIGINT) AS power_sum_aw,
          min(signal_dbm) AS dbm_min, max(signal_dbm) AS dbm_max,
          bit_or(CAST(1 AS BIGINT) << (day(observed_at) - 1)) AS days_mask,
          min(observed_at) AS first_seen, max(observed_at) AS last_seen
        FROM r GROUP BY ALL""").pl()  # fmt: skip
    devices = con.sql(
        "SELECT DISTINCT h3_cell, mcc, mnc, radio, bucket, device_hi, device_lo FROM r"
    ).pl()
    con.close()

    return columnar.Partial(stats, devices)


def same_partial(a: columnar.Partial, b: columnar.Partial) -> bool:
    def norm(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
        return frame.select(pl.col(columns).cast(pl.Int64, strict=False).name.keep()).sort(columns)

    return norm(a.stats, columnar.STAT_COLUMNS).equals(
        norm(b.stats, columnar.STAT_COLUMNS)
    ) and norm(a.devices, columnar.DEVICE_COLUMNS).equals(norm(b.devices, columnar.DEVICE_COLUMNS))


def compare_engines(n: int) -> None:
    """polars against DuckDB on the same in-memory readings, best of three each."""
    settings = Settings(device_secret=SECRET, aggregate_interval_s=0)
    frame = synthetic_frame(n, province_cells(), seed=7)
    results = {}
    for name, compute in (
        ("polars", lambda: columnar.partial_of(frame, settings, rounding="even")),
        ("duckdb", lambda: duckdb_statistics(frame, settings)),
    ):
        best = min(timed(compute) for _ in range(3))
        results[name] = compute()
        print(f"  {name:7} statistics + device sets: {best:6.2f} s = {n / best:,.0f} readings/s")
    exact = same_partial(results["polars"], results["duckdb"])
    print(f"  same rows from both engines: {exact} ({results['polars'].stats.height:,} statistics"
          f" rows, {results['polars'].devices.height:,} device rows)")  # fmt: skip


class PeakMemory:
    """Peak resident memory above the start, sampled every 20 ms (polars allocates
    outside Python's allocator, so tracemalloc would not see it)."""

    def __enter__(self) -> PeakMemory:
        self.base = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def megabytes(self) -> float:
        return (self.peak - self.base) / 1e6


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def load_and_group(sessions, settings: Settings, n: int) -> tuple[float, float]:
    """Store ``n`` synthetic readings; time that, and the best of three polars group-bys
    of the same statistics on the same readings in memory."""
    frame = synthetic_frame(n, province_cells(), seed=11)
    t_load = timed(lambda: load(sessions, frame_rows(frame, 0)))
    t_polars = min(
        timed(lambda: columnar.partial_of(frame, settings, rounding="even")) for _ in range(3)
    )
    return t_load, t_polars


def run_rebuild(backend: str, n: int, workdir: Path, chunk_rows: int, *, full: bool) -> None:
    """Full rebuild of the statistics (columnar, and the SQL reference) next to a polars
    group-by of the same statistics on the same readings, in one run."""
    with scratch_database(backend, workdir) as url:
        settings = Settings(database_url=url, device_secret=SECRET, aggregate_interval_s=0)
        engine = make_engine(settings)
        sessions = make_sessionmaker(engine)
        t_load, t_polars = load_and_group(sessions, settings, n)
        with session_scope(sessions) as s:
            top = safe_max_seq(s)

        def columnar_rebuild() -> None:
            with session_scope(sessions) as s:
                rebuild(s, settings, up_to=top, chunk_rows=chunk_rows)

        def sql_rebuild() -> None:
            with session_scope(sessions) as s:
                rebuild_in_database(s, settings, up_to=top)

        t_sql = timed(sql_rebuild)
        with PeakMemory() as memory:
            t_columnar = timed(columnar_rebuild)
        from service.jobs import run_aggregation

        t_full = (
            timed(lambda: run_aggregation(sessions, settings, rebuild_all=True, now=NOW))
            if full
            else None
        )
        engine.dispose()
        polars_rate = n / t_polars
        print(f"[{backend}] {n:,} readings (load {n / t_load:,.0f}/s); shared, noisy machine")
        print(f"  polars group-by, same statistics in memory: {polars_rate:>12,.0f} readings/s")
        for label, seconds in (
            ("columnar rebuild of statistics (DB to DB)", t_columnar),
            ("SQL rebuild of statistics (old path)", t_sql),
            ("full aggregate --rebuild (+decisions, zones)", t_full),
        ):
            if seconds is None:
                continue
            rate = n / seconds
            print(f"  {label:44} {rate:>12,.0f} readings/s  {seconds:7.2f} s  "
                  f"ratio to polars {rate / polars_rate:.3f}")  # fmt: skip
        print(f"  peak memory of the columnar rebuild: +{memory.megabytes:,.0f} MB "
              f"(chunks of {chunk_rows:,} readings)")  # fmt: skip


def load_average() -> str:
    """The machine's 1, 5 and 15-minute load averages, printed beside each figure."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def local_cells(cells: np.ndarray, seed: int, rings: int = 10) -> np.ndarray:
    """The cells within ``rings`` of one random cell: a phone's afternoon of walking."""
    centre = int(np.random.default_rng(seed).choice(cells))
    return np.array([h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(centre), rings)])


def incremental_figures(
    backend: str, sizes: list[int], workdir: Path, *, field: bool = True
) -> None:
    """Issue 12's incremental goals, in one run on the same data: a full aggregate at the
    first size (statistics merge, roll-ups, decisions, zones) against aggregates of 1,000
    new readings at every size; spread over the province (1,000 dirty cells, the worst
    case) and local (within 10 rings of one cell, as a collector walking uploads)."""
    from service.jobs import run_aggregation

    with scratch_database(backend, workdir) as url:
        # The incremental path is measured at every size, even where a batch of 1,000
        # changes most of a small store's cells (which would take the full path).
        settings = Settings(
            database_url=url, device_secret=SECRET, aggregate_interval_s=0,
            incremental_max_changed_share=float("inf"),
        )  # fmt: skip
        engine = make_engine(settings)
        sessions = make_sessionmaker(engine)
        cells = province_cells()
        stored, next_id, seed = 0, 10**9, 1000
        first_full = None
        cpu_medians: dict[int, dict[str, float]] = {}
        for size in sizes:
            t0 = time.perf_counter()
            load(sessions, synthetic_rows(size - stored, cells, seed, stored))
            t_load = time.perf_counter() - t0
            stored, seed = size, seed + 1
            # The anchor is the first size's full aggregate with the estimated field. At
            # the larger sizes a full run only brings decisions and zones up to date for
            # the batches; kriging the field there (minutes at a million readings on this
            # machine) would change no batch figure, since batches leave it to its schedule.
            full = run_aggregation(
                sessions, settings, now=NOW, full=True, estimate=field and first_full is None
            )
            t_full = sum(full.seconds.values())
            first_full = first_full or t_full
            print(f"    {size:,} stored: loaded in {t_load:.0f} s, full run {t_full:.1f} s, "
                  f"load {load_average()}", flush=True)  # fmt: skip
            figures: dict[str, list[float]] = {"spread": [], "local": []}
            cpu: dict[str, list[float]] = {"spread": [], "local": []}
            dirty: dict[str, int] = {}
            # Batches leave the estimated field to its own schedule, as the server's do
            # within ``estimate_interval_s``; its column stays to show that it did not run.
            estimates: dict[str, list[float]] = {}
            for kind in ("spread", "local"):
                for _ in range(5):
                    where = cells if kind == "spread" else local_cells(cells, seed)
                    load(sessions, synthetic_rows(1000, where, seed, next_id))
                    next_id, seed = next_id + 1000, seed + 1
                    t0, c0 = time.perf_counter(), time.process_time()
                    report = run_aggregation(sessions, settings, now=NOW, estimate=False)
                    figures[kind].append(time.perf_counter() - t0)
                    cpu[kind].append(time.process_time() - c0)
                    print(f"    {size:,} stored, +1,000 {kind}: {figures[kind][-1]:.3f} s, "
                          f"CPU {cpu[kind][-1]:.3f} s, load {load_average()}",
                          flush=True)  # fmt: skip
                    estimates.setdefault(kind, []).append(report.seconds.get("estimate", 0.0))
                    assert report.incremental is not None
                    dirty[kind] = report.incremental.dirty_cells
            spread, local = (float(np.median(figures[k])) for k in ("spread", "local"))
            cpu_medians[size] = {k: float(np.median(v)) for k, v in cpu.items()}
            print(f"[{backend}] {size:,} readings stored (loaded in {t_load:.0f} s)")
            what = "full aggregate:" if field and size == sizes[0] else "full, field left:"
            print(f"  {what:<32}{t_full:7.2f} s "
                  f"({', '.join(f'{k} {v:.1f}' for k, v in full.seconds.items())})")  # fmt: skip
            print(f"  +1,000 spread, incremental:     {spread:7.3f} s median of 5 "
                  f"({dirty['spread']:,} dirty keys)")  # fmt: skip
            print(f"  +1,000 local, incremental:      {local:7.3f} s median of 5 "
                  f"({dirty['local']:,} dirty keys)")  # fmt: skip
            print(f"  ratio spread / full at {sizes[0]:,}: {spread / first_full:.4f} "
                  f"(goal <= 0.05); local: {local / first_full:.4f}")  # fmt: skip
            spread_est = float(np.median(estimates["spread"]))
            local_est = float(np.median(estimates["local"]))
            print(f"  of which the field estimate (whole province): spread {spread_est:.3f} s, "
                  f"local {local_est:.3f} s; without it the ratios are "
                  f"{(spread - spread_est) / first_full:.4f} and "
                  f"{(local - local_est) / first_full:.4f}")  # fmt: skip
        if len(sizes) > 1:
            # Issue 12's flatness: a batch's CPU at the largest store against the smallest
            # (the goal: about 1); CPU, as wall time on a shared machine waits for a core.
            low, high = cpu_medians[sizes[0]], cpu_medians[sizes[-1]]
            print(f"[{backend}] flatness, median CPU of a batch of 1,000 at {sizes[-1]:,} "
                  f"/ at {sizes[0]:,} stored: spread {high['spread']:.2f} / "
                  f"{low['spread']:.2f} s = {high['spread'] / low['spread']:.2f}, local "
                  f"{high['local']:.2f} / {low['local']:.2f} s = "
                  f"{high['local'] / low['local']:.2f} (load {load_average()})")  # fmt: skip
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=first_paragraph(__doc__))
    parser.add_argument("--readings", type=int, default=5_000_000)
    parser.add_argument("--backends", default="sqlite,postgis")
    parser.add_argument(
        "--engines", action="store_true", help="only polars against DuckDB, in memory"
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="only the full rebuild against polars"
    )
    parser.add_argument("--chunk-rows", type=int, default=columnar.DEFAULT_CHUNK_ROWS)
    parser.add_argument(
        "--no-full",
        dest="full",
        action="store_false",
        help="with --rebuild: skip the full aggregate (decisions, zones take minutes)",
    )
    parser.add_argument(
        "--incremental",
        metavar="SIZES",
        help="only issue 12's incremental figures at these stored sizes, e.g. "
        "300000,3000000 (the first is the full aggregate's anchor)",
    )
    parser.add_argument(
        "--no-field",
        dest="field",
        action="store_false",
        help="with --incremental: no kriging of the estimated field in the first full run "
        "either (minutes), when only the batches' flatness is wanted",
    )
    args = parser.parse_args()
    if args.engines:
        compare_engines(args.readings)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            if args.incremental:
                sizes = [int(v) for v in args.incremental.split(",")]
                incremental_figures(backend, sizes, Path(tmp), field=args.field)
            elif args.rebuild:
                run_rebuild(backend, args.readings, Path(tmp), args.chunk_rows, full=args.full)
            else:
                run(backend, args.readings, Path(tmp))


if __name__ == "__main__":
    main()
