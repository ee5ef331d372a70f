"""The fast path that writes accepted readings, one statement per batch.

Row-at-a-time ORM inserts manage about 26 k rows/s on PostgreSQL (DESIGN.md); binary
COPY into a staging table and one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` keeps
the unique (device, id) rule and runs at COPY speed. SQLite's ``executemany`` inside
one transaction is already fast, so it inserts directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from service.store.dialect import is_postgres

# Column order of every row tuple handed to ``insert_readings``.
READING_COLUMNS: tuple[str, ...] = (
    "device_hash",
    "reading_id",
    "observed_at",
    "received_at",
    "lat",
    "lon",
    "accuracy_m",
    "speed_mps",
    "mcc",
    "mnc",
    "radio",
    "signal_dbm",
    "no_service",
    "level",
    "calls_fail",
    "area_code",
    "cell_id",
    "pci",
    "arfcn",
    "source",
    "h3_cell",
)
_PG_TYPES = (
    "bytea", "text", "timestamptz", "timestamptz", "float8", "float8", "float8", "float8",
    "int2", "int2", "text", "float8", "bool", "int2", "bool", "int8", "int8", "int4", "int4",
    "text", "int8",
)  # fmt: skip
_COLS = ", ".join(READING_COLUMNS)
_ON_CONFLICT = "ON CONFLICT (device_hash, reading_id) DO NOTHING"  # SQLite: one table
# PostgreSQL: readings are partitioned by month, and a unique constraint there must include
# the partition key, so the (device, id) rule lives in the unpartitioned ``reading_keys``
# (service.store.partitions says why). One statement claims the keys and inserts the rows
# whose key was new; ``ord`` keeps the first of two copies in one batch, as before.
_STAGE_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS reading_batch (ord bigint GENERATED ALWAYS AS IDENTITY, "
    + ", ".join(f"{c} {t}" for c, t in zip(READING_COLUMNS, _PG_TYPES, strict=True))
    + ") ON COMMIT DELETE ROWS"
)
_FIRSTS = ", ".join(f"f.{c}" for c in READING_COLUMNS)
_INSERT_PG = (
    f"WITH firsts AS (SELECT DISTINCT ON (device_hash, reading_id) ord, {_COLS}"
    " FROM reading_batch ORDER BY device_hash, reading_id, ord),"
    " fresh AS (INSERT INTO reading_keys (device_hash, reading_id, observed_at)"
    " SELECT device_hash, reading_id, observed_at FROM firsts ON CONFLICT DO NOTHING"
    " RETURNING device_hash, reading_id)"
    f" INSERT INTO readings ({_COLS}) SELECT {_FIRSTS} FROM firsts f"
    " JOIN fresh USING (device_hash, reading_id) ORDER BY f.ord"
)


def insert_readings(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert rows (in ``READING_COLUMNS`` order); return how many were new.

    Rows whose (device_hash, reading_id) is already stored are skipped: that is what
    makes resubmission idempotent, also for two copies racing in parallel requests.
    """
    if not rows:
        return 0
    if is_postgres(conn):
        return _insert_postgres(conn, rows)
    return _insert_sqlite(conn, rows)


