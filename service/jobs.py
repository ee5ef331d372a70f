"""Jobs that compose the layers: the aggregation run and the server's background worker.

The engine (``service.engine``) decides cells and finds zones without knowing about areas;
the areas layer (``service.areas``) gives zones their people and priority and keeps the
progress snapshots. This module is the one place that puts them together, so no lower layer
imports a higher one. ``deadzone aggregate``, the demo and the server all run
``run_aggregation`` from here, and it runs one at a time per database whatever starts it
(``service.store.locks`` says why and how).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from domain.localtime import vietnam_date
from service.engine.aggregation import AggregationReport, StepCallback, aggregate, quiet_steps
from service.engine.chunks import cell_chunks, on_sqlite, pause, row_chunks
from service.engine.estimate import compute_estimates, replace_estimates
from service.engine.zones import Zone
from service.errors import Busy
from service.settings import Settings
from service.store.database import background_writes, session_scope, sqlite_file
from service.store.dialect import refresh_planner_statistics
from service.store.locks import AGGREGATION, BACKGROUND_AGGREGATOR, JobLock, hold
from service.store.models import CellEstimate, CellPopulation, ProgressSnapshot, ReadingRow
from service.store.runs import (
    ESTIMATED_AT,
    ESTIMATED_SEQ,
    last_run,
    set_state_value,
    state_value,
)
from service.timestamps import utcnow

if TYPE_CHECKING:  # Dask and polars are imported for a rebuild only
    from service.engine.scaleout import DaskSource

log = logging.getLogger("deadzone")


def run_aggregation(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    rebuild_all: bool = False,
    full: bool = False,
    now: datetime | None = None,
    on_step: StepCallback = quiet_steps,
    wait_s: float | None = None,
    dask: DaskSource | None = None,
    estimate: bool | None = None,
) -> AggregationReport:
    """Statistics, roll-ups, decisions and dead zones up to date, the zones ranked people
    first (``service.areas.planning.annotate_zones``). With ``dask``, the statistics are
    rebuilt on a Dask cluster (``service.engine.scaleout``). The estimated field is
    refreshed when ``estimate`` says so; by default after a full run, or once it is
    ``estimate_interval_s`` old (``report.seconds`` has 'estimate' when it ran).

    Holds the database's aggregation lock for the whole run: when another run holds it,
    waits up to ``wait_s`` seconds (default ``settings.aggregate_lock_wait_s``) for it to
    finish, then raises :class:`~service.errors.Busy`. The run that waited then merges only
    what the first one left, so the statistics count every reading once."""

    def people_first(session: Session, zones: list[Zone]) -> None:
        # Imported when zones are written: the planning module brings pyproj and the
        # areas layer, which a batch that regroups no zone does not need (start-up of
        # ``deadzone aggregate``, issue 12).
        from service.areas.planning import annotate_zones

        annotate_zones(session, zones, settings)

    wait = settings.aggregate_lock_wait_s if wait_s is None else wait_s
    # Its write transactions yield to phones' uploads on SQLite (``chunks.pause``).
    with hold(engine_of(sessions), AGGREGATION, wait_s=wait), background_writes():
        now = now or utcnow()
        report = aggregate(
            sessions,
            settings,
            rebuild_all=rebuild_all,
            full=full,
            now=now,
            on_step=on_step,
            annotate_zones=people_first,
            dask=dask,
        )
        # The estimated field is refreshed after a full run, and after an incremental one
        # only once it is ``estimate_interval_s`` old: kriging the province costs about as
        # much as deciding it, so refreshing it for every batch made a batch of 1,000
        # readings cost most of a full run (issue 12). Meanwhile the incremental path
        # withdraws inferred statuses where a status was measured.
        if estimate is None:
            with session_scope(sessions, write=False) as session:
                estimate = report.incremental is None or estimate_due(session, settings)
        if estimate:
            report.seconds["estimate"] = refresh_estimates(
                sessions, settings, now=now, max_seq=report.max_seq, on_step=on_step
            )
        return report


def estimate_due(session: Session, settings: Settings) -> bool:
    """Whether the estimated field is older than ``estimate_interval_s`` (or was never
    computed)."""
    at = state_value(session, ESTIMATED_AT)
    return at is None or time.time() - at >= settings.estimate_interval_s


def refresh_estimates(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime,
    max_seq: int,
    on_step: StepCallback = quiet_steps,
) -> float:
    """Recompute the estimated field from the decisions as committed; return seconds.

    Computed in a read-only transaction, then written: kriging a province takes minutes,
    and a write transaction around it held SQLite's single writer, so phones' uploads
    timed out (issue 12a's freshness run). On PostgreSQL readers see the previous
    estimates until the new ones commit together; on SQLite they are replaced whole cells
    at a time in short transactions (``_replace_estimates_in_chunks``). The caller holds
    the aggregation lock, so no decision changes between the reading and the writing."""
    started = time.perf_counter()
    on_step("estimate", 0, 1)
    sqlite = on_sqlite(sessions)
    with session_scope(sessions, write=False) as session:
        estimates = compute_estimates(session, settings, now=now)
        # A field that fits in one chunk is replaced at once.
        chunked = sqlite and len(estimates) > settings.sqlite_write_chunk_rows
        if chunked:
            present = set(session.scalars(select(CellEstimate.h3_cell).distinct()))
    if chunked:
        _replace_estimates_in_chunks(sessions, settings, estimates, present=present)
    with session_scope(sessions) as session:
        if not chunked:
            replace_estimates(session, estimates, resolution=settings.h3_resolution)
        refresh_planner_statistics(session, ["cell_estimates"])
        set_state_value(session, ESTIMATED_AT, int(time.time()))
        set_state_value(session, ESTIMATED_SEQ, max_seq)
    on_step("estimate", 1, 1)
    return time.perf_counter() - started


def _replace_estimates_in_chunks(
    sessions: sessionmaker[Session],
    settings: Settings,
    estimates: pd.DataFrame,
    *,
    present: set[int],
) -> None:
    """SQLite: the estimated field replaced whole cells at a time, about
    ``sqlite_write_chunk_rows`` rows per transaction (the province's in one held the
    writer 7.8 s, issue 17), then the cells no longer estimated cleared. Readers meanwhile
    see some cells' new estimates beside others' previous ones."""
    rows = estimates.sort_values("h3_cell", kind="stable", ignore_index=True)
    keys = rows["h3_cell"].to_numpy(np.int64)
    limit = settings.sqlite_write_chunk_rows
    for cells in row_chunks(keys, limit):
        low = int(np.searchsorted(keys, cells[0], side="left"))
        high = int(np.searchsorted(keys, cells[-1], side="right"))
        pause(sessions)
        with session_scope(sessions) as session:
            replace_estimates(session, rows.iloc[low:high], resolution=settings.h3_resolution,
                              cells=cells.tolist())  # fmt: skip
    for gone in cell_chunks(present - set(keys.tolist()), limit):
        pause(sessions)
        with session_scope(sessions) as session:
            replace_estimates(session, rows.iloc[0:0], resolution=settings.h3_resolution,
                              cells=gone)  # fmt: skip
    pause(sessions)


def refresh_stale_estimates(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Refresh the estimated field from the decisions of the last run, under the
    aggregation lock (skipped, raising :class:`~service.errors.Busy`, while a run holds
    it): the background worker's catch-up when readings stopped after a batch that left
    the field behind."""
    with hold(engine_of(sessions), AGGREGATION, wait_s=0), background_writes():
        with session_scope(sessions, write=False) as session:
            run = last_run(session)
        if run is not None:
            refresh_estimates(sessions, settings, now=utcnow(), max_seq=run.max_seq)


def engine_of(sessions: sessionmaker[Session]) -> Engine:
    """The engine a sessionmaker is bound to."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        raise TypeError("the sessionmaker is not bound to an Engine")
    return bind


class AggregationWorker:
    """Runs the aggregation every ``aggregate_interval_s``, so the grid follows the
    readings without anyone running a command.

    Of the server's worker processes (``deadzone serve --workers N``), only the one holding
    the background-aggregator lock aggregates; the others stand by and take over if its
    process ends. A round that finds a run in progress (``deadzone aggregate`` from cron)
    is skipped, not queued. A thread of the server decides when; the rounds themselves
    run in a process of their own (``_AggregatorProcess``), except on an in-memory
    database, which no other process sees."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._leader = JobLock(engine_of(sessions), BACKGROUND_AGGREGATOR)
        self._process = _AggregatorProcess(settings) if _shared(engine_of(sessions)) else None

    @property
    def is_leader(self) -> bool:
        """True while this process is the one that aggregates in the background."""
        return self._leader.held

    def start(self) -> None:
        if self.settings.aggregate_interval_s <= 0:
            return
        self._thread = threading.Thread(target=self._run, name="aggregation", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._process is not None:
            self._process.close()  # a round in progress stops as after a crash
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._process is not None:
            self._process.close()  # one the thread started meanwhile
        if self._thread is None or not self._thread.is_alive():
            self._leader.release()

    def _lead(self) -> bool:
        """Whether this process aggregates (taking the lead if nobody has it); its
        aggregator process starts at once, so that it is ready by the first round."""
        if self._leader.held:
            return True
        if not self._leader.acquire(wait_s=0):
            return False  # another worker process aggregates
        if self._process is not None:
            try:
                self._process.start()
            except Exception:  # e.g. a daemonic process, which may not have children
                log.exception("the aggregator process did not start: rounds run in a thread")
                self._process = None
        return True

    def _run(self) -> None:
        try:
            self._lead()
        except Exception:
            log.exception("background aggregation could not start")
        while not self._stop.wait(self.settings.aggregate_interval_s):
            try:
                if not self._lead():
                    continue
                if self._process is not None:
                    self._process.run_round()
                else:
                    aggregation_round(self.sessions, self.settings)
            except Busy:
                log.info("background aggregation skipped: another run is in progress")
            except Exception:  # keep serving; the next round retries
                if not self._stop.is_set():
                    log.exception("background aggregation failed")


def aggregation_round(sessions: sessionmaker[Session], settings: Settings) -> None:
    """One round of the background job: aggregate when readings arrived, else catch up
    with a stale estimated field and the day's snapshot."""
    if _new_readings(sessions):
        run_aggregation(sessions, settings, wait_s=0)
        if settings.snapshot_after_aggregation:
            _snapshot(sessions, settings)
    # Recomputing the province takes minutes: only when readings arrived. A day without
    # uploads still gets its snapshot, so the series has no gaps, and an estimate that a
    # batch left behind is refreshed once it is due.
    else:
        if _estimate_behind(sessions, settings):
            refresh_stale_estimates(sessions, settings)
        if settings.snapshot_after_aggregation and _no_snapshot_today(sessions):
            _snapshot(sessions, settings)


class _AggregatorProcess:
    """The background rounds in a process of their own, started at the first round and
    kept for the next ones (starting Python with pandas takes seconds).

    In the server's process, the aggregation's Python and pandas work held the
    interpreter's lock away from the threads that take phones' uploads: a thread of the
    server woke up to 0.77 s late while it ran (SQLite, load 6-8, issue 17), and every
    upload waiting for the interpreter lock waited with it. The process is killed with
    the server (a round stopped half-way is finished by the next, as after a crash)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._process: BaseProcess | None = None
        self._pipe: Connection | None = None
        # The worker's thread starts the process while the server's stop may close it:
        # a close between the process made and started found it unstarted (CI, 30 Nov).
        self._starting = threading.RLock()

    def run_round(self) -> None:
        """One ``aggregation_round`` there; :class:`Busy` if another run held the lock."""
        if self._process is None or not self._process.is_alive():
            self.start()
        assert self._pipe is not None
        self._pipe.send("round")
        answer = self._pipe.recv()  # EOFError if the process died
        if answer == "busy":
            raise Busy("another aggregation is running on this database")
        if answer != "done":
            raise RuntimeError(f"the aggregator process failed: {answer}")

    def start(self) -> None:
        with self._starting:
            self.close()
            context = multiprocessing.get_context("spawn")
            self._pipe, theirs = context.Pipe()
            self._process = context.Process(
                target=_serve_rounds, args=(self.settings, theirs),
                name="deadzone-aggregator", daemon=True,
            )  # fmt: skip
            self._process.start()
            theirs.close()

    def close(self) -> None:
        with self._starting:
            process, self._process = self._process, None
            pipe, self._pipe = self._pipe, None
        if process is not None:
            process.terminate()
            process.join(10)
        if pipe is not None:
            pipe.close()


def _serve_rounds(settings: Settings, pipe: Connection) -> None:
    """The aggregator process: a round whenever the server asks, until it goes away."""
    from service.store.database import make_engine, make_sessionmaker

    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    try:
        while True:
            try:
                pipe.recv()
            except EOFError:
                return
            try:
                aggregation_round(sessions, settings)
                pipe.send("done")
            except Busy:
                pipe.send("busy")
            except Exception as exc:
                log.exception("background aggregation failed")
                pipe.send(f"{type(exc).__name__}: {exc}")
    finally:
        engine.dispose()


def _shared(engine: Engine) -> bool:
    """Whether another process sees this engine's database (not an in-memory SQLite)."""
    return engine.dialect.name != "sqlite" or sqlite_file(engine) is not None


def _snapshot(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Today's progress from the decisions just made; the day's latest one is kept
    (``take_snapshot`` replaces rows of the same day). Skipped while no population is
    imported: there would be nobody to count as covered."""
    from service.areas.progress import take_snapshot  # areas: see people_first

    with session_scope(sessions) as session:
        if session.scalar(select(CellPopulation.h3_cell).limit(1)) is None:
            return
        take_snapshot(session, settings, now=utcnow())


def _no_snapshot_today(sessions: sessionmaker[Session]) -> bool:
    with session_scope(sessions, write=False) as session:
        newest = session.scalar(select(func.max(ProgressSnapshot.day)))
        decided = last_run(session) is not None
    return decided and (newest is None or newest < vietnam_date(utcnow()))


def _estimate_behind(sessions: sessionmaker[Session], settings: Settings) -> bool:
    """Decisions newer than the estimated field, and the field due for a refresh."""
    with session_scope(sessions, write=False) as session:
        run = last_run(session)
        behind = state_value(session, ESTIMATED_SEQ)
        due = estimate_due(session, settings)
    return run is not None and due and (behind is None or behind < run.max_seq)


def _new_readings(sessions: sessionmaker[Session]) -> bool:
    with session_scope(sessions, write=False) as session:
        run = last_run(session)
        newest = session.scalar(select(func.max(ReadingRow.seq)))
    return newest is not None and (run is None or newest > run.max_seq)
