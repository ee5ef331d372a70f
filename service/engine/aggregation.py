"""The engine's run: statistics up to date, roll-ups, decisions and dead zones.

The engine knows nothing of areas, plans or progress: what happens to the zones before they
are stored (people, villages, priority) comes in as a hook, and what follows the run
(snapshots, the background worker) lives in ``service.jobs``, which composes the layers.
Each step is its own transaction, committed by ``session_scope``. On PostgreSQL readers see
the previous decisions until the new ones commit together with the zones; on SQLite, whose
one writer phones' uploads wait for, the decisions are written whole cells at a time in
short transactions and the zones last (``service.engine.chunks``, docs/availability.md).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select, union
from sqlalchemy.orm import Session, sessionmaker

from domain.vocabulary import BEST_OF_ALL
from service.engine.chunks import (
    FULL_INCOMPLETE,
    INCOMPLETE_STATE,
    cell_chunks,
    on_sqlite,
    parent_groups,
    pause,
    row_chunks,
)
from service.engine.decisions import decide_resolution
from service.engine.incremental import (
    IncrementalResult,
    can_run_incrementally,
    clear_dirty,
    decide_incrementally,
    most_cells_changed,
    record_decision_state,
)
from service.engine.results import previous_zones, store_decisions, store_zones, write_zones
from service.engine.statistics import (
    h3_resolution_of,
    merge_new_readings,
    reading_class,
    reading_weight,
    rebuild,
    rollup,
    rollup_parents,
    safe_max_seq,
    set_rollup_watermark,
    watermark,
)
from service.engine.trust import (
    mark_trusted,
    merge_untrusted,
    rebuild_provisional,
    refresh_trust,
)
from service.engine.zones import Zone, find_zones
from service.settings import Settings
from service.store.database import session_scope
from service.store.dialect import cells_in, refresh_planner_statistics, unindexed
from service.store.models import AggregationRun, CellDevice, CellStat, CellStatus, DeadZone
from service.store.runs import (
    remember_first_zoning,
    set_state_value,
    set_state_values,
    state_values,
)
from service.store.versions import people_version
from service.timestamps import utcnow

if TYPE_CHECKING:  # Dask and polars are imported for a rebuild only
    from service.engine.scaleout import DaskSource

log = logging.getLogger("deadzone")

StepCallback = Callable[[str, int, int], None]
"""Called as on_step(step, done, total), e.g. to move a progress bar."""

ZoneHook = Callable[[Session, list[Zone]], None]
"""Called with the zones just found, before they are stored, in the same transaction."""

REWRITTEN_TABLES = ("cell_stats", "cell_devices", "cell_status", "zone_cells", "dead_zones")
"""Tables a full run rewrites wholesale."""
LOOKED_UP_TABLES = (*REWRITTEN_TABLES, "provisional_stats")
"""Tables the next incremental runs read by cell, analyzed at the end of a full run: the
provisional rows grow with the merges, and never analyzed (autovacuum off, or not yet)
the planner took a thousand cells' rows for a quarter of the table and read all of it."""
MERGE_CHUNK = 500_000  # readings per merge transaction: bounds memory and lock time


@dataclass
class AggregationReport:
    merged_readings: int
    rebuilt: bool
    cells: dict[int, int]
    zones: int
    max_seq: int
    seconds: dict[str, float]
    incremental: IncrementalResult | None = None
    """What the incremental path touched; None after a full run."""


def quiet_steps(step: str, done: int, total: int) -> None:
    """A step callback that shows nothing (the default)."""
    return None


def update_statistics(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    rebuild_all: bool = False,
    on_step: StepCallback = quiet_steps,
    dask: DaskSource | None = None,
) -> tuple[int, int]:
    """Merge new readings into the statistics (or rebuild them); return (seqs spanned,
    max seq)."""
    with session_scope(sessions) as session:
        up_to = safe_max_seq(session)
    if rebuild_all or dask is not None:
        with session_scope(sessions) as session:
            # In the rebuild's transaction: it empties the roll-ups and every decision's
            # inputs, so a run stopped after it must not go on incrementally (from an
            # unknown roll-up watermark it would rebuild only its own cells' parents).
            set_state_value(session, INCOMPLETE_STATE, FULL_INCOMPLETE)
            rebuilt_to = rebuild(session, settings, up_to=up_to, progress=on_step, dask=dask)
            rebuild_provisional(session, settings, up_to=rebuilt_to, classify=_classify(settings))
        if rebuilt_to == up_to:
            return up_to, up_to
        # Rebuilt from an archive: what arrived after the export merges below.
    with session_scope(sessions, write=False) as session:
        start = watermark(session)
    done = 0
    total = max(up_to - start, 0)
    postgres = on_postgres(sessions)
    chunk = MERGE_CHUNK if postgres else settings.sqlite_merge_chunk_readings
    while start + done < up_to:
        if done:
            pause(sessions)  # a phone's upload waiting for the writer goes first (SQLite)
        with session_scope(sessions) as session:
            top = min(start + done + chunk, up_to)
            trusted = merge_untrusted(session, settings, after=watermark(session), up_to=top,
                                      classify=_classify(settings))  # fmt: skip
            done += merge_new_readings(session, settings, up_to=top)
            mark_trusted(session, trusted)  # last: phones' uploads update those rows too
        on_step("statistics", done, total)
    return total, up_to