def _insert_sqlite(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    received = sqlite_utc_text(rows[0][3])
    converted = [(*r[:2], sqlite_utc_text(r[2]), received, *r[4:]) for r in rows]
    placeholders = ", ".join("?" * len(READING_COLUMNS))
    result = conn.exec_driver_sql(
        f"INSERT INTO readings ({_COLS}) VALUES ({placeholders}) {_ON_CONFLICT}", converted
    )
    return int(result.rowcount)


def sqlite_utc_text(value: datetime) -> str:
    """An aware datetime as SQLite stores it: naive UTC text in SQLAlchemy's format.

    Written by hand because SQLAlchemy's processor plus ``astimezone`` cost three times
    as much, and this runs for every reading; a test checks both agree.
    """
    if value.utcoffset():
        value = value.astimezone(UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 - fastest formatting
        value.year, value.month, value.day, value.hour, value.minute, value.second,
        value.microsecond,
    )  # fmt: skip


def _insert_postgres(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur:
        cur.execute(_STAGE_DDL)
        with cur.copy(f"COPY reading_batch ({_COLS}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(list(_PG_TYPES))
            for row in rows:
                copy.write_row(row)
        cur.execute(_INSERT_PG)
        inserted = cur.rowcount
        cur.execute("TRUNCATE reading_batch")
    return int(inserted)


def copy_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Append many rows to ``table`` the fastest way each database allows: COPY on
    PostgreSQL, ``executemany`` on SQLite. Values must be what the driver takes; on
    SQLite, times as ``sqlite_utc_text`` and dates as ISO text."""
    cols = ", ".join(columns)
    if is_postgres(conn):
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    batch = list(rows)
    if batch:
        marks = ", ".join("?" * len(columns))
        conn.exec_driver_sql(f"INSERT INTO {table} ({cols}) VALUES ({marks})", batch)


def copy_frame(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    """PostgreSQL: append the rows of ``frame`` (its columns named as ``table``'s) by one
    COPY in CSV whose fields are formatted column by column with numpy. ``copy_rows``
    converts every value to Python and the driver writes it row by row: 0.5-0.75 s of
    CPU for the 28,000 decision rows of an incremental run at 300,000 readings, against
    0.36 s here, and pandas' own ``to_csv`` was slower still (it formats aware times value
    by value; ``docs/scale.md``, the eighth pass on PostGIS).

    The text is exact: floats in their shortest round-trip form (as the driver writes
    them), times in UTC to the microsecond, text always quoted, missing values (None,
    NaN, NaT, NA) as CSV's unquoted empty field, which COPY reads as NULL. A ``date``
    column takes Python dates: a ``datetime64`` column is written as UTC times, whose day
    is not the local day of an aware time east of UTC.

    Formatted and written ``COPY_FRAME_ROWS`` rows at a time within the one COPY: a full
    run stores a resolution's whole frame, and its text at once cost 1.4 GB of memory
    beside a million rows (0.37 GB for ``copy_rows``)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    cols = ", ".join(frame.columns)
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as copy:
        for start in range(0, len(frame), COPY_FRAME_ROWS):
            part = frame.iloc[start : start + COPY_FRAME_ROWS]
            fields = [_csv_fields(part[name]) for name in part.columns]
            copy.write("".join(f"{','.join(row)}\n" for row in zip(*fields, strict=True)))


COPY_FRAME_ROWS = 50_000  # rows formatted at once by copy_frame: tens of MB of text


def _csv_fields(column: pd.Series) -> list[str]:
    """A column's values as CSV fields for COPY (``copy_frame``)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        aware = isinstance(column.dtype, pd.DatetimeTZDtype)
        times = column.dt.tz_convert("UTC").dt.tz_localize(None) if aware else column
        text = np.datetime_as_string(times.to_numpy("datetime64[us]"), unit="us")
        suffix = "+00" if aware else ""
        return [
            "" if missing else t + suffix
            for t, missing in zip(text.tolist(), column.isna().tolist(), strict=True)
        ]
    # pandas' own dtypes (nullable integers, Arrow strings) as objects: a nullable
    # integer column with a missing value would come out of numpy as floats.
    numpy_dtype = isinstance(column.dtype, np.dtype)
    values = column.to_numpy() if numpy_dtype else column.to_numpy(dtype=object)
    if values.dtype.kind in "iu":
        return values.astype(str).tolist()
    if values.dtype.kind == "b":
        return np.where(values, "t", "f").tolist()
    if values.dtype.kind == "f":  # numpy's str of a float64 is its shortest round trip
        wide = values.astype(np.float64)  # as the driver writes a float32: its float64
        return np.where(np.isnan(wide), "", _distinct_as_text(wide)).tolist()
    return [_csv_field(v) for v in values.tolist()]


def _distinct_as_text(values: np.ndarray) -> np.ndarray:
    """``values.astype(str)``, formatting each distinct value once: a cell's centre, a
    share or a confidence repeats over a cell's rows, and formatting a float is most of
    ``copy_frame``'s time. Distinct by bits (``-0.0`` stays apart from ``0.0``)."""
    bits, at = np.unique(values.view(np.int64), return_inverse=True)
    return bits.view(np.float64).astype(str)[at.reshape(-1)]


def _csv_field(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float):
        return "" if value != value else repr(value)
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
