"""Do the tasks send teams where the dead places are? Top tasks against random visits.

    .venv/bin/python -m benchmarks.tasks [--seeds 3,5,7] [--visits 40]

For each seed (use seeds the tests do not pin: they pin 1), the small demo province runs
end to end into a SQLite file (``deadzone demo`` without maps), which is then copied twice:

* **tasks**: the top ``--visits`` cells of ``GET /v1/tasks?limit=N`` are visited;
* **random**: as many cells drawn at random among the populated cells whose best-of-all
  status is unknown (the same seed for the draw each run).

A visit is what the issue's village team does: two phones of each operator, three readings
each, on two days (yesterday and the day before the scenario's now). The readings come from
the simulation's truth: a phone camps on its operator's best radio (as real phones fall
back), reports that radio's true mean plus the simulated handset offset and fast fading,
rounded to whole dB, and "no service" below the camping minimum. They go through the real
ingest, each phone's readings of a day uploaded that evening from a connection of its own
(new phones of one network and hour count as one device: ``service/engine/trust.py``); the
grid and the estimated field are recomputed (the field explicitly: an incremental run leaves
it to its own schedule). Counted: truly dead (cell, operator) pairs
called dead (measured or estimated, ``/v1/cells?include=inferred`` semantics) after the
visits and not before, per operator and best of all, over the whole grid (a visit also
teaches the estimate about neighbours). Goal: tasks find at least 1.5 times (aim 3 times)
what random visits find.

Figures depend on the machine only for the timings; counts are deterministic per seed.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import h3
import numpy as np
import pandas as pd
from sqlalchemy import select

from domain.radio import CAMPING_MIN_DBM, SIGNAL_RANGES, Radio
from service.areas.tasks import plan_tasks
from service.ingest.readings import Ingestor
from service.jobs import run_aggregation
from service.settings import Settings
from service.store.database import make_engine, make_sessionmaker, session_scope
from service.store.models import CellEstimate, CellPopulation, CellStatus
from simulation import generate_scenario
from simulation.demo import demo_settings, run_demo
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


def truly_dead(scenario) -> set[tuple[int, str]]:  # type: ignore[no-untyped-def]
    per_op = scenario.truth_by_operator()
    dead = per_op[per_op["truth_class"].astype(str) == "dead"]
    pairs = {(int(c), str(o)) for c, o in zip(dead["cell"], dead["operator"], strict=True)}
    best = scenario.cells[scenario.cells["best_class"].astype(str) == "dead"]["cell"]
    return pairs | {(int(c), "any") for c in best}


def visit_readings(scenario, cells: list[int], seed: int) -> list[dict]:  # type: ignore[no-untyped-def]
    """Two phones per operator, three readings each, on two days, from the truth."""
    rng = np.random.default_rng(seed)
    truth = scenario.truth
    offsets = np.array([m[1] for m in HANDSET_MODELS])
    items: list[dict] = []
    by_cell = {int(c): g for c, g in truth[truth["cell"].isin(cells)].groupby("cell")}
    for cell in cells:
        rows = by_cell.get(int(cell))
        if rows is None:
            continue
        lat, lon = h3.cell_to_latlng(h3.int_to_str(int(cell)))
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


def choose(settings: Settings, visits: int, seed: int) -> tuple[list[int], list[int]]:
    """(top task cells, random unknown populated cells)."""
    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine)() as session:
            tasks, _ = plan_tasks(session, settings, limit=visits)
            people = session.scalars(
                select(CellPopulation.h3_cell).where(CellPopulation.people > 0)
            ).all()
            known = set(
                session.scalars(
                    select(CellStatus.h3_cell).where(
                        CellStatus.operator == "any", CellStatus.radio == "any",
                        CellStatus.resolution == settings.h3_resolution,
                        CellStatus.status != "unknown",
                    )
                ).all()
            )  # fmt: skip
    finally:
        engine.dispose()
    unknown = sorted(int(c) for c in people if int(c) not in known)
    rng = np.random.default_rng(seed)
    drawn = rng.choice(unknown, size=min(visits, len(unknown)), replace=False).tolist()
    return [h3.str_to_int(t.h3) for t in tasks], [int(c) for c in drawn]


def run_seed(seed: int, visits: int, work: Path) -> dict[str, object]:
    out = work / f"seed{seed}"
    base = demo_settings(out)
    started = time.perf_counter()
    run_demo(base, size="small", seed=seed, out=out, maps=False, snapshot_weeks=0)
    scenario = generate_scenario("small", seed=seed)
    truth = truly_dead(scenario)
    before = called_dead(base) & truth
    task_cells, random_cells = choose(base, visits, seed)
    found: dict[str, dict[str, int]] = {}
    for name, cells in (("tasks", task_cells), ("random", random_cells)):
        copy = work / f"seed{seed}-{name}.sqlite"
        shutil.copyfile(out / "demo.sqlite", copy)
        settings = base.model_copy(update={"database_url": f"sqlite:///{copy}"})
        visit(settings, scenario, cells, seed)
        new = (called_dead(settings) & truth) - before
        scopes = pd.Series([scope for _, scope in new], dtype=object).value_counts()
        found[name] = {"pairs": len(new), **{str(k): int(v) for k, v in scopes.items()}}
    return {"seed": seed, "found": found, "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="3,5,7", help="comma-separated demo seeds (not 1)")
    parser.add_argument("--visits", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deadzone-tasks-") as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            result = run_seed(seed, args.visits, Path(tmp))
            tasks, rand = result["found"]["tasks"], result["found"]["random"]  # type: ignore[index]
            ratio = tasks["pairs"] / rand["pairs"] if rand["pairs"] else float("inf")
            print(f"seed {seed}: {args.visits} visits; newly found truly dead (cell, scope) "
                  f"pairs: tasks {tasks}, random {rand}; ratio {ratio:.2f} "
                  f"({result['seconds']} s, shared machine)")  # fmt: skip


if __name__ == "__main__":
    main()
