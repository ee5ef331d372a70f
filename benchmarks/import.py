"""File import throughput and memory: a Tower Collector export through ``import_readings``.

    .venv/bin/python -m benchmarks.import [--rows 1000000] [--backends sqlite,postgis]
                                          [--tracemalloc]

Writes a Tower Collector CSV of ``--rows`` LTE/GSM/UMTS rows (20 phones walking around Buon
Ma Thuot, one row a second each) to a temporary folder, then imports it into a fresh
database of each backend (SQLite file; PostGIS scratch database on the local server, i.e.
DEADZONE_TEST_POSTGRES_URL's server, dropped afterwards), the way ``deadzone import`` does:
5000 readings per transaction. Each import runs in its own process so that its peak
resident memory (``ru_maxrss``) is its own; the memory column shows how much it grew over
the process's resident size just before the import started, which stays flat when the
import streams. On SQLite that growth is mostly SQLite's own page cache, which
``service.store.database`` sets to 200 MB (``PRAGMA cache_size=-200000``, for aggregation): it
fills as the database grows and then stays, so a big import plateaus near 200 MB over the
start. ``--tracemalloc`` also reports the peak of Python allocations, which is what the
import itself holds (it slows the import about twofold, so rows/s of that run are not
comparable).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from benchmarks import first_paragraph
from benchmarks.scratch import scratch_database

REPO = Path(__file__).resolve().parents[1]

HEADER = (
    "mcc,mnc,lac,cell_id,short_cell_id,rnc,psc,asu,dbm,ta,lat,lon,accuracy,speed,bearing,"
    "altitude,measured_at,net_type,neighboring,discovered_at,device,rsrp,rsrq,rssi,rssnr,cqi,"
    "rscp,csi_rsrp,csi_rsrq,csi_sinr,ss_rsrp,ss_rsrq,ss_sinr,cdma_dbm,cdma_ecio,evdo_dbm,"
    "evdo_ecio,evdo_snr,ec_no,arfcn"
)
SECRET = "benchmark-secret-0123456789abcdef"


def write_export(path: Path, rows: int, *, seed: int = 7) -> None:
    """A Tower Collector export (CRLF) of ``rows`` serving-cell rows from 20 phones."""
    rng = random.Random(seed)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)
    phones = [[12.67 + rng.uniform(-0.3, 0.3), 108.05 + rng.uniform(-0.3, 0.3)] for _ in range(20)]
    with path.open("w", encoding="ascii", newline="") as out:
        out.write(HEADER + "\r\n")
        for i in range(rows):
            phone = i % 20
            here = phones[phone]
            here[0] += rng.uniform(-2e-4, 2e-4)
            here[1] += rng.uniform(-2e-4, 2e-4)
            t = (start + timedelta(seconds=i // 20)).isoformat().replace("+00:00", ".000Z")
            kind = rng.random()
            if kind < 0.7:  # LTE: RSRP in its own column
                rsrp = rng.randint(-125, -70)
                signal = f"32,{rsrp},3"
                tail = f"{rsrp},-12,-79,4,9,,,,,,,,,,,,,,1850"
                net, cell = "LTE", 26200000 + rng.randrange(400)
            elif kind < 0.85:  # GSM: dbm only
                signal, tail = f"12,{rng.randint(-110, -60)},1", ",,,,,,,,,,,,,,,,,,62"
                net, cell = "EDGE", 23000 + rng.randrange(300)
            else:  # UMTS: RSCP
                rscp = rng.randint(-115, -60)
                signal, tail = f"21,{rscp},", f",,,,,{rscp},,,,,,,,,,,,-8,10612"
                net, cell = "HSPA+", 80880000 + rng.randrange(300)
            out.write(
                f"452,4,12101,{cell},1,,123,{signal},{here[0]:.7f},{here[1]:.7f},5.0,1.2,90.0,"
                f"480.0,{t},{net},false,{t},bench-{phone},{tail}\r\n"
            )


def rss_mb() -> float:
    """Current resident memory of this process, MB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def child(url: str, path: Path, *, trace: bool) -> dict[str, float]:
    """Import ``path`` into ``url`` in this process; measurements as a dict."""
    from collectors.formats import open_readings
    from service.ingest.files import import_readings
    from service.ingest.readings import Ingestor
    from service.settings import Settings
    from service.store.database import make_engine, make_sessionmaker
    from service.store.models import ReadingRow

    settings = Settings(database_url=url, device_secret=SECRET, aggregate_interval_s=0)
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    ingestor = Ingestor.from_settings(settings)
    before = rss_mb()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with path.open("rb") as f:
        name, stream = open_readings(f)
        report = import_readings(sessions, ingestor, stream, format_name=name)
    elapsed = time.perf_counter() - started
    peak_traced = tracemalloc.get_traced_memory()[1] / 1e6 if trace else float("nan")
    with sessions() as s:
        stored = s.scalar(select(func.count()).select_from(ReadingRow))
    engine.dispose()
    return {
        "rows": report.accepted + report.rejected,
        "stored": float(stored or 0),
        "seconds": elapsed,
        "rss_before_mb": before,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
        "traced_peak_mb": peak_traced,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=first_paragraph(__doc__))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgis")
    parser.add_argument("--tracemalloc", action="store_true", help="Also trace allocations.")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]), trace=args.tracemalloc)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "towercollector.csv"
        started = time.perf_counter()
        write_export(export, args.rows)
        size_mb = export.stat().st_size / 1e6
        print(f"{args.rows:,} rows, {size_mb:,.0f} MB, written in "
              f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
        print(f"{'backend':8} {'rows':>10} {'stored':>10} {'s':>7} {'rows/s':>8} "
              f"{'RSS before':>11} {'peak RSS':>9} {'traced peak':>12}")  # fmt: skip
        for backend in args.backends.split(","):
            with scratch_database(backend, Path(tmp)) as url:
                # A child process per backend, so its peak memory is the import's alone.
                command = [sys.executable, "-m", "benchmarks.import", "--child", url, str(export)]
                if args.tracemalloc:
                    command.append("--tracemalloc")
                done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO)
            m = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"{backend:8} {m['rows']:10,.0f} {m['stored']:10,.0f} {m['seconds']:7.1f} "
                f"{m['rows'] / m['seconds']:8,.0f} {m['rss_before_mb']:8,.0f} MB "
                f"{m['max_rss_mb']:6,.0f} MB {m['traced_peak_mb']:9,.1f} MB",
                flush=True,
            )


if __name__ == "__main__":
    main()
