"""Hexagon outlines for the QGIS views (``service.store.hexagons``): what the engine pays
for them on PostgreSQL, the first time a province's cells are decided and on later runs.

    nice .venv/bin/python -m benchmarks.hexagons [--cells 170000]

Prints the seconds to add the outlines of N new resolution-9 cells (plus their resolution-8
parents, as the roll-ups decide them), then of the same cells again (all known: only the
lookup), then of the same cells plus 1 % new ones (an incremental run's share).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from h3.api import basic_int
from sqlalchemy import create_engine

from benchmarks.aggregate import province_cells
from benchmarks.scratch import scratch_database
from service.store.hexagons import add_hexagons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=170_000)
    args = parser.parse_args()
    cells = province_cells()
    cells = cells[: args.cells]
    parents = np.unique([basic_int.cell_to_parent(int(c), 8) for c in cells])
    first = np.concatenate([cells, parents])
    with tempfile.TemporaryDirectory() as work, scratch_database("postgis", Path(work)) as url:
        engine = create_engine(url)
        timings = []
        for label, batch in (
            ("new", first),
            ("known", first),
            ("known + 1% new", np.concatenate([first, _others(cells, len(cells) // 100)])),
        ):
            with engine.begin() as conn:
                start = time.perf_counter()
                added = add_hexagons(conn, batch)
                timings.append((label, batch.size, added, time.perf_counter() - start))
        engine.dispose()
    for label, size, added, seconds in timings:
        print(f"{label:<15} {size:>9,} cells  {added:>9,} added  {seconds:7.2f} s")  # noqa: T201


def _others(cells: np.ndarray, n: int) -> np.ndarray:
    """``n`` resolution-9 cells outside ``cells`` (a ring around the last ones)."""
    known = set(cells.tolist())
    found: list[int] = []
    for c in cells[::-1]:
        for n9 in basic_int.grid_ring(int(c), 40):
            if n9 not in known and n9 not in found:
                found.append(n9)
                if len(found) == n:
                    return np.array(found, dtype=np.int64)
    return np.array(found, dtype=np.int64)


if __name__ == "__main__":
    main()
