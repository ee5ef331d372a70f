"""The mergeable cell statistics computed on a columnar engine (polars), chunk by chunk.

``deadzone aggregate --rebuild`` and the Dask scale-out use it: readings leave the
database in chunks of ``chunk_rows``, each chunk becomes a *partial* (the statistics and
device set of its readings), and partials merge by the same rules as ``cell_stats``
itself (sums, min, max, bitwise OR, set union). Raw readings in memory are bounded by the
chunk; what grows is the statistics being built, which has to be written anyway. The
result is written back with COPY (PostgreSQL) or one ``executemany`` per table (SQLite),
in the caller's transaction.

Reading, per database:
- PostgreSQL: ``COPY (SELECT ...) TO STDOUT (FORMAT BINARY)`` through psycopg 3. The
  SELECT makes every field fixed-width (NULLs become sentinels, the radio a small code),
  so a chunk of the binary stream *is* a numpy structured array: no per-value parsing.
- SQLite: the session's own cursor, ``fetchmany`` in chunks, one frame per chunk. The ADBC
  SQLite driver (Arrow batches, about five times faster) was tried and rejected: its
  bundled SQLite did not see frames that another connection had committed to the WAL.

Why polars and not DuckDB: measured here with ``benchmarks/aggregate.py --engines``, the
same statistics and device sets over the same 2 million synthetic readings in memory
(Arrow, zero copy for both), each engine's best of three in one run, on a shared 2-core
machine with a load average near 10: polars 0.71 M readings/s against DuckDB 0.34 M in
one run, 0.46 M against 0.24 M in another; both gave identical rows. polars plans the
statistics group-by and the distinct (cell, device) pairs over one frame in one lazy
query and hands numpy-backed columns to the writer; DuckDB scans twice and converts its
results back. polars is also a single in-process library whose expressions mirror the
SQL rules line by line, with no third SQL dialect to keep equal to the databases'.

Exactness: every column equals the SQL path's (``statistics.readings_to_stats``) bit for
bit, which a test checks on both databases. Power is summed in integer attowatts from the
same IEEE ``pow`` the databases call, rounded as each database's ``ROUND(double)`` does
(PostgreSQL ``rint``: half to even; SQLite: add one half, truncate). Times keep their
microseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection

from domain.radio import REPORTED_RADIOS, thresholds_radio
from service.engine.statistics import FULL_WEIGHT, REDUCED_WEIGHT
from service.settings import Settings
from service.store.sqlexpr import ATTOWATT_DBM_OFFSET

STAT_KEY = ["h3_cell", "mcc", "mnc", "radio", "bucket"]

# Radios travel as small codes (index in RADIO_CODES) through COPY and the group-bys.
RADIO_CODES: tuple[str, ...] = REPORTED_RADIOS

SUMMED = (
    "readings", "measured", "manual", "no_service", "weight_covered", "weight_weak",
    "weight_dead", "power_sum_aw",
)  # fmt: skip
STAT_COLUMNS = [
    *STAT_KEY, "resolution", *SUMMED, "dbm_min", "dbm_max", "days_mask", "first_seen",
    "last_seen",
]  # fmt: skip
# A device hash is 16 bytes; it travels as two big-endian 64-bit halves, because
# grouping on two integers is several times faster than on a binary column.
DEVICE_COLUMNS = [*STAT_KEY, "device_hi", "device_lo"]

# The columns of a chunk of readings (names as in ``readings``; radio as its code).
READING_SCHEMA: dict[str, Any] = {
    "h3_cell": pl.Int64,
    "mcc": pl.Int16,
    "mnc": pl.Int16,
    "radio": pl.UInt8,
    "observed_at": pl.Datetime("us"),  # naive UTC
    "signal_dbm": pl.Float64,
    "no_service": pl.Boolean,
    "level": pl.Int16,
    "calls_fail": pl.Boolean,
    "accuracy_m": pl.Float64,
    "device_hi": pl.Int64,
    "device_lo": pl.Int64,
}
DEFAULT_CHUNK_ROWS = 1_000_000  # 104 MB of binary COPY rows in memory at once
SQLITE_CHUNK_ROWS = 200_000
_DAY_BITS = pl.Series([1 << d for d in range(31)], dtype=pl.Int64)

Progress = Callable[[str, int, int], None]
"""Called as progress(step, done, total)."""


def no_progress(step: str, done: int, total: int) -> None:
    return None


@dataclass
class Partial:
    """Statistics (``STAT_COLUMNS``) and device set (``DEVICE_COLUMNS``) of some
    readings; ``radio`` is its code (UInt8) and ``bucket`` a Date in both frames."""

    stats: pl.DataFrame
    devices: pl.DataFrame


def partial_of(readings: pl.DataFrame, settings: Settings, *, rounding: str) -> Partial:
    """The statistics of a chunk of readings (``READING_SCHEMA``) at the working
    resolution. ``rounding`` is "even" (PostgreSQL) or "away" (SQLite): see module doc."""
    ones = [settings.bars_for(thresholds_radio(code))[0] for code in RADIO_CODES]
    twos = [settings.bars_for(thresholds_radio(code))[1] for code in RADIO_CODES]
    frame = (
        readings.lazy()
        .with_columns(
            pl.lit(pl.Series(ones)).gather(pl.col("radio")).alias("one_bar"),
            pl.lit(pl.Series(twos)).gather(pl.col("radio")).alias("two_bars"),
        )
        .with_columns(_reading_expressions(settings, rounding))
    )
    stats = frame.group_by(STAT_KEY).agg(
        pl.lit(settings.h3_resolution, pl.Int16).alias("resolution"),
        pl.len().cast(pl.Int64).alias("readings"),
        pl.col("signal_dbm").count().cast(pl.Int64).alias("measured"),
        pl.col("level").count().cast(pl.Int64).alias("manual"),
        pl.col("no_service").sum().cast(pl.Int64).alias("no_service"),
        *[pl.col(name).sum() for name in ("weight_covered", "weight_weak", "weight_dead")],
        pl.col("aw").sum().cast(pl.Int64).alias("power_sum_aw"),
        pl.col("signal_dbm").min().alias("dbm_min"),
        pl.col("signal_dbm").max().alias("dbm_max"),
        pl.col("day_bit").bitwise_or().alias("days_mask"),
        pl.col("observed_at").min().alias("first_seen"),
        pl.col("observed_at").max().alias("last_seen"),
    )
    devices = frame.select(DEVICE_COLUMNS).unique()
    stats_df, devices_df = pl.collect_all([stats.select(STAT_COLUMNS), devices])
    return Partial(stats_df, devices_df)


def _reading_expressions(settings: Settings, rounding: str) -> list[pl.Expr]:
    dbm, level = pl.col("signal_dbm"), pl.col("level")
    # Same rules, in the same order, as statistics.reading_class: 0 covered, 1 weak, 2 dead.
    cls = (
        pl.when(pl.col("no_service")).then(2)
        .when(level == 0).then(2)
        .when(level == 1).then(1)
        .when((level >= 2) & pl.col("calls_fail").fill_null(False)).then(1)
        .when(level >= 2).then(0)
        .when(dbm >= pl.col("two_bars")).then(0)
        .when(dbm >= pl.col("one_bar")).then(1)
        .otherwise(2)
    )  # fmt: skip
    poor_fix = (pl.col("accuracy_m") > settings.downweight_accuracy_m).fill_null(False)
    weight = pl.when(level.is_not_null() | poor_fix).then(REDUCED_WEIGHT).otherwise(FULL_WEIGHT)
    watts = pl.lit(10.0).pow((dbm + ATTOWATT_DBM_OFFSET) / 10.0)
    rounded = watts.round(0, mode="half_to_even") if rounding == "even" else (watts + 0.5).floor()
    bucket = pl.col("observed_at").dt.month_start().cast(pl.Date)
    # Day of the month by date arithmetic: several times faster than dt.day() here.
    day = pl.col("observed_at").cast(pl.Date).cast(pl.Int32) - bucket.cast(pl.Int32) + 1
    cls = cls.cast(pl.Int8)
    weight = weight.cast(pl.Int64)
    return [
        bucket.alias("bucket"),
        pl.when(cls == 0).then(weight).otherwise(0).alias("weight_covered"),
        pl.when(cls == 1).then(weight).otherwise(0).alias("weight_weak"),
        pl.when(cls == 2).then(weight).otherwise(0).alias("weight_dead"),
        rounded.cast(pl.Int64).alias("aw"),
        pl.lit(_DAY_BITS).gather(day - 1).alias("day_bit"),  # bit d-1: day d
    ]


def merge_partials(parts: list[Partial]) -> Partial:
    """One partial for the union of the parts' readings (exact: see ``CellStat``)."""
    stats = pl.concat([p.stats for p in parts]).lazy()
    merged = stats.group_by(STAT_KEY).agg(
        pl.col("resolution").first(),
        *[pl.col(name).sum() for name in SUMMED],
        pl.col("dbm_min").min(),
        pl.col("dbm_max").max(),
        pl.col("days_mask").bitwise_or(),
        pl.col("first_seen").min(),
        pl.col("last_seen").max(),
    )
    devices = pl.concat([p.devices for p in parts]).lazy().unique()
    stats_df, devices_df = pl.collect_all([merged.select(STAT_COLUMNS), devices])
    return Partial(stats_df, devices_df)


