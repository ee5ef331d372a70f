"""The readings archive: GeoParquet files partitioned by month, for the Dask workers.

``deadzone export readings --format parquet DIR`` writes it; ``deadzone aggregate --dask
... --archive DIR`` computes the statistics from it without touching the database until
the write-back. Layout (Hive-style, so any Parquet reader prunes by month)::

    DIR/manifest.json                      {"max_seq": ..., "readings": ..., ...}
    DIR/month=2026-11/part-00000.parquet   one file per exported chunk and month

Each file is GeoParquet 1.1 (``geo`` metadata, a WKB ``geometry`` point in OGC:CRS84,
i.e. WGS84 longitude/latitude) holding the reading columns the statistics need plus the
coarse H3 parent (``h3_parent``) that the Dask partitions split on. The manifest's
``max_seq`` is the newest reading archived: statistics computed from the archive move the
watermark there, and the ordinary merge picks up what arrived after the export.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from sqlalchemy import Connection

from service.engine.columnar import RADIO_CODES, READING_SCHEMA, device_halves
from service.errors import InvalidInput
from service.store.sqlexpr import h3_parent_masks

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
EXPORT_CHUNK_ROWS = 500_000

# The archive's columns (radio as text, device hash as 16 bytes: a self-describing file).
ARCHIVE_SCHEMA: dict[str, Any] = {
    "seq": pl.Int64,
    "device_hash": pl.Binary,
    "observed_at": pl.Datetime("us", "UTC"),
    "lat": pl.Float64,
    "lon": pl.Float64,
    "accuracy_m": pl.Float64,
    "mcc": pl.Int16,
    "mnc": pl.Int16,
    "radio": pl.String,
    "signal_dbm": pl.Float64,
    "no_service": pl.Boolean,
    "level": pl.Int16,
    "calls_fail": pl.Boolean,
    "h3_cell": pl.Int64,
}
_SELECT = (
    "SELECT seq, device_hash, observed_at, lat, lon, accuracy_m, mcc, mnc, radio, signal_dbm,"
    " no_service, level, calls_fail, h3_cell FROM readings WHERE seq <= {up_to} ORDER BY seq"
)
_GEO_METADATA = {
    "version": "1.1.0",
    "primary_column": "geometry",
    # No "crs": GeoParquet then means OGC:CRS84 (WGS84, longitude first).
    "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"]}},
}


@dataclass(frozen=True)
class Manifest:
    max_seq: int
    readings: int
    months: list[str]
    parent_resolution: int


def h3_parent_expr(resolution: int, column: str = "h3_cell") -> pl.Expr:
    """polars: the parent of an H3 cell at ``resolution`` (bit masks, see h3_parent_masks)."""
    keep, set_ = h3_parent_masks(resolution)
    return (pl.col(column) & keep) | set_


def export_readings(
    conn: Connection,
    directory: Path,
    *,
    up_to: int,
    parent_resolution: int,
    progress: Callable[[str, int, int], None] | None = None,
) -> Manifest:
    """Write every reading with ``seq <= up_to`` to ``directory`` (created; refused if it
    already holds an archive, so two exports never mix)."""
    if (directory / MANIFEST).exists():
        raise InvalidInput(f"{directory} already holds a readings archive; choose a new folder")
    directory.mkdir(parents=True, exist_ok=True)
    total = int(
        conn.exec_driver_sql(
            f"SELECT count(*) FROM readings WHERE seq <= {int(up_to)}"
        ).scalar_one()
    )
    done = 0
    months: set[str] = set()
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_SELECT.format(up_to=int(up_to)))
        part = 0
        while rows := cursor.fetchmany(EXPORT_CHUNK_ROWS):
            frame = _archive_frame(rows, sqlite=conn.dialect.name == "sqlite")
            frame = frame.with_columns(h3_parent_expr(parent_resolution).alias("h3_parent"))
            month = pl.col("observed_at").dt.strftime("%Y-%m")
            for (name,), group in frame.group_by(month.alias("month")):
                folder = directory / f"month={name}"
                folder.mkdir(exist_ok=True)
                _write_geoparquet(group, folder / f"part-{part:05d}.parquet")
                months.add(str(name))
            part += 1
            done += len(rows)
            if progress is not None:
                progress("export", done, total)
    finally:
        cursor.close()
    manifest = Manifest(
        max_seq=int(up_to), readings=done, months=sorted(months),
        parent_resolution=parent_resolution,
    )  # fmt: skip
    (directory / MANIFEST).write_text(
        json.dumps({"format": FORMAT_VERSION, **manifest.__dict__}, indent=1)
    )
    return manifest


def _archive_frame(rows: list[Any], *, sqlite: bool) -> pl.DataFrame:
    raw = {**ARCHIVE_SCHEMA, "observed_at": pl.String if sqlite else pl.Datetime("us", "UTC")}
    if sqlite:  # booleans are 0/1 integers there
        raw |= {"no_service": pl.Int64, "calls_fail": pl.Int64}
    frame = pl.DataFrame(rows, schema=raw, orient="row")
    if sqlite:
        frame = frame.with_columns(
            pl.col("observed_at")
            .str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us")
            .dt.replace_time_zone("UTC"),
            pl.col("no_service").cast(pl.Boolean),
            pl.col("calls_fail").cast(pl.Boolean),
        )
    return frame.cast(ARCHIVE_SCHEMA)  # type: ignore[arg-type]


def _write_geoparquet(frame: pl.DataFrame, path: Path) -> None:
    points = shapely.points(frame["lon"].to_numpy(), frame["lat"].to_numpy())
    table = frame.to_arrow().append_column(
        "geometry", pa.array(shapely.to_wkb(points), type=pa.binary())
    )
    metadata = {**(table.schema.metadata or {}), b"geo": json.dumps(_GEO_METADATA).encode()}
    pq.write_table(table.replace_schema_metadata(metadata), path, compression="zstd")


def read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InvalidInput(f"{directory}: no {MANIFEST}; not a readings archive") from None
    except ValueError as exc:
        raise InvalidInput(f"{path}: not valid JSON ({exc})") from None
    if data.get("format") != FORMAT_VERSION:
        raise InvalidInput(f"{path}: archive format {data.get('format')!r} is not supported")
    return Manifest(
        max_seq=int(data["max_seq"]), readings=int(data["readings"]),
        months=list(data["months"]), parent_resolution=int(data["parent_resolution"]),
    )  # fmt: skip


def archive_parents(directory: Path, month: str) -> list[int]:
    """The coarse H3 parents that hold readings of ``month`` (reads one column)."""
    found = pl.scan_parquet(directory / f"month={month}" / "*.parquet").select(
        pl.col("h3_parent").unique()
    )
    return sorted(int(p) for p in found.collect()["h3_parent"])


def archive_readings(
    directory: Path, month: str, parent: int, *, up_to: int | None = None
) -> pl.DataFrame:
    """The archived readings of one month and coarse parent, as ``READING_SCHEMA``."""
    scan = pl.scan_parquet(directory / f"month={month}" / "*.parquet").filter(
        pl.col("h3_parent") == parent
    )
    if up_to is not None:
        scan = scan.filter(pl.col("seq") <= up_to)
    frame = scan.collect()
    codes = {code: i for i, code in enumerate(RADIO_CODES)}
    readings = frame.select(
        "h3_cell",
        "mcc",
        "mnc",
        pl.col("radio").replace_strict(codes, return_dtype=pl.UInt8),
        pl.col("observed_at").dt.replace_time_zone(None),
        "signal_dbm",
        "no_service",
        "level",
        "calls_fail",
        "accuracy_m",
    ).with_columns(device_halves(frame["device_hash"]))
    return readings.cast(READING_SCHEMA)  # type: ignore[arg-type]
