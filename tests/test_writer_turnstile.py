"""SQLite's writers of one process take turns in arrival order (issue 17: a phone's upload
lost the race for the write lock to the aggregation's chunks again and again)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from service.engine.chunks import SQLITE_YIELD_MAX_S, pause
from service.errors import StorageUnavailable
from service.settings import Settings
from service.store.database import (
    _TURNSTILES,
    WritersWaiting,
    WriterTurnstile,
    background_writes,
    make_engine,
    make_sessionmaker,
    session_scope,
    writers_waiting,
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


def test_an_upload_of_another_process_is_seen_waiting(tmp_path: Path) -> None:
    """Each process raises the flag through its own open file; two objects on one path
    stand for two processes (flock locks belong to open files)."""
    server, aggregator = (
        WritersWaiting(tmp_path / "db.writers"),
        WritersWaiting(tmp_path / "db.writers"),
    )
    assert not aggregator.any()
    server.enter()
    server.enter()  # two uploads
    assert aggregator.any()
    server.leave()
    assert aggregator.any()
    server.leave()
    assert not aggregator.any()


def test_the_aggregation_waits_between_its_transactions_while_an_upload_waits(
    tmp_path: Path,
) -> None:
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'yield.sqlite'}"))
    sessions = make_sessionmaker(engine)
    with session_scope(sessions) as session:
        session.execute(text("CREATE TABLE turns (n INTEGER PRIMARY KEY AUTOINCREMENT, who TEXT)"))
    started, release = threading.Event(), threading.Event()

    def upload() -> None:
        with session_scope(sessions) as session:
            started.set()
            release.wait(5)
            session.execute(text("INSERT INTO turns (who) VALUES ('upload')"))

    with background_writes(), session_scope(sessions):  # the aggregation's own writes
        assert not writers_waiting(engine)  # do not raise the flag
    thread = threading.Thread(target=upload)
    thread.start()
    started.wait(5)
    assert writers_waiting(engine)
    threading.Timer(0.3, release.set).start()
    t0 = time.monotonic()
    with background_writes():
        pause(sessions)
    waited = time.monotonic() - t0
    thread.join()
    assert 0.25 < waited < SQLITE_YIELD_MAX_S
    assert not writers_waiting(engine)
    t0 = time.monotonic()
    pause(sessions)  # nobody waiting: no pause at all
    assert time.monotonic() - t0 < 0.05
    engine.dispose()


def test_the_aggregation_goes_on_after_its_longest_yield(tmp_path: Path) -> None:
    """A steady stream of uploads cannot stop the aggregation."""
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'stream.sqlite'}"))
    sessions = make_sessionmaker(engine)
    turnstile = _TURNSTILES[engine]
    turnstile.waiting.enter()  # an upload that never ends
    try:
        t0 = time.monotonic()
        pause(sessions)
        assert SQLITE_YIELD_MAX_S <= time.monotonic() - t0 < SQLITE_YIELD_MAX_S + 0.5
    finally:
        turnstile.waiting.leave()
    engine.dispose()
