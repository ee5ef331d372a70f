"""Where SQLite and PostgreSQL differ for writes, decided in one place.

Both databases speak ``INSERT ... ON CONFLICT`` (SQLite since 3.24), but SQLAlchemy builds
it with each dialect's own ``insert``; ``upsert_insert`` picks it. Counters add up with
``INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n``, atomic under concurrent
requests, unlike read-modify-write. Bulk appends live in ``service.store.bulk`` and SQL
expressions spelt per database in ``service.store.sqlexpr``; both ask ``is_postgres``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    any_,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op
from sqlalchemy.types import UserDefinedType

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
    """Insert ``rows`` or add their non-key columns to the existing rows with equal keys.

    One row of VALUES executed once per row: compiled once and cached (a VALUES list is
    compiled afresh for every call, and every batch of readings calls this twice)."""
    if not rows:
        return
    stmt = upsert_insert(session, table)
    increments = {c: table.c[c] + stmt.excluded[c] for c in rows[0] if c not in keys}
    session.execute(
        stmt.on_conflict_do_update(index_elements=list(keys), set_=increments), list(rows)
    )


def cells_in(
    column: ColumnElement[int] | InstrumentedAttribute[int], cells: Iterable[int], *, dialect: str
) -> ColumnElement[bool]:
    """SQL: ``column`` is one of ``cells`` (H3 cells as integers), bound as one parameter
    however many cells there are: one ``bigint[]`` (``= ANY``) on PostgreSQL, one JSON
    array expanded by ``json_each`` on SQLite (an ``IN`` list binds a parameter per cell,
    and SQLite caps their number). Both plan it as index lookups on the cell column.

    On PostgreSQL the array travels as its text form (``{1,2,3}``), typed ``bigint[]`` by
    the statement: the driver's list adapter checks every element of a Python list
    against a pattern, 0.4 s of CPU for the 40,000 cells of an incremental run's
    resolution-7 children (the text form costs a ``join``). The parameter stays a
    constant array to the planner (not a cast expression, which it would search element by
    element for every row instead of hashing it once).
    """
    values = sorted({int(c) for c in cells})
    if dialect == "postgresql":
        array = "{" + ",".join(map(str, values)) + "}"
        return column == any_(literal(array, _BigintArrayText()))
    expanded: Any = select(literal_column("value")).select_from(func.json_each(json.dumps(values)))
    return column.in_(expanded)


class _BigintArrayText(UserDefinedType[str]):
    """A ``bigint[]`` parameter bound as its text form, sent untyped and read by the server
    as the ``::BIGINT[]`` the statement casts it to (``cells_in``)."""

    cache_ok = True
    render_bind_cast = True

    def get_col_spec(self, **kw: Any) -> str:
        return "BIGINT[]"


def unindexed(bind: Bind, column: Any) -> Any:
    """``column`` for a condition that must not pick an index, beside ``cells_in``.

    SQLite's planner, without statistics, prefers an index with three equality terms
    (``operator``, ``radio``, ``resolution``) over the primary key on ``h3_cell IN (a
    few thousand cells)``, and then scans a whole scope. A unary ``+`` takes a term out of
    index selection (SQLite's documented hint); PostgreSQL plans from statistics and gets
    the column as it is."""
    if is_postgres(bind):
        return column
    expression = getattr(column, "expression", column)
    return UnaryExpression(expression, operator=custom_op("+"), type_=expression.type)


PROBES_OVER_SCAN = 20_000
"""Most cells ``read_by_index`` looks up one by one rather than scan a table (measured,
``docs/scale.md``, the ninth pass on PostGIS: at 300,000 readings the 6,804 children of
972 parents took 21-31 ms by the primary key against 58-78 ms by a scan of
``cell_stats``; the 40,000 of 834 resolution-7 parents in ``provisional_stats``, a third
of its rows, were as fast either way)."""


@contextmanager
def read_by_index(bind: Session | Connection, probes: int) -> Iterator[None]:
    """PostgreSQL: the statements in the block read their ``cells_in`` cells through an
    index, not by scanning the table, when there are at most ``PROBES_OVER_SCAN`` of
    them (``probes``).

    The planner costs each index probe as a random read from disk (``random_page_cost``
    4), so from a few thousand cells it scans the whole table instead, though the
    tables an aggregation reads sit in memory; the scan grows with the table, the probes
    with the cells. The setting is local to the transaction and put back after the
    block (a failed statement rolls it back with the transaction). SQLite is steered by
    ``unindexed``."""
    if not is_postgres(bind) or probes > PROBES_OVER_SCAN:
        yield
        return
    previous = bind.execute(text("SELECT current_setting('enable_seqscan')")).scalar_one()
    bind.execute(text("SET LOCAL enable_seqscan = off"))
    try:
        yield
    finally:  # also when the block's error is caught within the transaction
        bind.execute(text("SELECT set_config('enable_seqscan', :previous, true)"),
                     {"previous": previous})  # fmt: skip


def refresh_planner_statistics(bind: Session | Connection, tables: Sequence[str]) -> None:
    """PostgreSQL: ``ANALYZE`` tables a run just rewrote wholesale.

    Autovacuum analyzes a table only some time after a bulk write, and on a busy server
    much later (measured: a million ``cell_status`` rows never analyzed after three full
    runs). Until then the planner believes the table nearly empty, and reads a thousand
    cells' rows (``cells_in``) by scanning the table instead of its primary key: 0.2 to
    58 s a statement instead of 30 ms. ANALYZE samples a fixed number of rows, so it costs
    a fraction of a second whatever the size, and runs inside the transaction. SQLite's
    plans are steered by ``unindexed`` instead."""
    if not is_postgres(bind):
        return
    for table in tables:
        bind.execute(text(f"ANALYZE {table}"))