class Accumulator:
    """Merges partials as chunks arrive, compacting every few chunks so that memory
    holds the statistics built so far plus a few chunks' partials, never all of them."""

    def __init__(self, *, every: int = 4) -> None:
        self.parts: list[Partial] = []
        self.every = every

    def add(self, part: Partial) -> None:
        self.parts.append(part)
        if len(self.parts) > self.every:
            self.parts = [merge_partials(self.parts)]

    def result(self) -> Partial:
        return merge_partials(self.parts) if self.parts else empty_partial()


def empty_partial() -> Partial:
    stats: dict[str, Any] = {name: pl.Int64 for name in STAT_COLUMNS} | {
        "mcc": pl.Int16, "mnc": pl.Int16, "radio": pl.UInt8, "bucket": pl.Date,
        "resolution": pl.Int16, "dbm_min": pl.Float64, "dbm_max": pl.Float64,
        "first_seen": pl.Datetime("us"), "last_seen": pl.Datetime("us"),
    }  # fmt: skip
    devices = {name: stats[name] for name in STAT_KEY} | {
        "device_hi": pl.Int64,
        "device_lo": pl.Int64,
    }
    return Partial(pl.DataFrame(schema=stats), pl.DataFrame(schema=devices))


# --- reading chunks out of the databases ---------------------------------------------

