"""How long the simulated province takes to build and to stream, and how much memory it needs.

Run: ``.venv/bin/python -m benchmarks.scenario [small|province] [seed]``.
"""

from __future__ import annotations

import json
import resource
import sys
import time

from simulation import generate_scenario


def main(size: str, seed: int) -> None:
    """Print generation time, streaming time and peak memory for one size."""
    t0 = time.perf_counter()
    scenario = generate_scenario(size, seed=seed)  # type: ignore[arg-type]
    t1 = time.perf_counter()
    n = 0
    size_bytes = 0
    batches = 0
    for batch in scenario.reading_batches(batch_size=1000):
        n += len(batch.readings)
        batches += 1
        if batches % 10 == 0:  # JSON size on a sample, to keep the benchmark about generation
            size_bytes += len(json.dumps(batch.readings)) * 10
    t2 = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{size}: generate {t1 - t0:.1f} s, stream {n:,} readings in {batches:,} batches "
        f"{t2 - t1:.1f} s ({n / (t2 - t1):,.0f}/s), ~{size_bytes / 1e6:,.0f} MB of JSON, "
        f"peak RSS {peak_mb:,.0f} MB"
    )
    summary = scenario.summary()
    print(json.dumps(summary, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "small", int(sys.argv[2]) if len(sys.argv) > 2 else 1
    )
