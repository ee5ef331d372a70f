"""Counters that add up: ``INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n``.

Both databases speak this dialect of upsert (SQLite since 3.24); it is atomic under
concurrent requests, unlike read-modify-write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def add_to_counters(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, keys: Sequence[str]
) -> None:
    """Insert ``rows`` or add their non-key columns to the existing rows with equal keys."""
    if not rows:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(list(rows))
    increments = {c: table.c[c] + stmt.excluded[c] for c in rows[0] if c not in keys}
    session.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=increments))