_RADIO_CASE = (
    "CASE radio "
    + " ".join(f"WHEN '{code}' THEN {i}" for i, code in enumerate(RADIO_CODES))
    + " END"
)
# PostgreSQL's binary COPY of these expressions is fixed-width: every row is the same
# 104 bytes (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format").
_PG_SELECT = (
    f"SELECT h3_cell, mcc, mnc, CAST({_RADIO_CASE} AS int2), observed_at,"
    " coalesce(signal_dbm, 'NaN'::float8), no_service, CAST(coalesce(level, -1) AS int2),"
    " coalesce(calls_fail, false), coalesce(accuracy_m, 'NaN'::float8),"
    " device_hash FROM readings WHERE {where}"
)
_PG_FIELDS: list[tuple[str, Any]] = [
    ("h3_cell", ">i8"), ("mcc", ">i2"), ("mnc", ">i2"), ("radio", ">i2"),
    ("observed_at", ">i8"), ("signal_dbm", ">f8"), ("no_service", "u1"), ("level", ">i2"),
    ("calls_fail", "u1"), ("accuracy_m", ">f8"), ("device_hash", (">i8", 2)),
]  # fmt: skip
_PG_ROW = np.dtype(
    [("fields", ">i2")]
    + [part for name, kind in _PG_FIELDS for part in ((f"len_{name}", ">i4"), (name, kind))]
)
_PG_HEADER = 19  # signature (11 bytes), flags (4), header extension length (4)
_PG_EPOCH_US = 946_684_800_000_000  # PostgreSQL timestamps count from 2000-01-01 UTC


