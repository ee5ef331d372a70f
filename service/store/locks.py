"""One holder at a time for a named job, across threads, worker processes and commands.

Two aggregations at once merge the same readings twice (measured: 1,484,000 readings counted
as 2,862,000 on PostgreSQL, with a deadlock on the way), and every ordinary deployment can
start two: `deadzone serve --workers 2`, or `deadzone aggregate` from cron while the
server's background job runs. An aggregation is several transactions in a row, so the lock
must outlive each of them:

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection of its
  own, in autocommit so that it never sits "idle in transaction". The server frees it when
  the connection ends, so a killed process cannot leave it held.
- SQLite: an exclusive ``flock`` on a file beside the database (the ``filelock`` package),
  which every process on the machine sees; the kernel frees it when the process dies.
  SQLite has no advisory locks, and a lease row would need a clock and an expiry to survive
  a crash.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from filelock import FileLock
from filelock import Timeout as FileLockTimeout
from sqlalchemy import Connection, Engine, text

from service.errors import Busy, StorageUnavailable

AGGREGATION: Final = "aggregation"
"""The lock every aggregation run takes (background worker, CLI, demo)."""

BACKGROUND_AGGREGATOR: Final = "background-aggregator"
"""Held for its lifetime by the one server worker process that aggregates in the
background; the others' workers stand by and take over if it goes away."""

_POLL_S: Final = 0.25


def _advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (advisory locks are keyed by bigint)."""
    return int.from_bytes(hashlib.sha256(f"deadzone:{name}".encode()).digest()[:8], "big",
                          signed=True)  # fmt: skip


class JobLock:
    """The lock named ``name`` on ``engine``'s database. Not reentrant: one holder object
    per run; two objects of the same name exclude each other, even in one process."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self._connection: Connection | None = None
        self._file: FileLock | None = None
        self._memory: threading.Lock | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None or self._file is not None or self._memory is not None

    def acquire(self, *, wait_s: float = 0.0) -> bool:
        """Take the lock, waiting up to ``wait_s`` seconds; False if another holds it."""
        if self.held:
            raise RuntimeError(f"lock {self.name!r} is already held by this object")
        if self.engine.dialect.name == "postgresql":
            return self._acquire_postgres(wait_s)
        path = _sqlite_path(self.engine)
        if path is None:  # an in-memory database lives in this process only
            lock = _memory_lock(self.engine, self.name)
            got = lock.acquire(timeout=wait_s) if wait_s > 0 else lock.acquire(blocking=False)
            if got:
                self._memory = lock
            return got
        if not path.parent.is_dir():
            # filelock would make the folder, and SQLite an empty database in it after the
            # lock: a database path whose folder is missing stays a database that is down
            # (/healthz answers 503), never a new empty one.
            raise StorageUnavailable(f"the database's folder {path.parent} does not exist")
        file_lock = FileLock(f"{path}.{self.name}.lock", thread_local=False, is_singleton=False)
        try:
            file_lock.acquire(timeout=wait_s, poll_interval=_POLL_S)
        except FileLockTimeout:
            return False
        self._file = file_lock
        return True

    def _acquire_postgres(self, wait_s: float) -> bool:
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        key = _advisory_key(self.name)
        deadline = time.monotonic() + wait_s
        try:
            while True:
                got = connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": key}
                ).scalar_one()
                if got:
                    self._connection = connection
                    return True
                if time.monotonic() >= deadline:
                    break
                time.sleep(min(_POLL_S, max(deadline - time.monotonic(), 0.0)))
        except BaseException:
            connection.invalidate()
            connection.close()
            raise
        connection.close()
        return False

    def release(self) -> None:
        """Let the lock go (nothing if not held)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _advisory_key(self.name)}
                )
            except Exception:
                # The backend frees a session lock when its connection ends: end it.
                connection.invalidate()
            finally:
                connection.close()
        file_lock, self._file = self._file, None
        if file_lock is not None:
            file_lock.release()
        memory, self._memory = self._memory, None
        if memory is not None:
            memory.release()


@contextmanager
def hold(engine: Engine, name: str, *, wait_s: float) -> Iterator[None]:
    """Run the block holding the lock ``name``; raise :class:`~service.errors.Busy` if it
    is still held by another after ``wait_s`` seconds."""
    lock = JobLock(engine, name)
    if not lock.acquire(wait_s=wait_s):
        raise Busy(
            f"another {name} is running on this database (waited {wait_s:g} s); "
            "try again when it has finished"
        )
    try:
        yield
    finally:
        lock.release()


def _sqlite_path(engine: Engine) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).resolve()


_MEMORY_LOCKS: dict[tuple[int, str], threading.Lock] = {}
_MEMORY_GUARD = threading.Lock()


def _memory_lock(engine: Engine, name: str) -> threading.Lock:
    with _MEMORY_GUARD:
        return _MEMORY_LOCKS.setdefault((id(engine), name), threading.Lock())
