"""Do the tasks send teams where the dead places are? Top tasks against random visits.

    .venv/bin/python -m benchmarks.tasks [--seeds 3,5,7] [--visits 40] [--draws 3] [--work DIR]
        [--cell-weights 0,20] [--populations unknown]

For each seed (use seeds the tests do not pin: they pin 1), the small demo province runs
end to end into a SQLite file (``deadzone demo`` without maps; with ``--work`` it is kept
there and reused by the next run), which is then copied once per arm:

* **tasks**: the top ``--visits`` cells of ``GET /v1/tasks?limit=N`` are visited;
* **random**: as many cells drawn at random among the unknown cells, as the issue says:
  the cells whose best-of-all status is unknown, those with too few readings and the
  populated ones without any (the map's unknown), with or without people. ``--draws``
  independent draws, each on its own copy (seeded by the seed and the draw); the ratio is
  against their mean. (Until 30 November 2026 the draw kept only populated cells: the demo
  has 27-32 such cells, so the "random" arm visited all of them, fewer than 40, and its
  one "draw" was no draw.)

A visit is what the issue's village team does: two phones of each operator, three readings
each, on two days (yesterday and the day before the scenario's now). The readings come from
the simulation's truth: a phone camps on its operator's best radio (as real phones fall
back), reports that radio's true mean plus the simulated handset offset and fast fading,
rounded to whole dB, and "no service" below the camping minimum. They go through the real
ingest, each phone's readings of a day uploaded that evening from a connection of its own
(new phones of one network and hour count as one device: ``service/engine/trust.py``); the
grid and the estimated field are recomputed (the field explicitly: an incremental run leaves
it to its own schedule). A cell's visit draws its handsets and fading from a generator
seeded by the seed and the cell, so a cell visited in both arms gives both the same
readings (common random numbers: the arms differ by the cells chosen, not by the dice).
Counted: truly dead (cell, operator) pairs called dead (measured or estimated,
``/v1/cells?include=inferred`` semantics) after the visits and not before, per operator and
best of all, over the whole grid (a visit also teaches the estimate about neighbours);
beside it the net count, less the truly dead pairs called dead before and not after (the
field's covariance is refitted on a new sample of cells after any visit and moves cells far
from every visit, in both arms), and the count in populated cells alone (where the tasks'
value, weighted by people, looks). Goal: tasks find at least 1.5 times (aim 3 times) what
random visits find.

Before anything is chosen or counted, the seed's database is copied and its decisions and
field rebuilt by the running tree's code (a full aggregation), so that a database kept in
``--work`` by another tree measures this tree: until 2 December 2026 "before" was the
building tree's field, and a change to the field measured on main's databases counted its
own differences from main as pairs newly found, in both arms.

``--cell-weights`` plans one tasks arm per ``task_cell_weight`` (people-equivalents a cell
adds beside its people: ``service/areas/tasks.py``), all against the same random arms;
``--populations`` visits only the named random populations (``--draws 0``: none; their
counts do not depend on the tasks, so another run's serve).

Figures depend on the machine only for the timings; counts are deterministic per seed.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import h3
import numpy as np
import pandas as pd
from sqlalchemy import select

from benchmarks import first_paragraph
from domain.radio import CAMPING_MIN_DBM, SIGNAL_RANGES, Radio
from service.areas.tasks import rank_tasks
from service.ingest.readings import Ingestor
from service.jobs import run_aggregation
from service.settings import Settings
from service.store.database import make_engine, make_sessionmaker, session_scope
from service.store.models import CellEstimate, CellPopulation, CellStatus
from simulation import generate_scenario
from simulation.demo import DEMO_DATABASE, demo_settings, reset_demo_database, run_demo
from simulation.residents import FAST_FADING_SD_DB, HANDSET_MODELS

PHONES = 2
READINGS = 3


def called_dead(settings: Settings) -> set[tuple[int, str]]:
    """(cell, scope) pairs called dead, measured or estimated."""
    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine)() as session:
            c, e = CellStatus, CellEstimate
            measured = session.execute(
                select(c.h3_cell, c.operator).where(
                    c.radio == "any", c.resolution == settings.h3_resolution, c.status == "dead"
                )
            ).all()
            inferred = session.execute(
                select(e.h3_cell, e.operator).where(
                    e.inferred_status == "dead",
                    e.radio == "any",
                    e.resolution == settings.h3_resolution,
                )  # fmt: skip
            ).all()
    finally:
        engine.dispose()
    return {(int(cell), str(op)) for cell, op in [*measured, *inferred]}


def people_cells(settings: Settings) -> set[int]:
    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine)() as session:
            cells = session.scalars(
                select(CellPopulation.h3_cell).where(CellPopulation.people > 0)
            ).all()
    finally:
        engine.dispose()
    return {int(c) for c in cells}


def truly_dead(scenario) -> set[tuple[int, str]]:  # type: ignore[no-untyped-def]
    per_op = scenario.truth_by_operator()
    dead = per_op[per_op["truth_class"].astype(str) == "dead"]
    pairs = {(int(c), str(o)) for c, o in zip(dead["cell"], dead["operator"], strict=True)}
    best = scenario.cells[scenario.cells["best_class"].astype(str) == "dead"]["cell"]
    return pairs | {(int(c), "any") for c in best}


def visit_readings(scenario, cells: list[int], seed: int) -> list[dict]:  # type: ignore[no-untyped-def]
    """Two phones per operator, three readings each, on two days, from the truth; each
    cell's dice from its own generator (the same readings whichever arm visits it)."""
    truth = scenario.truth
    offsets = np.array([m[1] for m in HANDSET_MODELS])
    items: list[dict] = []
    by_cell = {int(c): g for c, g in truth[truth["cell"].isin(cells)].groupby("cell")}
    for cell in cells:
        rows = by_cell.get(int(cell))
        if rows is None:
            continue
        lat, lon = h3.cell_to_latlng(h3.int_to_str(int(cell)))
        rng = np.random.default_rng((seed, int(cell)))
        for operator, mine in rows.groupby("operator", observed=True):
            mcc, mnc = (int(x) for x in str(operator).split("-"))
            for phone in range(PHONES):
                device = f"visit-{cell}-{operator}-{phone}"
                offset = float(rng.choice(offsets))
                for k in range(READINGS):
                    # Idle-mode selection: the best radio the phone can camp on.
                    best = None
                    for radio_name, signal in zip(mine["radio"], mine["signal_dbm"], strict=True):
                        radio = Radio(str(radio_name))
                        value = float(signal) + offset + rng.normal(0, FAST_FADING_SD_DB)
                        if np.isfinite(value) and value >= CAMPING_MIN_DBM[radio]:
                            margin = value - CAMPING_MIN_DBM[radio]
                            if best is None or margin > best[2]:
                                best = (radio, round(value), margin)
                    observed = scenario.now - timedelta(days=1 + (k % 2), hours=k)
                    reading = {
                        "id": f"{device}-{k}", "device": device,
                        "observed_at": observed.isoformat(), "lat": lat, "lon": lon,
                        "accuracy_m": 5.0, "mcc": mcc, "mnc": mnc,
                    }  # fmt: skip
                    if best is None:
                        reading |= {"radio": "lte", "no_service": True}
                    else:
                        top = SIGNAL_RANGES[best[0]].max_dbm
                        reading |= {"radio": best[0].value, "signal_dbm": min(best[1], top)}
                    items.append(reading)
    return items