def _pg_rows_to_frame(buffer: bytes | bytearray | memoryview) -> pl.DataFrame:
    rows = np.frombuffer(buffer, dtype=_PG_ROW)
    if len(rows) and not (
        (rows["fields"] == len(_PG_FIELDS)).all()
        and all((rows[f"len_{name}"] == np.dtype(kind).itemsize).all() for name, kind in _PG_FIELDS)
    ):
        # Only a device hash that is not 16 bytes long could shift the layout.
        raise ValueError("unexpected row layout in the binary COPY of readings")
    dbm = rows["signal_dbm"].astype(np.float64)
    level = rows["level"].astype(np.int16)
    accuracy = rows["accuracy_m"].astype(np.float64)
    return pl.DataFrame(
        {
            "h3_cell": rows["h3_cell"].astype(np.int64),
            "mcc": rows["mcc"].astype(np.int16),
            "mnc": rows["mnc"].astype(np.int16),
            "radio": rows["radio"].astype(np.uint8),
            "observed_at": (rows["observed_at"].astype(np.int64) + _PG_EPOCH_US).view(
                "datetime64[us]"
            ),
            "signal_dbm": pl.Series(dbm).fill_nan(None),
            "no_service": rows["no_service"].astype(bool),
            "level": pl.Series(level).set(pl.Series(level < 0), None),
            "calls_fail": rows["calls_fail"].astype(bool),
            "accuracy_m": pl.Series(accuracy).fill_nan(None),
            "device_hi": rows["device_hash"][:, 0].astype(np.int64),
            "device_lo": rows["device_hash"][:, 1].astype(np.int64),
        },
        schema=READING_SCHEMA,
    )


def postgres_chunks(
    conn: Connection, *, where: str, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[pl.DataFrame]:
    """Readings matching the SQL condition ``where`` (trusted text, no user input), as
    frames of at most ``chunk_rows`` rows, streamed with a binary COPY."""
    raw = conn.connection.driver_connection
    assert raw is not None
    step = chunk_rows * _PG_ROW.itemsize
    pending = bytearray()
    skip = _PG_HEADER
    with raw.cursor() as cur:
        sql = f"COPY ({_PG_SELECT.format(where=where)}) TO STDOUT (FORMAT BINARY)"
        with cur.copy(sql) as copy:
            for block in copy:
                pending += block
                if skip:
                    if len(pending) < skip:
                        continue
                    del pending[:skip]
                    skip = 0
                if len(pending) >= step:
                    yield _pg_rows_to_frame(memoryview(pending)[:step])
                    del pending[:step]
    usable = len(pending) - len(pending) % _PG_ROW.itemsize  # drops the 2-byte trailer
    if usable:
        for start in range(0, usable, step):
            yield _pg_rows_to_frame(memoryview(pending)[start : min(start + step, usable)])


_SQLITE_SELECT = (
    f"SELECT h3_cell, mcc, mnc, {_RADIO_CASE} AS radio, observed_at, signal_dbm, no_service,"
    " level, calls_fail, accuracy_m, device_hash FROM readings WHERE {where}"
)


# What SQLite returns for the columns of _SQLITE_SELECT (booleans are 0/1 integers).
_SELECTED: dict[str, Any] = {
    "h3_cell": pl.Int64, "mcc": pl.Int64, "mnc": pl.Int64, "radio": pl.Int64,
    "observed_at": pl.String, "signal_dbm": pl.Float64, "no_service": pl.Int64,
    "level": pl.Int64, "calls_fail": pl.Int64, "accuracy_m": pl.Float64,
    "device_hash": pl.Binary,
}  # fmt: skip


def sqlite_chunks(
    conn: Connection, *, where: str, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[pl.DataFrame]:
    """Readings matching ``where`` from SQLite, in frames of at most ``chunk_rows``,
    read in the caller's transaction."""
    # A reading fetched as a Python tuple costs some 600 bytes before it becomes columns
    # (measured: +779 MB at a million), so SQLite reads in smaller chunks than COPY.
    chunk_rows = min(chunk_rows, SQLITE_CHUNK_ROWS)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_SQLITE_SELECT.format(where=where))
        while rows := cursor.fetchmany(chunk_rows):
            yield _sqlite_frame(pl.DataFrame(rows, schema=_SELECTED, orient="row"))
    finally:
        cursor.close()


def _sqlite_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        pl.col("h3_cell").cast(pl.Int64),
        pl.col("mcc").cast(pl.Int16),
        pl.col("mnc").cast(pl.Int16),
        pl.col("radio").cast(pl.UInt8),
        # Stored as naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' (service.store.bulk).
        pl.col("observed_at").str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us"),
        pl.col("signal_dbm").cast(pl.Float64),
        pl.col("no_service").cast(pl.Boolean),
        pl.col("level").cast(pl.Int16),
        pl.col("calls_fail").cast(pl.Boolean),
        pl.col("accuracy_m").cast(pl.Float64),
    ).with_columns(device_halves(frame["device_hash"]))


