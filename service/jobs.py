"""Jobs that compose the layers: the aggregation run and the server's background worker.

The engine (``service.engine``) decides cells and finds zones without knowing about areas;
the areas layer (``service.areas``) gives zones their people and priority and keeps the
progress snapshots. This module is the one place that puts them together, so no lower layer
imports a higher one. ``deadzone aggregate``, the demo and the server all run
``run_aggregation`` from here.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.areas.planning import annotate_zones
from service.areas.progress import take_snapshot
from service.engine.aggregation import AggregationReport, StepCallback, aggregate
from service.engine.estimate import estimate_cells
from service.engine.zones import Zone
from service.settings import Settings
from service.store.database import session_scope
from service.store.models import CellPopulation, ProgressSnapshot, ReadingRow
from service.store.runs import last_run
from service.timestamps import utcnow

log = logging.getLogger("deadzone")


def _quiet(step: str, done: int, total: int) -> None:
    return None


def run_aggregation(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    rebuild_all: bool = False,
    now: datetime | None = None,
    on_step: StepCallback = _quiet,
) -> AggregationReport:
    """Statistics, roll-ups, decisions and dead zones up to date, the zones ranked people
    first (``service.areas.planning.annotate_zones``)."""

    def people_first(session: Session, zones: list[Zone]) -> None:
        annotate_zones(session, zones, settings)

    now = now or utcnow()
    report = aggregate(
        sessions,
        settings,
        rebuild_all=rebuild_all,
        now=now,
        on_step=on_step,
        annotate_zones=people_first,
    )
    # The estimated field follows the decisions just committed (it reads them to leave
    # decided cells without an inferred status); its own transaction, so readers see the
    # previous estimates until the new ones are complete.
    started = time.perf_counter()
    on_step("estimate", 0, 1)
    with session_scope(sessions) as session:
        estimate_cells(session, settings, now=now)
    on_step("estimate", 1, 1)
    report.seconds["estimate"] = time.perf_counter() - started
    return report


class AggregationWorker:
    """Runs the aggregation every ``aggregate_interval_s`` in a background thread of the
    server, so the grid follows the readings without anyone running a command."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.settings.aggregate_interval_s <= 0:
            return
        self._thread = threading.Thread(target=self._run, name="aggregation", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.settings.aggregate_interval_s):
            try:
                if self._new_readings():
                    run_aggregation(self.sessions, self.settings)
                    if self.settings.snapshot_after_aggregation:
                        self._snapshot()
                # Recomputing the province takes minutes: only when readings arrived. A
                # day without uploads still gets its snapshot, so the series has no gaps.
                elif self.settings.snapshot_after_aggregation and self._no_snapshot_today():
                    self._snapshot()
            except Exception:  # keep serving; the next round retries
                log.exception("background aggregation failed")

    def _snapshot(self) -> None:
        """Today's progress from the decisions just made; the day's latest one is kept
        (``take_snapshot`` replaces rows of the same day). Skipped while no population is
        imported: there would be nobody to count as covered."""
        with session_scope(self.sessions) as session:
            if session.scalar(select(CellPopulation.h3_cell).limit(1)) is None:
                return
            take_snapshot(session, self.settings, now=utcnow())

    def _no_snapshot_today(self) -> bool:
        with session_scope(self.sessions, write=False) as session:
            newest = session.scalar(select(func.max(ProgressSnapshot.day)))
            decided = last_run(session) is not None
        return decided and (newest is None or newest < utcnow().date())

    def _new_readings(self) -> bool:
        with session_scope(self.sessions, write=False) as session:
            run = last_run(session)
            newest = session.scalar(select(func.max(ReadingRow.seq)))
        return newest is not None and (run is None or newest > run.max_seq)