def visit(settings: Settings, scenario, cells: list[int], seed: int) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(settings)
    try:
        sessions = make_sessionmaker(engine)
        items = visit_readings(scenario, cells, seed)
        # Each phone uploads its readings of a day that evening, from its own connection:
        # new phones of one network and hour would count as one device (service/engine/
        # trust.py), and a team that uploads together on one Wi-Fi is told to spread out.
        uploads: dict[tuple[str, str], list[dict]] = {}
        for item in items:
            uploads.setdefault((item["device"], item["observed_at"][:10]), []).append(item)
        ingestor = Ingestor.from_settings(settings)
        origins: dict[str, str] = {}
        for (device, _), batch in sorted(uploads.items()):
            n = origins.setdefault(device, f"10.{len(origins) // 250}.{len(origins) % 250}.1")
            sent = max(datetime.fromisoformat(i["observed_at"]) for i in batch) + timedelta(hours=1)
            with session_scope(sessions) as session:
                result = ingestor.ingest(session, batch, now=min(sent, scenario.now), origin=n)
            assert not result.rejected, result.rejected[:3]
        run_aggregation(sessions, settings, now=scenario.now, estimate=True)  # what a day brings
    finally:
        engine.dispose()


def choose(
    settings: Settings, visits: int, seed: int, draws: int, weights: list[float] | None = None
) -> tuple[dict[float, list[int]], dict[str, list[list[int]]]]:
    """(per ``task_cell_weight`` of ``weights``, default the setting's: the top task cells;
    per population ``draws`` draws of as many of its cells)."""
    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine)() as session:
            tasks = {
                w: rank_tasks(session, settings.model_copy(update={"task_cell_weight": w}),
                              limit=visits)
                for w in (weights or [settings.task_cell_weight])
            }  # fmt: skip
            people = {
                int(c)
                for c in session.scalars(
                    select(CellPopulation.h3_cell).where(CellPopulation.people > 0)
                ).all()
            }
            decided = session.execute(
                select(CellStatus.h3_cell, CellStatus.operator, CellStatus.status).where(
                    CellStatus.radio == "any", CellStatus.resolution == settings.h3_resolution
                )
            ).all()
    finally:
        engine.dispose()
    best = {int(c): status for c, op, status in decided if op == "any"}
    operators = sorted({str(op) for _, op, _ in decided if op != "any"})
    status = {(int(c), str(op)): s for c, op, s in decided}
    undecided = {c for c in people for op in operators if status.get((c, op)) in (None, "unknown")}
    populations = {
        # The "unknown cells": best of all unknown, with readings or people.
        "unknown": sorted((set(best) | people) - {c for c, s in best.items() if s != "unknown"}),
        # The cells the tasks choose among: people, and some operator undecided.
        "populated undecided": sorted(undecided),
    }  # fmt: skip
    drawn = {
        name: [
            np.random.default_rng((seed, k))
            .choice(cells, size=min(visits, len(cells)), replace=False)
            .tolist()
            for k in range(draws)
        ]
        for name, cells in populations.items()
    }
    return {w: [h3.str_to_int(t.h3) for t in found] for w, found in tasks.items()}, drawn


