"""SQLite's writers of one process take turns in arrival order (issue 17: a phone's upload
lost the race for the write lock to the aggregation's chunks again and again)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from service.errors import StorageUnavailable
from service.settings import Settings
from service.store.database import (
    _TURNSTILES,
    WriterTurnstile,
    make_engine,
    make_sessionmaker,
    session_scope,
)


def wait_until(condition, *, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.005)


def test_write_transactions_on_sqlite_commit_in_arrival_order(tmp_path: Path) -> None:
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'turns.sqlite'}"))
    sessions = make_sessionmaker(engine)
    turnstile = _TURNSTILES[engine]
    with session_scope(sessions) as session:
        session.execute(text("CREATE TABLE turns (n INTEGER PRIMARY KEY AUTOINCREMENT, who TEXT)"))

    def write(who: str) -> None:
        with session_scope(sessions) as session:
            session.execute(text("INSERT INTO turns (who) VALUES (:who)"), {"who": who})

    threads = []
    with session_scope(sessions) as session:  # holds the writer while the others arrive
        session.execute(text("INSERT INTO turns (who) VALUES ('first')"))
        for i, who in enumerate(["upload-a", "aggregation", "upload-b", "upload-c"]):
            thread = threading.Thread(target=write, args=(who,))
            thread.start()
            threads.append(thread)
            wait_until(lambda i=i: len(turnstile._waiting) == i + 1)
        # A read-only transaction does not queue.
        with session_scope(sessions, write=False) as reader:
            assert reader.scalar(text("SELECT count(*) FROM turns")) == 0
    for thread in threads:
        thread.join()
    with session_scope(sessions, write=False) as session:
        order = list(session.scalars(text("SELECT who FROM turns ORDER BY n")))
    assert order == ["first", "upload-a", "aggregation", "upload-b", "upload-c"]
    engine.dispose()


def test_a_writer_gives_up_after_the_timeout_and_leaves_the_queue() -> None:
    turnstile = WriterTurnstile(timeout_s=0.2)
    failed: list[str] = []

    def late() -> None:
        try:
            with turnstile.turn():
                pass
        except StorageUnavailable as exc:
            failed.append(str(exc))

    with turnstile.turn():
        thread = threading.Thread(target=late)
        thread.start()
        thread.join()
    assert failed == ["waited 0.2 s for the database's writer; try again"]
    assert not turnstile._waiting
    with turnstile.turn():  # free again once the holder left
        pass


def test_a_nested_write_of_the_same_thread_does_not_wait_for_itself() -> None:
    turnstile = WriterTurnstile(timeout_s=0.2)
    with turnstile.turn(), turnstile.turn():
        pass
    with turnstile.turn():
        pass


def test_postgresql_writers_do_not_queue_in_the_process() -> None:
    """PostgreSQL has row locks and many writers at once: no turnstile there."""
    engine = make_engine(Settings(database_url="postgresql+psycopg://postgres@127.0.0.1/x"))
    assert engine not in _TURNSTILES
    engine.dispose()
