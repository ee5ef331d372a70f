"""Parse throughput and memory: rows/s for a large Tower Collector CSV, and peak RSS.

    .venv/bin/python -m benchmarks.parse [--rows 1000000] [--keep FILE]

Writes a realistic export (all 40 columns, CRLF, LTE/GSM/UMTS/NR rows around Buon Ma Thuot,
one neighbouring-cell row in 20) to a temporary file, then times
``collectors.formats.parse_towercollector`` over it, consuming rows as the service would
(one at a time, none kept). Peak memory is the process's maximum RSS, printed before and
after the parse: streaming means the difference stays flat however big the file is.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks import first_paragraph
from collectors.formats import RowError, parse_towercollector
from collectors.formats.towercollector import COLUMNS

_RADIOS = (
    ("LTE", "rsrp", (-125, -75), 1850),
    ("LTE", "rsrp", (-125, -75), 1275),
    ("EDGE", "dbm", (-110, -60), 62),
    ("HSPA+", "rscp", (-115, -60), 10612),
    ("NR", "ss_rsrp", (-120, -70), 504990),
)


def write_export(path: Path, rows: int, seed: int = 6) -> None:
    """A Tower Collector export of ``rows`` data rows at ``path``."""
    rng = random.Random(seed)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    position = {name: i for i, name in enumerate(COLUMNS)}
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(COLUMNS) + "\r\n")
        for n in range(rows):
            net_type, metric, (low, high), arfcn = rng.choice(_RADIOS)
            fields = [""] * len(COLUMNS)
            when = start + timedelta(seconds=n * 3 + rng.random())
            signal = rng.randint(low, high)
            values = {
                "mcc": "452",
                "mnc": rng.choice("124"),
                "lac": str(rng.randint(1000, 40000)),
                "cell_id": str(rng.randint(1, 268_435_455)),
                "psc": str(rng.randint(0, 503)),
                "dbm": str(signal),
                metric: str(signal),
                "lat": f"{12.2 + rng.random():.7f}",
                "lon": f"{107.6 + rng.random() * 1.2:.7f}",
                "accuracy": f"{rng.uniform(3, 40):.1f}",
                "speed": f"{rng.uniform(0, 15):.2f}",
                "bearing": f"{rng.uniform(0, 360):.1f}",
                "altitude": f"{rng.uniform(400, 600):.1f}",
                "measured_at": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "net_type": net_type,
                "neighboring": "true" if n % 20 == 19 else "false",
                "device": f"tc-{rng.randint(0, 499):08x}",
                "arfcn": str(arfcn),
            }
            for name, value in values.items():
                fields[position[name]] = value
            out.write(",".join(fields) + "\r\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=first_paragraph(__doc__))
    parser.add_argument("--rows", type=int, default=1_000_000, help="data rows in the file")
    parser.add_argument("--keep", type=Path, help="write the file here and keep it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "towercollector.csv"
        started = time.perf_counter()
        write_export(path, args.rows)
        size = path.stat().st_size
        took = time.perf_counter() - started
        print(f"wrote {args.rows:,} rows, {size / 1e6:.0f} MB in {took:.1f} s")

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        readings = errors = 0
        started = time.perf_counter()
        with path.open("rb") as f:
            for row in parse_towercollector(f):
                if isinstance(row, RowError):
                    errors += 1
                else:
                    readings += 1
        elapsed = time.perf_counter() - started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"parsed {args.rows:,} rows ({readings:,} readings, {errors:,} errors, "
        f"{args.rows - readings - errors:,} neighbour rows skipped) in {elapsed:.1f} s: "
        f"{args.rows / elapsed:,.0f} rows/s, {size / elapsed / 1e6:.1f} MB/s"
    )
    print(f"peak RSS {rss_before:.0f} MiB before the parse, {rss_after:.0f} MiB after")


if __name__ == "__main__":
    main()