def demo_database(seed: int, work: Path) -> tuple[Settings, Path]:
    """The seed's demo database in ``work``, built once (a marker file says it finished)."""
    out = work / f"seed{seed}"
    base = demo_settings(out)
    marker = out / "benchmark-ready"
    if not marker.exists():
        reset_demo_database(out)
        run_demo(base, size="small", seed=seed, out=out, maps=False, snapshot_weeks=0)
        marker.write_text("built by benchmarks/tasks.py\n")
    return base, out / DEMO_DATABASE


def refreshed(base: Settings, built: Path, now: datetime) -> tuple[Settings, Path]:
    """A copy of the seed's database with its decisions and field rebuilt by this tree's
    code (a full run), so that the tasks, "before" and "after" are all this tree's: the
    database may have been built by another tree (``--work`` keeps it), and counting that
    tree's field as "before" would count the difference between the two codes as pairs
    newly found, in both arms."""
    database = built.with_name(f"{built.stem}-refreshed{built.suffix}")
    for suffix in ("", "-wal", "-shm", ".aggregation.lock"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(built, database)
    settings = base.model_copy(update={"database_url": f"sqlite:///{database}"})
    engine = make_engine(settings)
    try:
        run_aggregation(make_sessionmaker(engine), settings, full=True, now=now, estimate=True)
    finally:
        engine.dispose()
    return settings, database


def found_after(  # type: ignore[no-untyped-def]
    base: Settings, database: Path, scenario, cells: list[int], seed: int, copy: Path
) -> dict[str, int]:
    """Visit ``cells`` on a copy of ``database``: the truly dead pairs newly called dead
    (per scope and in all), and the net count (less those no longer called dead)."""
    truth = truly_dead(scenario)
    before = called_dead(base) & truth
    shutil.copyfile(database, copy)
    try:
        settings = base.model_copy(update={"database_url": f"sqlite:///{copy}"})
        visit(settings, scenario, cells, seed)
        after = called_dead(settings) & truth
    finally:
        for suffix in ("", "-wal", "-shm", ".aggregation.lock"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
    new = after - before
    scopes = pd.Series([scope for _, scope in new], dtype=object).value_counts()
    populated = people_cells(base)
    return {
        "pairs": len(new), "net": len(after) - len(before),
        "populated": sum(1 for cell, _ in new if cell in populated),
        **{str(k): int(v) for k, v in scopes.items()},
    }  # fmt: skip


@dataclass
class SeedResult:
    tasks: dict[float, dict[str, int]]  # per task_cell_weight
    random: dict[str, list[dict[str, int]]]  # per population, one count per draw
    visits: dict[float, int]
    seconds: float


def run_seed(
    seed: int, visits: int, draws: int, work: Path, *, weights: list[float] | None = None,
    populations: list[str] | None = None,
) -> SeedResult:  # fmt: skip
    started = time.perf_counter()
    base, built = demo_database(seed, work)
    scenario = generate_scenario("small", seed=seed)
    base, database = refreshed(base, built, scenario.now)
    task_cells, random_draws = choose(base, visits, seed, draws, weights)
    copy = work / f"seed{seed}-visited.sqlite"
    tasks = {
        w: found_after(base, database, scenario, cells, seed, copy)
        for w, cells in task_cells.items()
    }
    randoms = {
        name: [found_after(base, database, scenario, c, seed, copy) for c in cells]
        for name, cells in random_draws.items()
        if populations is None or name in populations
    }
    return SeedResult(
        tasks, randoms, {w: len(c) for w, c in task_cells.items()},
        round(time.perf_counter() - started, 1),
    )  # fmt: skip


def ratio(tasks: dict[str, int], randoms: list[dict[str, int]], key: str) -> str:
    mean = float(np.mean([r[key] for r in randoms])) if randoms else 0.0
    return f"{tasks[key]}/{mean:.1f} = {tasks[key] / mean:.2f}" if mean > 0 else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=first_paragraph(__doc__))
    parser.add_argument("--seeds", default="3,5,7", help="comma-separated demo seeds (not 1)")
    parser.add_argument("--visits", type=int, default=40)
    parser.add_argument("--draws", type=int, default=3, help="random draws, each visited")
    parser.add_argument(
        "--work", type=Path, default=None,
        help="keep each seed's demo database here and reuse it (default: a temporary folder)",
    )  # fmt: skip
    parser.add_argument(
        "--cell-weights", default=None,
        help="comma-separated task_cell_weight values, one tasks arm each, side by side on "
        "the same random arms (default: the setting's)",
    )  # fmt: skip
    parser.add_argument(
        "--populations", default=None,
        help="comma-separated random populations to visit: unknown, 'populated undecided' "
        "(default: both)",
    )  # fmt: skip
    args = parser.parse_args()
    weights = [float(w) for w in args.cell_weights.split(",")] if args.cell_weights else None
    populations = args.populations.split(",") if args.populations else None
    with tempfile.TemporaryDirectory(prefix="deadzone-tasks-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for seed in (int(s) for s in args.seeds.split(",")):
            result = run_seed(seed, args.visits, args.draws, work, weights=weights,
                              populations=populations)  # fmt: skip
            load = Path("/proc/loadavg").read_text().split()[0]
            print(f"seed {seed}: {args.visits} per random draw, {result.seconds} s, load "
                  f"{load}; newly found truly dead (cell, scope) pairs:")  # fmt: skip
            for name, counts in result.random.items():
                print(f"  random among {name} cells: {counts}")
            for w, tasks in result.tasks.items():
                print(f"  tasks at task_cell_weight {w:g} ({result.visits[w]} visits): {tasks}")
                for name, counts in result.random.items():
                    print(f"    against random {name}: {ratio(tasks, counts, 'pairs')} (net "
                          f"{ratio(tasks, counts, 'net')}, in populated cells "
                          f"{ratio(tasks, counts, 'populated')})")  # fmt: skip


if __name__ == "__main__":
    main()