def aggregate(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    rebuild_all: bool = False,
    full: bool = False,
    now: datetime | None = None,
    on_step: StepCallback = quiet_steps,
    annotate_zones: ZoneHook | None = None,
    dask: DaskSource | None = None,
) -> AggregationReport:
    """Bring statistics, roll-ups, decisions and dead zones up to date.

    Incremental when it can be (``service.engine.incremental``): only the cells whose
    statistics changed, and their neighbourhoods, are decided again. ``full`` (or
    ``rebuild_all``, or new decision rules) recomputes the whole grid.
    ``annotate_zones`` may add people, villages and a priority to the zones before they are
    stored (``service.jobs`` passes the areas layer's); without it zones keep the engine's
    cells-based score."""
    now = now or utcnow()
    timings: dict[str, float] = {}
    clock = _Clock(timings)
    with clock("statistics"):
        merged, max_seq = update_statistics(
            sessions, settings, rebuild_all=rebuild_all, on_step=on_step, dask=dask
        )
    if merged:
        pause(sessions)  # between the last merge and the roll-ups
    with session_scope(sessions, write=False) as session:
        # A rebuild (here or on Dask) replaced the statistics wholesale: decide everything.
        # Read once, before the run reads any people: an import committed meanwhile makes
        # the next run a full one (incremental.record_decision_state). PostgreSQL reads
        # each statement's own snapshot, so a second read could see an import the check
        # did not (found in review).
        people = people_version(session)
        incremental = not (full or rebuild_all or dask is not None) and can_run_incrementally(
            session, settings, now=now, people=people
        )
        if incremental and most_cells_changed(session, settings):
            log.info("a batch changed most cells: every cell is decided (the full path)")
            incremental = False
    if incremental:
        counted: dict[str, Any] = {}

        def finish(session: Session, result: IncrementalResult) -> None:
            """In the transaction that stores the decisions: the run's record."""
            remember_first_zoning(session, now=now)  # a store upgraded since its last full run
            counted["cells"] = _counts_after_batch(session, settings, result.best_cells_moved)
            counted["zones"] = int(
                session.scalar(
                    select(func.count()).select_from(DeadZone).where(DeadZone.active.is_(True))
                )
                or 0
            )
            session.add(
                AggregationRun(
                    finished_at=utcnow(), max_seq=max_seq,
                    cells=counted["cells"].get(settings.h3_resolution, 0),
                    zones=counted["zones"], scopes=sorted(result.scopes_changed),
                )
            )  # fmt: skip

        with clock("incremental"):
            on_step("decisions", 0, 1)
            result = decide_incrementally(
                sessions, settings, now=now, people=people, annotate_zones=annotate_zones,
                write_zones=functools.partial(write_zones, now=now), finish=finish,
                on_step=on_step,
            )  # fmt: skip
            on_step("decisions", 1, 1)
        return AggregationReport(
            merged, rebuild_all, counted["cells"], counted["zones"], max_seq, timings,
            incremental=result,
        )  # fmt: skip
    zone_count, cells = _decide_everything(
        sessions, settings, now=now, clock=clock, on_step=on_step,
        annotate_zones=annotate_zones, up_to=max_seq, people=people,
    )  # fmt: skip
    return AggregationReport(merged, rebuild_all, cells, zone_count, max_seq, timings)


