"""Where SQLite and PostgreSQL differ for writes, decided in one place.

Both databases speak ``INSERT ... ON CONFLICT`` (SQLite since 3.24), but SQLAlchemy builds
it with each dialect's own ``insert``; ``upsert_insert`` picks it. Counters add up with
``INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n``, atomic under concurrent
requests, unlike read-modify-write. Bulk appends live in ``service.store.bulk`` and SQL
expressions spelt per database in ``service.store.sqlexpr``; both ask ``is_postgres``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

Bind = Session | Connection | Engine


def dialect_name(bind: Bind) -> str:
    """'postgresql' or 'sqlite' (the two databases deadzone runs on)."""
    if isinstance(bind, Session):
        return bind.get_bind().dialect.name
    return bind.dialect.name


def is_postgres(bind: Bind) -> bool:
    return dialect_name(bind) == "postgresql"


def upsert_insert(bind: Bind, table: Any) -> Any:
    """``insert(table)`` of the bind's dialect, which has ``on_conflict_do_update`` and
    ``on_conflict_do_nothing`` on both databases."""
    return postgresql.insert(table) if is_postgres(bind) else sqlite.insert(table)


def add_to_counters(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, keys: Sequence[str]
) -> None:
    """Insert ``rows`` or add their non-key columns to the existing rows with equal keys."""
    if not rows:
        return
    stmt = upsert_insert(session, table).values(list(rows))
    increments = {c: table.c[c] + stmt.excluded[c] for c in rows[0] if c not in keys}
    session.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=increments))
