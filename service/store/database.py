"""Engines and the one place where transactions commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from service.settings import Settings


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    """An engine for the configured database, tuned for deadzone's write pattern."""
    url = settings.database_url
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 8)
    return create_engine(url, **kwargs)


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
        cursor.execute("PRAGMA busy_timeout=30000")
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


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


_SQLITE_BEGIN = "deadzone_sqlite_begin"


@contextmanager
def session_scope(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    """One transaction: commit if the block succeeds, roll back if it raises.

    This is the only place that commits; domain functions never do. ``write=False``
    marks a read-only transaction, which on SQLite does not wait for the write lock.
    """
    with factory() as session, session.begin():
        if write:
            session.connection(execution_options={_SQLITE_BEGIN: "IMMEDIATE"})
        yield session


def check_database(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