def _decide_everything(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime,
    clock: _Clock,
    on_step: StepCallback,
    annotate_zones: ZoneHook | None,
    up_to: int,
    people: int,
) -> tuple[int, dict[int, int]]:
    """The full path: every roll-up, decision and zone recomputed; returns the zones and
    the cells decided per resolution (``_best_counts``).

    The database's writer is held only while rows are written (SQLite has one writer, and
    phones' uploads wait for it): trust and roll-ups; the decisions and zones, computed in
    a read-only transaction; then everything stored, in one transaction on PostgreSQL,
    whole cells at a time in short ones on SQLite with the zones and the run's record last
    (``_store_in_chunks``). Nothing else writes what the middle step reads (one
    aggregation at a time, ``service.store.locks``; ingest writes only readings and their
    counters)."""
    resolutions = [settings.h3_resolution, *settings.rollup_resolutions]
    sqlite = on_sqlite(sessions)
    with session_scope(sessions) as session:
        # Until the run's last transaction: the next run is a full one (chunks module).
        set_state_value(session, INCOMPLETE_STATE, FULL_INCOMPLETE)
        # The roll-ups are rebuilt below; until they are, no watermark holds for them.
        set_rollup_watermark(session, None)
        with clock("trust"):
            refresh_trust(session, settings, up_to=watermark(session), classify=_classify(settings))
    # Trust apart from the roll-ups: it updates rows of ``devices``, which a phone's upload
    # updates too, and on PostgreSQL that upload waits for the transaction to commit.
    if not sqlite:
        with session_scope(sessions) as session, clock("rollup"):
            on_step("roll-ups", 0, 1)
            rollup(session, settings, settings.rollup_resolutions)
            on_step("roll-ups", 1, 1)
    else:
        with clock("rollup"):
            _rollup_in_groups(sessions, settings, on_step=on_step)
    decided: list[pd.DataFrame] = []
    zones: list[Zone] = []
    stored: dict[int, set[int]] = {}
    with session_scope(sessions, write=False) as session:
        for i, res in enumerate(resolutions):
            with clock(f"decide r{res}"):
                decisions, devices = decide_resolution(session, settings, resolution=res, now=now)
                decided.append(decisions)
            if res == settings.h3_resolution:
                with clock("zones"):
                    zones = find_zones(
                        decisions,
                        devices,
                        resolution=res,
                        previous=previous_zones(session),
                        bridge_unknown=settings.bridge_unknown_gaps,
                    )
                    if annotate_zones is not None:
                        annotate_zones(session, zones)
            on_step("decisions", i + 1, len(resolutions))
        # A run whose decisions fit in one chunk stores them with its zones, at once.
        chunked = sqlite and sum(map(len, decided)) > settings.sqlite_write_chunk_rows
        if chunked:
            c = CellStatus
            for res, cell in session.execute(select(c.resolution, c.h3_cell).distinct()):
                stored.setdefault(int(res), set()).add(int(cell))
    if chunked:
        with clock("store"):
            _store_in_chunks(sessions, settings, dict(zip(resolutions, decided, strict=True)),
                             stored=stored, on_step=on_step)  # fmt: skip
    with session_scope(sessions) as session, clock("store zones"):
        if not chunked:
            # No ORM objects to synchronise (else PostgreSQL returns every deleted row's key).
            session.execute(delete(CellStatus).execution_options(synchronize_session=False))
            for decisions in decided:
                store_decisions(session, decisions)
        store_zones(session, zones, now=now)
        clear_dirty(session, up_to=up_to)
        record_decision_state(session, settings, now=now, people=people)
        set_state_value(session, INCOMPLETE_STATE, 0)
        # The next incremental runs look rows up by cell in these tables
        # (service.store.dialect).
        refresh_planner_statistics(session, LOOKED_UP_TABLES)
        cells = _best_counts(session, settings)
        _remember_counts(session, cells)
        session.add(
            AggregationRun(
                finished_at=utcnow(),
                max_seq=up_to,
                cells=cells.get(settings.h3_resolution, 0),
                zones=len(zones),
            )
        )
    return len(zones), cells


def _rollup_in_groups(
    sessions: sessionmaker[Session], settings: Settings, *, on_step: StepCallback
) -> None:
    """SQLite: every roll-up rebuilt (the rows ``rollup`` writes), a group of parents per
    transaction (``chunks.parent_groups``), then the parents left with no children
    removed. Each parent's rows are replaced whole; until the last group, readers see the
    other parents' previous rows."""
    base, coarser = settings.h3_resolution, tuple(settings.rollup_resolutions)
    if not coarser:
        with session_scope(sessions) as session:
            set_rollup_watermark(session, watermark(session))
        return
    s, d = CellStat, CellDevice
    with session_scope(sessions, write=False) as session:
        cells = session.scalars(select(s.h3_cell).where(s.resolution == base).distinct()).all()
        before: dict[int, set[int]] = {res: set() for res in coarser}
        for res in coarser:
            rows = union(
                select(s.h3_cell).where(s.resolution == res),
                select(d.h3_cell).where(h3_resolution_of(d.h3_cell) == res),
            )
            before[res] = {int(cell) for cell in session.scalars(select(rows.subquery().c[0]))}
    groups = parent_groups(cells, coarser, settings.sqlite_rollup_chunk_parents)
    kept: dict[int, set[int]] = {res: set() for res in coarser}
    for i, (parents, _) in enumerate(groups):
        if i:
            pause(sessions)
        with session_scope(sessions) as session:
            rollup_parents(session, settings, parents)
        for res in coarser:
            kept[res] |= parents[res]
        on_step("roll-ups", i + 1, len(groups) + 1)
    # Parents with no children any more (statistics rebuilt without them): their rows go,
    # finest first as the roll-ups go (a parent's own parents are among the stale too).
    for res in sorted(coarser, reverse=True):
        for stale in cell_chunks(before[res] - kept[res], settings.sqlite_rollup_chunk_parents):
            pause(sessions)
            with session_scope(sessions) as session:
                rollup_parents(session, settings, {res: set(stale)})
    with session_scope(sessions) as session:
        # Nothing merged meanwhile (one aggregation at a time, and only it merges).
        set_rollup_watermark(session, watermark(session))
    on_step("roll-ups", len(groups) + 1, len(groups) + 1)


