"""What ``/v1/tasks`` and ``/v1/nearby`` cost on a province: first call and the next ones.

    .venv/bin/python -m benchmarks.task_plans [--seed 3] [--tiles 5] [--spacing-km 26]
        [--calls 3] [--work DIR]

The small demo's database of ``--seed`` (``benchmarks/tasks.py``'s, built once in ``--work``)
is copied and its estimated field, measured statuses and people are tiled ``--tiles`` x
``--tiles`` times, ``--spacing-km`` apart (moved on the H3 grid, so every cell stays a
cell): at seed 3 and 5 x 5, 62,850 cells with an estimate and 8,125 populated, the
synthetic province of ``docs/demo-accuracy.md``. Villages and communes are the demo's (in
the first tile). The API runs in this process (TestClient): each request's CPU time is
this process's (``time.process_time``), which the load of other processes does not inflate
as it does wall time. Printed per request: wall and CPU seconds of the first call, then of
each next one; then the CPU of what every request pays to know whether a kept list still
holds (``evidence_version``) and of ``areas_fingerprint`` alone, mean of 50.

To pair a change with another tree, run this file with that tree first on ``PYTHONPATH``
(``PYTHONPATH=/other/tree python benchmarks/task_plans.py --work DIR``): its service
answers, on the same database.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import h3

from benchmarks import first_paragraph
from benchmarks.tasks import demo_database
from service.store.database import make_engine, make_sessionmaker

TILED_TABLES = ("cell_estimates", "cell_status", "cell_population")
RESOLUTION = 9  # the working resolution (settings.h3_resolution)


def tile_province(source: Path, target: Path, *, tiles: int, spacing_km: float) -> int:
    """Copy ``source`` to ``target`` with its field, statuses and people repeated on a
    ``tiles`` x ``tiles`` lattice of the H3 grid; return the cells with an estimate."""
    shutil.copyfile(source, target)
    db = sqlite3.connect(target)
    try:
        centre = h3.latlng_to_cell(
            *db.execute("SELECT avg(lat), avg(lon) FROM villages").fetchone(), RESOLUTION
        )
        spacing_m = h3.average_hexagon_edge_length(RESOLUTION, "m") * 3**0.5
        step = round(spacing_km * 1000 / spacing_m)
        for table in TILED_TABLES:
            columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            at = columns.index("h3_cell")
            # The working resolution's rows (what the tasks read), not the coarser roll-ups.
            rows = [
                row
                for row in db.execute(f"SELECT {', '.join(columns)} FROM {table}")
                if h3.get_resolution(h3.int_to_str(row[at])) == RESOLUTION
            ]
            has_latlon = "lat" in columns
            moved = []
            for a in range(tiles):
                for b in range(tiles):
                    if a == b == 0:
                        continue
                    for row in rows:
                        i, j = h3.cell_to_local_ij(centre, h3.int_to_str(row[at]))
                        cell = h3.local_ij_to_cell(centre, i + a * step, j + b * step)
                        new = list(row)
                        new[at] = h3.str_to_int(cell)
                        if has_latlon:
                            new[columns.index("lat")], new[columns.index("lon")] = (
                                h3.cell_to_latlng(cell)
                            )
                        moved.append(new)
            marks = ", ".join("?" * len(columns))
            db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", moved)
        db.commit()
        return int(db.execute("SELECT count(DISTINCT h3_cell) FROM cell_estimates").fetchone()[0])
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=first_paragraph(__doc__))
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--tiles", type=int, default=5)
    parser.add_argument("--spacing-km", type=float, default=26.0)
    parser.add_argument("--calls", type=int, default=3, help="next calls after the first")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        base, database = demo_database(args.seed, work)
        target = work / f"province-seed{args.seed}-{args.tiles}x{args.tiles}.sqlite"
        cells = tile_province(database, target, tiles=args.tiles, spacing_km=args.spacing_km)
        settings = base.model_copy(update={"database_url": f"sqlite:///{target}"})
        print(f"synthetic province: {cells:,} cells with an estimate; load {os.getloadavg()}")
        run(settings, args.calls)


def run(settings, calls: int) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from service.api.app import create_app
    from service.store.models import Village

    engine = make_engine(settings)
    with make_sessionmaker(engine)() as session:
        first = session.execute(
            select(Village.code, Village.commune_code, Village.lat, Village.lon).limit(1)
        ).one()
    engine.dispose()
    code, commune, lat, lon = first
    requests = [
        ("/v1/tasks", {}),
        ("/v1/tasks", {"limit": 500}),
        ("/v1/nearby", {"lat": lat, "lon": lon}),
        ("/v1/tasks", {"commune": commune}),
        ("/v1/tasks", {"village": code}),
    ]
    with TestClient(create_app(settings)) as client:
        for path, params in requests:
            figures = []
            for _ in range(1 + calls):
                wall, cpu = time.perf_counter(), time.process_time()
                status = client.get(path, params=params).status_code
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                assert status == 200, (path, params, status)
                figures.append(f"{wall:.2f} s ({cpu:.2f} CPU)")
            print(f"{path} {params}: first {figures[0]}; next {', '.join(figures[1:])}")
        sessions = client.app.state.sessions  # type: ignore[attr-defined]
        with sessions() as session:
            try:
                from service.store.versions import areas_fingerprint, evidence_version
            except ImportError:  # a tree from before the kept lists
                from service.publish.mapdata import areas_fingerprint

                evidence_version = None
            for name, check in (("areas_fingerprint", areas_fingerprint),
                                ("evidence_version", evidence_version)):  # fmt: skip
                if check is None:
                    continue
                cpu = time.process_time()
                for _ in range(50):
                    check(session)
                print(f"{name}: {(time.process_time() - cpu) / 50 * 1000:.2f} ms CPU a call")


if __name__ == "__main__":
    main()
