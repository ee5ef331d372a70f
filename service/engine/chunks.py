"""The aggregation's writes in short transactions on SQLite (issue 17).

SQLite has one writer, and a phone's upload waits for it: written in one transaction, a
province's decisions held it 17-19 s. On SQLite the aggregation therefore writes whole
cells at a time, a bounded number of rows per transaction (``sqlite_write_chunk_rows``;
roll-ups by groups of parents, ``sqlite_rollup_chunk_parents``), pausing between two of
them so that writers of other processes get in. What readers may see meanwhile, and what a
crash between two of them leaves, is in docs/availability.md. PostgreSQL's writers do not
block inserts, and there the same rows are written in one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import numpy.typing as npt
from h3.api import basic_int as h3i
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.store.database import writers_waiting

SQLITE_YIELD_MAX_S = 1.0
"""Longest the aggregation waits for phones' uploads between two of its write transactions
on SQLite, seconds (``pause``): under a steady stream of uploads it must still progress."""
_YIELD_POLL_S = 0.005

INCOMPLETE_STATE = "run_incomplete"
"""aggregation_state: 0 when the stored results are one run's, else the kind of run whose
chunks were interrupted (``FULL_INCOMPLETE``, ``INCREMENTAL_INCOMPLETE``)."""
FULL_INCOMPLETE = 1
"""A full run stopped between two of its write transactions: the next run is a full one."""
INCREMENTAL_INCOMPLETE = 2
"""An incremental run stopped after storing some of its decisions: the next incremental run
takes every cell it decides as changed (``incremental.decide_incrementally``)."""


def on_sqlite(sessions: sessionmaker[Session]) -> bool:
    bind = sessions.kw.get("bind")
    return bind is not None and bind.dialect.name == "sqlite"


def pause(sessions: sessionmaker[Session]) -> None:
    """Between two write transactions of the aggregation on SQLite: while a phone's upload
    or another foreground writer, in this process or another, waits for the writer or
    holds it (``service.store.database.writers_waiting``), wait, at most
    ``SQLITE_YIELD_MAX_S``; go on at once when none does.

    A writer that found the database locked sleeps in SQLite's busy handler, up to 100 ms
    at a time, and the aggregation's next ``BEGIN IMMEDIATE`` would win the lock again
    before it woke up; a pause of 0.1 s after every transaction let it in (issue 17), but
    also cost the run 0.1 s a transaction when nobody waited, which kept the transactions
    long. Now they are short, and cost nothing more when nobody waits."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return
    deadline = time.monotonic() + SQLITE_YIELD_MAX_S
    while writers_waiting(bind) and time.monotonic() < deadline:
        time.sleep(_YIELD_POLL_S)


def row_chunks(cells: npt.ArrayLike, limit: int) -> list[np.ndarray]:
    """The distinct cells of ``cells`` (one entry per row), in order, grouped so that each
    group holds about ``limit`` rows at most (a cell is never split; one with more rows
    than ``limit`` makes a group of its own)."""
    values = np.asarray(cells, dtype=np.int64)
    if values.size == 0:
        return []
    unique, counts = np.unique(values, return_counts=True)
    starts = np.cumsum(counts) - counts
    group = starts // max(limit, 1)
    edges = np.flatnonzero(np.diff(group)) + 1
    return np.split(unique, edges)


def cell_chunks(cells: Iterable[int], size: int) -> Iterator[list[int]]:
    """``cells`` in order, ``size`` at a time."""
    ordered = sorted({int(c) for c in cells})
    for start in range(0, len(ordered), max(size, 1)):
        yield ordered[start : start + size]


def parent_groups(
    cells: Iterable[int], resolutions: Sequence[int], limit: int
) -> list[tuple[dict[int, set[int]], set[int]]]:
    """Working-resolution ``cells`` grouped by their parent at the coarsest roll-up
    resolution, about ``limit`` parents (all ``resolutions`` together) per group: per
    group, its parents by resolution and its cells. Every parent falls in one group, with
    its own parents, so each group's roll-ups are whole (``statistics.rollup_parents``)."""
    if not resolutions:
        return []
    coarsest = min(resolutions)
    under: dict[int, set[int]] = {}
    for cell in cells:
        under.setdefault(h3i.cell_to_parent(int(cell), coarsest), set()).add(int(cell))
    groups: list[tuple[dict[int, set[int]], set[int]]] = []
    parents: dict[int, set[int]] = {res: set() for res in resolutions}
    members: set[int] = set()
    for top in sorted(under):
        mine = {res: {h3i.cell_to_parent(c, res) for c in under[top]} for res in resolutions}
        size = sum(len(p) for p in mine.values())
        if members and sum(len(p) for p in parents.values()) + size > limit:
            groups.append((parents, members))
            parents, members = {res: set() for res in resolutions}, set()
        for res in resolutions:
            parents[res] |= mine[res]
        members |= under[top]
    if members:
        groups.append((parents, members))
    return groups