def _store_in_chunks(
    sessions: sessionmaker[Session],
    settings: Settings,
    decided: dict[int, pd.DataFrame],
    *,
    stored: dict[int, set[int]],
    on_step: StepCallback,
) -> None:
    """SQLite: the decisions of every resolution replace the stored ones whole cells at a
    time, about ``sqlite_write_chunk_rows`` rows per transaction; then the rows of cells no
    longer decided go. Readers meanwhile see some cells decided by this run, the others as
    the last run left them (docs/availability.md)."""
    c = CellStatus
    limit = settings.sqlite_write_chunk_rows
    work: list[tuple[int, np.ndarray, pd.DataFrame]] = []
    for res, frame in decided.items():
        ordered = frame.sort_values("h3_cell", kind="stable", ignore_index=True)
        keys = ordered["h3_cell"].to_numpy(np.int64)
        for cells in row_chunks(keys, limit):
            low = int(np.searchsorted(keys, cells[0], side="left"))
            high = int(np.searchsorted(keys, cells[-1], side="right"))
            work.append((res, cells, ordered.iloc[low:high]))
        gone = stored.get(res, set()) - set(keys.tolist())
        for cells_gone in cell_chunks(gone, limit):
            work.append((res, np.array(cells_gone, dtype=np.int64), ordered.iloc[0:0]))
    for i, (res, cells, rows) in enumerate(work):
        if i:
            pause(sessions)
        with session_scope(sessions) as session:
            session.execute(
                delete(c)
                .where(unindexed(session, c.resolution) == res,
                       cells_in(c.h3_cell, cells.tolist(), dialect="sqlite"))
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            store_decisions(session, rows)
        on_step("store", i + 1, len(work))
    pause(sessions)


def on_postgres(sessions: sessionmaker[Session]) -> bool:
    bind = sessions.kw.get("bind")
    return bind is not None and bind.dialect.name == "postgresql"


def _classify(settings: Settings) -> tuple[Any, Any]:
    return reading_class(settings), reading_weight(settings)


def _best_counts(session: Session, settings: Settings) -> dict[int, int]:
    """Best-of-all decisions per resolution (the cells with any evidence)."""
    c = CellStatus
    counts = dict(
        session.execute(
            select(c.resolution, func.count())
            .where(c.operator == BEST_OF_ALL, c.radio == BEST_OF_ALL)
            .group_by(c.resolution)
        ).all()
    )
    return {
        res: int(counts.get(res, 0))
        for res in [settings.h3_resolution, *settings.rollup_resolutions]
    }


_COUNT_STATE = "best_cells_r{}"  # aggregation_state: _best_counts at a resolution


def _remember_counts(session: Session, counts: dict[int, int]) -> None:
    """Keep a run's counts of decided cells for the next incremental run."""
    set_state_values(session, {_COUNT_STATE.format(res): n for res, n in counts.items()})


def _counts_after_batch(
    session: Session, settings: Settings, moved: dict[int, int] | None
) -> dict[int, int]:
    """``_best_counts`` after an incremental run, in the transaction that stored its
    decisions: the last run's counts moved by the batch's (``moved``,
    ``IncrementalResult.best_cells_moved``), without counting the whole table (which
    grows with everything stored, not with the batch). Counted when either is not known
    (no run kept its counts yet; a run that redid a stopped one)."""
    resolutions = [settings.h3_resolution, *settings.rollup_resolutions]
    names = {res: _COUNT_STATE.format(res) for res in resolutions}
    known = state_values(session, names.values())
    if moved is None or any(name not in known for name in names.values()):
        counts = _best_counts(session, settings)
    else:
        counts = {res: known[names[res]] + moved.get(res, 0) for res in resolutions}
    _remember_counts(session, counts)
    return counts


class _Clock:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    def __call__(self, name: str) -> _Clock:
        self.name = name
        return self

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.name] = time.perf_counter() - self.start