def device_halves(hashes: pl.Series) -> list[pl.Series]:
    """16-byte device hashes as their two big-endian 64-bit halves."""
    import pyarrow as pa

    fixed = hashes.to_arrow().cast(pa.binary()).cast(pa.binary(16))  # raises if not 16
    halves = np.frombuffer(fixed.buffers()[1], dtype=">i8")
    halves = halves[2 * fixed.offset : 2 * (fixed.offset + len(fixed))].reshape(-1, 2)
    return [
        pl.Series("device_hi", halves[:, 0].astype(np.int64)),
        pl.Series("device_lo", halves[:, 1].astype(np.int64)),
    ]


def device_hashes(hi: pl.Series, lo: pl.Series) -> pl.Series:
    """The inverse of ``device_halves``."""
    import pyarrow as pa

    raw = np.empty((len(hi), 2), dtype=">i8")
    raw[:, 0], raw[:, 1] = hi.to_numpy(), lo.to_numpy()
    array = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), len(hi), [None, pa.py_buffer(raw.tobytes())]
    )
    return pl.Series("device_hash", array.cast(pa.binary()))


def reading_chunks(
    conn: Connection, *, where: str, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[pl.DataFrame]:
    if conn.dialect.name == "postgresql":
        return postgres_chunks(conn, where=where, chunk_rows=chunk_rows)
    return sqlite_chunks(conn, where=where, chunk_rows=chunk_rows)


def rounding_of(conn: Connection) -> str:
    return "even" if conn.dialect.name == "postgresql" else "away"


def statistics_of_readings(
    conn: Connection,
    settings: Settings,
    *,
    up_to: int,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress = no_progress,
) -> Partial:
    """The statistics of every reading with ``seq <= up_to``, chunk by chunk."""
    total = int(conn.exec_driver_sql(f"SELECT count(*) FROM readings WHERE seq <= {int(up_to)}")
                .scalar_one())  # fmt: skip
    progress("statistics", 0, total)
    accumulator = Accumulator()
    done = 0
    rounding = rounding_of(conn)
    for chunk in reading_chunks(conn, where=f"seq <= {int(up_to)}", chunk_rows=chunk_rows):
        accumulator.add(partial_of(chunk, settings, rounding=rounding))
        done += chunk.height
        progress("statistics", done, total)
    return accumulator.result()


# --- writing the statistics back -----------------------------------------------------


def write_partial(conn: Connection, part: Partial, *, progress: Progress = no_progress) -> None:
    """Append a partial's rows to ``cell_stats`` and ``cell_devices`` (the caller
    cleared what they replace): binary COPY on PostgreSQL, ``executemany`` on SQLite."""
    total = part.stats.height + part.devices.height
    progress("writing", 0, total)
    if conn.dialect.name == "postgresql":
        _copy_binary(conn, "cell_stats", part.stats, _STAT_PG_TYPES)
        progress("writing", part.stats.height, total)
        devices = part.devices.select(*STAT_KEY, "device_hi", "device_lo")
        _copy_binary(conn, "cell_devices", devices, [*_DEVICE_PG_TYPES[:-1], "halves"])
        progress("writing", total, total)
        return
    radio = pl.col("radio").replace_strict(
        list(range(len(RADIO_CODES))), list(RADIO_CODES), return_dtype=pl.String
    )
    stats = part.stats.with_columns(radio)
    devices = part.devices.select(
        *STAT_KEY[:3],
        radio,
        "bucket",
        device_hashes(part.devices["device_hi"], part.devices["device_lo"]),
    )
    _sqlite_insert(conn, "cell_stats", _sqlite_values(stats))
    progress("writing", stats.height, total)
    _sqlite_insert(conn, "cell_devices", _sqlite_values(devices))
    progress("writing", total, total)


_STAT_PG_TYPES = [
    "int8", "int2", "int2", "text", "date", "int2", *["int8"] * len(SUMMED), "float8",
    "float8", "int8", "timestamp", "timestamp",
]  # fmt: skip
_DEVICE_PG_TYPES = ["int8", "int2", "int2", "text", "date", "bytea"]


_PG_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # no flags, no header extension
_PG_EPOCH_DAYS = 10_957  # 2000-01-01, PostgreSQL's epoch, in days from 1970-01-01
_PG_FIXED = {"int8": ">i8", "int2": ">i2", "float8": ">f8", "date": ">i4", "timestamp": ">i8"}


def _copy_binary(conn: Connection, table: str, frame: pl.DataFrame, types: list[str]) -> None:
    """Append ``frame`` to ``table`` with one binary COPY whose rows are built as numpy
    structured arrays, a group at a time (the layout is fixed within a group of the same
    radio text and the same NULL columns), instead of one Python call per row. The
    ``halves`` type writes two 64-bit columns (``device_hi``, ``device_lo``) as one
    16-byte bytea."""
    names = frame.columns if "halves" not in types else frame.columns[:-1]
    fields = list(zip(names, types, strict=True))
    nullable = [name for name in frame.columns if frame[name].null_count()]
    flags = [pl.col(name).is_null().alias(f"null_{name}") for name in nullable]
    chunks = [_PG_SIGNATURE]
    for group in frame.with_columns(flags).partition_by(
        ["radio", *[f"null_{n}" for n in nullable]]
    ):
        chunks.append(_binary_group(group, fields))
    chunks.append(b"\xff\xff")  # trailer: field count -1
    raw = conn.connection.driver_connection
    assert raw is not None
    columns = ", ".join(name if kind != "halves" else "device_hash" for name, kind in fields)
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        for chunk in chunks:
            copy.write(chunk)


def _binary_group(group: pl.DataFrame, fields: list[tuple[str, str]]) -> bytes:
    null = {name for name, _ in fields if group[name].null_count() == group.height}
    radio = RADIO_CODES[int(group["radio"][0])].encode()
    layout: list[tuple[str, Any]] = [("count", ">i2")]
    for name, kind in fields:
        layout.append((f"len_{name}", ">i4"))
        if name in null:
            continue
        if kind == "text":
            layout.append((name, f"S{len(radio)}"))
        elif kind == "halves":
            layout.append((name, (">i8", 2)))
        else:
            layout.append((name, _PG_FIXED[kind]))
    rows = np.empty(group.height, dtype=np.dtype(layout))
    rows["count"] = len(fields)
    for name, kind in fields:
        if name in null:
            rows[f"len_{name}"] = -1
            continue
        if kind == "text":
            rows[f"len_{name}"], rows[name] = len(radio), radio
        elif kind == "halves":
            rows[f"len_{name}"] = 16
            rows[name][:, 0] = group["device_hi"].to_numpy()
            rows[name][:, 1] = group["device_lo"].to_numpy()
        else:
            rows[f"len_{name}"] = np.dtype(_PG_FIXED[kind]).itemsize
            column = group[name]
            if kind == "date":
                rows[name] = column.cast(pl.Int32).to_numpy() - _PG_EPOCH_DAYS
            elif kind == "timestamp":
                rows[name] = column.cast(pl.Int64).to_numpy() - _PG_EPOCH_US
            else:
                rows[name] = column.to_numpy()
    return rows.tobytes()


def _sqlite_values(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns as SQLite stores them: dates ISO text, times naive UTC text."""
    fixes = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Date:
            fixes.append(pl.col(name).dt.strftime("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            fixes.append(pl.col(name).dt.strftime("%Y-%m-%d %H:%M:%S.%6f"))
    return frame.with_columns(fixes)


def _sqlite_insert(conn: Connection, table: str, frame: pl.DataFrame) -> None:
    if frame.is_empty():
        return
    marks = ", ".join("?" * frame.width)
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(frame.columns)}) VALUES ({marks})",
        frame.rows(),  # type: ignore[arg-type]
    )
