"""Query results as pandas frames, read through the driver's cursor.

SQLAlchemy's result processing converts every value in Python (dates, times, decimals):
at province scale that took longer than the decisions computed from the rows. Reading
the driver's tuples straight into a frame, and parsing columns with pandas, does not.
"""

from __future__ import annotations

import contextlib
import io
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ClauseElement, Date, LargeBinary, Select, String, func
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import SelectBase

from service.store.dialect import is_postgres
from service.store.sqlexpr import HexConcat


def raw_frame(session: Session, query: ClauseElement, columns: list[str]) -> pd.DataFrame:
    """The rows of ``query`` as a frame of ``columns``, read through the driver's cursor
    without SQLAlchemy's per-value result processing (dates and times stay as the driver
    gives them). An ``IN`` list is bound value by value, as SQLAlchemy expands it.

    At 3 million stored readings an incremental batch read 90,000 signal decisions around
    dead cells as SQLAlchemy rows: 0.2 s to fetch them and 0.3 s for pandas to take the
    rows apart, against 0.1 s for both this way (docs/scale.md)."""
    compiled = query.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    connection = session.connection()
    raw = connection.connection.driver_connection
    assert raw is not None
    params = compiled.params
    if not is_postgres(connection):
        # sqlite3 takes positional parameters in the compiled order
        args: Any = [
            v.isoformat() if isinstance(v, date) else v
            for v in (params[name] for name in getattr(compiled, "positiontup", None) or [])
        ]
    else:
        args = params
    with contextlib.closing(raw.cursor()) as cursor:
        cursor.execute(str(compiled), args)
        rows = cursor.fetchall()
    return pd.DataFrame(rows, columns=columns)


def bulk_frame(session: Session, query: SelectBase, columns: list[str]) -> pd.DataFrame:
    """``raw_frame``'s frame, for reads of many rows: on PostgreSQL the rows come as one
    ``COPY (query) TO STDOUT`` in CSV, parsed by pandas' C reader, instead of a Python
    tuple per row that pandas then takes apart value by value. An incremental run at
    300,000 readings reads about 100,000 device rows and as many provisional rows for
    its resolution-7 parents: 0.38 s of CPU through ``raw_frame``, 0.18 s this way
    (docs/scale.md, the eleventh pass on PostGIS).

    The same frame as ``raw_frame`` (a test compares them): text columns as strings, never
    taken for numbers (in a column not declared NOT NULL a value that is exactly ``\\N``,
    COPY's NULL, reads as missing); floats exact (PostgreSQL writes the shortest text that
    reads back as the same float); binary columns as ``bytes``; dates as
    ``datetime.date``. Times come as PostgreSQL writes them, ISO text with an offset,
    where ``raw_frame`` gives aware datetimes: callers parse them with ``pd.to_datetime(...,
    utc=True)``, which makes the same column of either. Integer columns must hold no NULL
    (they would read as floats)."""
    if not is_postgres(session):
        return raw_frame(session, query, columns)
    from psycopg import ClientCursor  # PostgreSQL's driver: not there for SQLite alone

    compiled = query.compile(dialect=session.get_bind().dialect)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    # COPY takes no parameters: they are bound into the text on this side, as the
    # driver's client-side cursors do.
    statement = ClientCursor(raw).mogrify(str(compiled), compiled.params)
    copy_out = f"COPY ({statement}) TO STDOUT (FORMAT csv, NULL '{_NULL}')"
    text = io.BytesIO()  # one buffer, read in place: a full run reads a whole resolution
    with raw.cursor() as cursor, cursor.copy(copy_out) as copy:
        for block in copy:
            text.write(block)
    if not text.tell():
        return pd.DataFrame([], columns=columns)
    text.seek(0)
    selected = list(query.selected_columns)
    types = [column.type for column in selected]
    strings = {name: str for name, t in zip(columns, types, strict=True) if _is(t, String)}
    # A text column declared NOT NULL keeps a value that reads like COPY's NULL as text.
    missing = {
        name: [] if name in strings and getattr(column, "nullable", True) is False else [_NULL]
        for name, column in zip(columns, selected, strict=True)
    }
    frame = pd.read_csv(
        text, header=None, names=columns, dtype=strings, keep_default_na=False,
        na_values=missing,
    )  # fmt: skip
    for name, type_ in zip(columns, types, strict=True):
        if _is(type_, LargeBinary):  # bytea's text form: \x and the hex digits
            frame[name] = [bytes.fromhex(value[2:]) for value in frame[name].tolist()]
        elif _is(type_, Date):
            # A few months repeat over the rows: each parsed once.
            codes, days = pd.factorize(frame[name])
            parsed = np.array([date.fromisoformat(d) for d in days] + [None], dtype=object)
            frame[name] = parsed[codes]  # code -1 (NULL): the None at the end
    return frame


def device_frame(
    session: Session, query: Select[*tuple[Any, ...]], columns: list[str]
) -> pd.DataFrame:
    """``bulk_frame``'s rows of device hashes (in another order): ``query``'s last column
    is a 16-byte device hash, the others the key it is grouped under (a cell's statistics
    key and month).

    Read one row per key with its hashes concatenated in hex (``sqlexpr.HexConcat``), and
    expanded here with numpy; every hash object is made once per device, not once per
    row. A row per device costs sqlite3 a Python tuple of six objects: 711,000 device rows
    of 867 resolution-7 parents took 1.9 s of an incremental run's 7.3 s at 3 million
    stored readings, where SQLite itself found them in 0.05 s. On PostgreSQL each row of
    a COPY is a message that psycopg reads in Python: the 96,000 device rows of an
    incremental run's resolution-7 parents at 300,000 readings took 0.15-0.17 s, one row
    per key 0.10 s (docs/scale.md)."""
    selected = list(query.selected_columns)
    key, hash_column = selected[:-1], selected[-1]
    grouped = query.with_only_columns(*key, func.count(), HexConcat(hash_column)).group_by(*key)
    rows = bulk_frame(session, grouped, [*columns[:-1], "_count", "_hex"])
    counts = rows["_count"].to_numpy(np.int64)
    digits = "".join(rows["_hex"].tolist())
    if len(digits) != 2 * _HASH_BYTES * int(counts.sum()):  # not 16 bytes each: row by row
        return raw_frame(session, query, columns)
    # Two 8-byte halves per hash, numbered by first appearance as pandas' factorize of
    # the hashes would number them; one bytes object per distinct hash.
    halves = np.frombuffer(bytes.fromhex(digits), dtype="<u8").reshape(-1, 2)
    high, high_values = pd.factorize(halves[:, 0])
    low, low_values = pd.factorize(halves[:, 1])
    codes, pairs = pd.factorize(high.astype(np.int64) * len(low_values) + low)
    hashes = np.empty(len(pairs), dtype=object)
    hashes[:] = [
        int(h).to_bytes(8, "little") + int(lo).to_bytes(8, "little")
        for h, lo in zip(
            high_values[pairs // len(low_values)].tolist(),
            low_values[pairs % len(low_values)].tolist(),
            strict=True,
        )
    ]
    frame = pd.DataFrame({name: np.repeat(rows[name].to_numpy(), counts) for name in columns[:-1]})
    frame[columns[-1]] = hashes[codes]
    return frame


_HASH_BYTES = 16  # a device hash: HMAC-SHA256's first 16 bytes (service.store.models)
_NULL = "\\N"  # COPY's NULL (PostgreSQL's own): an empty string stays a string


def _is(type_: Any, kind: type) -> bool:
    return isinstance(type_, kind) or isinstance(getattr(type_, "impl", None), kind)
