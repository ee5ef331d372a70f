"""Engines and the one place where transactions commit."""

from __future__ import annotations

import fcntl
import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from service.errors import StorageUnavailable
from service.settings import Settings

SQLITE_BUSY_TIMEOUT_S = 30
"""How long a SQLite writer waits for the one write lock before the request fails (503)."""


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    """An engine for the configured database, tuned for deadzone's write pattern."""
    url = settings.database_url
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
            **kwargs,
        )
        _configure_sqlite(engine)
        path = sqlite_file(engine)
        flag = WritersWaiting(None if path is None else Path(f"{path}.writers"))
        _TURNSTILES[engine] = WriterTurnstile(timeout_s=SQLITE_BUSY_TIMEOUT_S, waiting=flag)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 8)
    return create_engine(url, **kwargs)


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite database; None for an in-memory one or another database."""
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):  # a URI: in memory, or a file that other code names
        return None
    return Path(database).resolve()


def _configure_sqlite(engine: Engine) -> None:
    # WAL lets readers run while one writer writes; NORMAL sync is durable across
    # application crashes in WAL mode. pysqlite's own transaction handling is switched off
    # and BEGIN emitted explicitly, as the SQLAlchemy docs recommend, so that transactions
    # (and SAVEPOINTs) behave as on PostgreSQL.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute("PRAGMA cache_size=-200000")  # 200 MB page cache for aggregation
        cursor.close()
        # PostgreSQL has bit_or(); SQLite has no bitwise aggregate, so one is added here
        # (day masks of the cell statistics merge by OR).
        dbapi_connection.create_aggregate("bit_or", 1, _BitOr)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads before it writes fails at once (no busy wait)
        # when another writer committed meanwhile; writers therefore BEGIN IMMEDIATE,
        # taking the write lock up front and queueing behind each other.
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get(_SQLITE_BEGIN, '')}")


class _BitOr:
    """SQLite aggregate: bitwise OR of integers (NULLs ignored)."""

    def __init__(self) -> None:
        self.value = 0

    def step(self, value: int | None) -> None:
        if value is not None:
            self.value |= value

    def finalize(self) -> int:
        return self.value


class WritersWaiting:
    """Whether a foreground writer (a phone's upload, an import: anything but the
    aggregation) waits for SQLite's writer or holds it, in this process or in another on
    the same machine, so that the aggregation yields to it between two of its transactions
    (``service.engine.chunks.pause``).

    Each process holds a shared ``flock`` on a file beside the database while it has
    such a writer; another process finds out with a non-blocking exclusive one. The kernel
    drops a dead process's lock. ``path`` None (an in-memory database): this process only.
    """

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._guard = threading.Lock()
        self._count = 0
        self._shared: int | None = None  # this process's shared lock, held while count > 0
        self._probe: int | None = None

    def __del__(self) -> None:
        for fd in (self._shared, self._probe):
            if fd is not None:
                os.close(fd)

    def _open(self) -> int:
        assert self._path is not None
        return os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def enter(self) -> None:
        with self._guard:
            self._count += 1
            if self._count == 1 and self._path is not None:
                if self._shared is None:
                    self._shared = self._open()
                fcntl.flock(self._shared, fcntl.LOCK_SH)

    def leave(self) -> None:
        with self._guard:
            self._count -= 1
            if self._count == 0 and self._shared is not None:
                fcntl.flock(self._shared, fcntl.LOCK_UN)

    def any(self) -> bool:
        """True while a foreground writer of any process waits for or holds the writer."""
        if self._count or self._path is None:
            return self._count > 0
        with self._guard:
            if self._probe is None:
                self._probe = self._open()
            try:
                fcntl.flock(self._probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(self._probe, fcntl.LOCK_UN)
            return False


_BACKGROUND: ContextVar[bool] = ContextVar("deadzone_background_writer", default=False)


@contextmanager
def background_writes() -> Iterator[None]:
    """The block's write transactions are the aggregation's: on SQLite they do not count
    as waiting writers (``WritersWaiting``), and the aggregation yields to those that do."""
    token = _BACKGROUND.set(True)
    try:
        yield
    finally:
        _BACKGROUND.reset(token)


def writers_waiting(engine: Engine) -> bool:
    """SQLite: whether a phone's upload or another foreground writer, in any process,
    waits for the database's writer or holds it (False on other databases)."""
    turnstile = _TURNSTILES.get(engine)
    return turnstile is not None and turnstile.waiting.any()


class WriterTurnstile:
    """First come, first served among one process's write transactions on SQLite.

    SQLite has one writer and no queue: a writer that finds the database locked sleeps in
    its busy handler (up to 100 ms at a time) and tries again, so whoever asks at the
    moment the lock frees wins it. With the background aggregation committing chunk after
    chunk, a phone's upload lost that race again and again: uploads waited 2-4 s for the
    lock while the aggregation's transactions and other uploads took turns (issue 17,
    measured with ``benchmarks/ingest_latency.py``). Here the server's writers (uploads,
    imports, the aggregation: one process with ``deadzone serve``) queue in arrival order
    and the lock is handed to the next at once; writers in other processes (``deadzone
    aggregate``, other worker processes) still meet SQLite's busy handler. Reentrant: a
    nested write transaction of the same thread does not queue behind itself. Foreground
    writers (all but the aggregation's, ``background_writes``) raise the ``waiting`` flag
    from the moment they queue until they commit."""

    def __init__(self, *, timeout_s: float, waiting: WritersWaiting | None = None) -> None:
        self.timeout_s = timeout_s
        self.waiting = waiting or WritersWaiting(None)
        self._guard = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._held = False
        self._owner: int | None = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the process's write turn for the block; :class:`StorageUnavailable` after
        ``timeout_s`` seconds in the queue."""
        if self._owner == threading.get_ident():
            yield
            return
        if _BACKGROUND.get():
            with self._queued():
                yield
            return
        self.waiting.enter()
        try:
            with self._queued():
                yield
        finally:
            self.waiting.leave()

    @contextmanager
    def _queued(self) -> Iterator[None]:
        mine = threading.Event()
        with self._guard:
            if self._held:
                self._waiting.append(mine)
            else:
                self._held = True
                mine.set()
        if not mine.wait(self.timeout_s):
            with self._guard:
                if not mine.is_set():  # not handed the turn meanwhile: leave the queue
                    self._waiting.remove(mine)
                    raise StorageUnavailable(
                        f"waited {self.timeout_s:g} s for the database's writer; try again"
                    )
        self._owner = threading.get_ident()
        try:
            yield
        finally:
            self._owner = None
            with self._guard:
                if self._waiting:
                    self._waiting.popleft().set()  # the next in line holds it now
                else:
                    self._held = False


_TURNSTILES: WeakKeyDictionary[Engine, WriterTurnstile] = WeakKeyDictionary()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


_SQLITE_BEGIN = "deadzone_sqlite_begin"


@contextmanager
def session_scope(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    """One transaction: commit if the block succeeds, roll back if it raises.

    This is the only place that commits; domain functions never do. ``write=False``
    marks a read-only transaction, which on SQLite does not wait for the write lock; a
    write transaction on SQLite first takes its turn among the process's writers
    (:class:`WriterTurnstile`).
    """
    bind = factory.kw.get("bind")
    turnstile = _TURNSTILES.get(bind) if write and isinstance(bind, Engine) else None
    with turnstile.turn() if turnstile else nullcontext(), factory() as session, session.begin():
        if write:
            session.connection(execution_options={_SQLITE_BEGIN: "IMMEDIATE"})
        yield session


def check_database(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
