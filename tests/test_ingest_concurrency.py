"""A reading counts once however often and however concurrently it is sent."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from service.ingest.readings import Ingestor
from service.store.database import session_scope
from service.store.models import ReadingRow
from tests.conftest import make_reading


def count_rows(sessions: Any) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(ReadingRow)))


def test_concurrent_resubmission_counts_once(settings, sessions):
    """Eight requests carrying the same 200 readings race; each reading is stored once
    and the answers add up to exactly 200 accepted."""
    ingestor = Ingestor.from_settings(settings)
    batch = [make_reading(id=f"r{i}") for i in range(200)]
    start = threading.Barrier(8)

    def send(_: int) -> tuple[int, int]:
        start.wait()
        with session_scope(sessions) as session:
            result = ingestor.ingest(session, batch)
        return result.accepted, result.duplicates

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert sum(a for a, _ in answers) == 200
    assert sum(d for _, d in answers) == 7 * 200
    assert count_rows(sessions) == 200


readings_st = st.lists(
    st.tuples(st.sampled_from(["dev-a", "dev-b", "dev-c"]), st.integers(0, 15)),
    min_size=1,
    max_size=60,
)


@hsettings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sent=readings_st, chunk=st.integers(1, 20))
def test_a_reading_counts_once_however_often_it_is_sent(settings, sessions, sent, chunk):
    """Property: after sending any sequence of (device, id) in any chunking, stored rows
    equal the distinct pairs, and accepted + duplicates equals what was sent."""
    ingestor = Ingestor.from_settings(settings)
    run = uuid.uuid4()  # each example gets devices of its own in the shared database
    before = count_rows(sessions)
    items = [make_reading(device=f"{run}-{d}", id=f"id-{i}") for d, i in sent]
    accepted = duplicates = 0
    for start in range(0, len(items), chunk):
        with session_scope(sessions) as session:
            result = ingestor.ingest(session, items[start : start + chunk])
        accepted += result.accepted
        duplicates += result.duplicates
    assert accepted == len(set(sent))
    assert accepted + duplicates == len(sent)
    assert count_rows(sessions) - before == len(set(sent))


def test_ingest_statement_count_does_not_grow_with_the_batch(settings, engine, sessions):
    """One bulk insert per batch, whatever its size (no row-by-row SQL)."""
    ingestor = Ingestor.from_settings(settings)
    statements: list[str] = []

    def track(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", track)
    try:
        counts = []
        for size in (1, 1000):
            statements.clear()
            batch = [make_reading(id=f"s{size}-{i}") for i in range(size)]
            with session_scope(sessions) as session:
                ingestor.ingest(session, batch)
            counts.append(len(statements))
    finally:
        event.remove(engine, "before_cursor_execute", track)
    assert counts[0] == counts[1] <= 8, counts
