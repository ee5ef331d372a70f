"""On SQLite the aggregation writes its results in short transactions (issue 17,
``service.engine.chunks``): the rows are the same as written at once, and a run stopped
between two of them is finished by the next.

Two databases take the same readings; one writes a few rows per transaction, the other
everything in one (chunks larger than the province). Everything the aggregation writes is
compared after each run (``tests.test_incremental.snapshot``, plus the estimated field).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.engine.chunks import (
    FULL_INCOMPLETE,
    INCOMPLETE_STATE,
    INCREMENTAL_INCOMPLETE,
    parent_groups,
    row_chunks,
)
from service.jobs import run_aggregation
from service.settings import Settings
from service.store.database import make_engine, make_sessionmaker
from service.store.models import CellEstimate, DirtyCell
from service.store.runs import state_value
from tests.coverage_helpers import NOW, ingest
from tests.test_incremental import (
    CELLS,
    cluster_readings,
    fresh_database,
    setup_database,
    snapshot,
)

SMALL = {"sqlite_write_chunk_rows": 3, "sqlite_rollup_chunk_parents": 2}
"""A few rows per transaction: dozens of chunks for the 37 cells here."""
LARGE = {"sqlite_write_chunk_rows": 10**9, "sqlite_rollup_chunk_parents": 10**9}
"""Everything in one transaction, as before the chunks."""

# 20 to 56 days old: whatever the day of the month, the dead clusters 22 and 26 days old lie
# within the two-month window (it reaches back at least 28 days, to the first of the
# previous month; the one 30 days old not on 1 and 2 March). At 30 + i days none of the
# readings was within 28 days, and on the 1st and 2nd of a month (1 to 3 March) the test
# found nothing left to decide and failed.
FIRST = [
    r
    for i in range(0, len(CELLS), 2)
    for r in cluster_readings(
        (i, (4, 2, None)[i % 3], "lte", ("dead", "covered")[i % 4 == 0], 3, 2, 20 + i)
    )  # fmt: skip
]
SECOND = [
    r
    for i in range(1, len(CELLS), 3)
    for r in cluster_readings((i, (2, 4)[i % 2], ("lte", "umts")[i % 5 == 0], "dead", 3, 2, 3))
]
THIRD = [r for i in (0, 4, 8) for r in cluster_readings((i, 4, "lte", "covered", 4, 2, 1))]


@contextmanager
def databases(
    tmp_path: Path, template: Path, *chunks: dict[str, int]
) -> Iterator[list[tuple[sessionmaker[Session], Settings]]]:
    """One fresh SQLite database per ``chunks`` settings, with the same villages."""
    with ExitStack() as stack:
        found = []
        for sizes in chunks:
            url = stack.enter_context(fresh_database("sqlite", tmp_path, template, None))
            settings, engine = setup_database(url, tmp_path, bridge=True, rings=2)
            engine.dispose()
            settings = settings.model_copy(update=sizes)
            engine = make_engine(settings)
            stack.callback(engine.dispose)
            found.append((make_sessionmaker(engine), settings))
        yield found


def everything(sessions: sessionmaker[Session], settings: Settings, *, now: Any) -> dict[str, Any]:
    state = snapshot(sessions, settings, now=now)
    with sessions() as session:
        state["estimates"] = sorted(
            tuple(r) for r in session.execute(select(*CellEstimate.__table__.c))
        )
    return state


def test_chunks_hold_whole_cells_and_parents() -> None:
    cells = [CELLS[0]] * 5 + [CELLS[1]] + [CELLS[2]] * 2 + [CELLS[3]]
    chunks = row_chunks(sorted(int(c, 16) for c in cells), 3)
    assert [len(c) for c in chunks] == [1, 1, 2]  # 5 rows alone; 1; 2 + 1
    assert sorted(int(c) for chunk in chunks for c in chunk) == sorted({int(c, 16) for c in cells})
    groups = parent_groups([int(c, 16) for c in CELLS], (8, 7), 2)
    assert all(len(parents[7]) >= 1 for parents, _ in groups)
    assert sorted(c for _, members in groups for c in members) == sorted(int(c, 16) for c in CELLS)
    for res in (8, 7):  # every parent in exactly one group
        listed = [p for parents, _ in groups for p in parents[res]]
        assert len(listed) == len(set(listed))


def test_chunked_writes_store_the_same_rows(tmp_path: Path, sqlite_template: Path) -> None:
    with databases(tmp_path, sqlite_template, SMALL, LARGE) as [small, large]:
        now = NOW
        for batch, step, full in ((FIRST, 0, True), (SECOND, 1, False), (THIRD, 2, False),
                                  ([], 75, True)):  # fmt: skip
            now += timedelta(days=step)  # the last run: the first readings left the window
            states = []
            for sessions, settings in (small, large):
                if batch:
                    ingest(sessions, settings, batch)
                report = run_aggregation(sessions, settings, now=now, full=full, estimate=True)
                assert (report.incremental is None) == full
                states.append(everything(sessions, settings, now=now))
            assert states[0] == states[1]
            # The last run: every cell's readings left the window, and its rows went.
            assert bool(states[0]["decisions"]) == bool(states[0]["estimates"]) == bool(batch)
            assert states[0]["zones"]


class PowerCut(RuntimeError):
    pass


def cut_after(step: str, done: int) -> Any:
    def on_step(name: str, count: int, total: int) -> None:
        if name == step and count == done:
            raise PowerCut(f"{name} {count} of {total}")

    return on_step


@pytest.mark.parametrize("full", [False, True])
def test_a_run_stopped_between_chunks_is_finished_by_the_next(
    tmp_path: Path, sqlite_template: Path, full: bool
) -> None:
    """The run stops after its third chunk of decisions: the statistics are merged, some
    cells hold new decisions, the zones and the dirty rows are the last run's. The next run
    (a full one after a full run stopped; incremental, taking every cell it decides as
    changed, after an incremental one) leaves what one run never stopped leaves."""
    with databases(tmp_path, sqlite_template, SMALL, SMALL) as [stopped, whole]:
        for sessions, settings in (stopped, whole):
            ingest(sessions, settings, FIRST)
            run_aggregation(sessions, settings, now=NOW, estimate=True)
            ingest(sessions, settings, SECOND)
        sessions, settings = stopped
        with pytest.raises(PowerCut):
            run_aggregation(sessions, settings, now=NOW, full=full, estimate=True,
                            on_step=cut_after("store", 3))  # fmt: skip
        with sessions() as session:
            assert session.scalars(select(DirtyCell.h3_cell)).all()  # still waiting
            left = state_value(session, INCOMPLETE_STATE)
        assert left == (FULL_INCOMPLETE if full else INCREMENTAL_INCOMPLETE)
        report = run_aggregation(sessions, settings, now=NOW, estimate=True)
        assert (report.incremental is None) == full
        with sessions() as session:
            assert state_value(session, INCOMPLETE_STATE) == 0
        run_aggregation(*whole, now=NOW, full=full, estimate=True)
        assert everything(*stopped, now=NOW) == everything(*whole, now=NOW)
        # And the incremental runs after it go on agreeing.
        for sessions, settings in (stopped, whole):
            ingest(sessions, settings, THIRD)
            assert run_aggregation(sessions, settings, now=NOW, estimate=True).incremental
        assert everything(*stopped, now=NOW) == everything(*whole, now=NOW)
