"""The statistics rebuild spread over a Dask cluster, partition by partition.

A partition is one calendar month of readings inside one coarse H3 parent cell
(``Settings.dask_partition_resolution``, resolution 4 by default: about 1,770 km², so
Dak Lak is some fifteen parents and Vietnam some two hundred). Statistics are keyed by
working cell and month, so every key lives in exactly one partition: the partials of the
partitions are disjoint, and merging them (``columnar.merge_partials``, the same sums,
min, max, OR and union as ``cell_stats`` itself) gives exactly the statistics of one
machine. A worker reads its partition either from the database (on PostgreSQL the month
condition prunes to one partition of ``readings``; SQLite works too when the workers
share the file) or from a GeoParquet archive (``service.engine.archive``), computes the
partial with polars and sends back only the statistics, never the readings.

The client (``deadzone aggregate --dask tcp://HOST:8786``) merges the partials as they
come and writes them back in its own transaction, then carries on with roll-ups,
decisions and zones on its own machine: those work on statistics, which are small.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from service.engine import archive
from service.engine.columnar import (
    Accumulator,
    Partial,
    Progress,
    no_progress,
    partial_of,
    reading_chunks,
    rounding_of,
)
from service.settings import Settings
from service.store.sqlexpr import h3_parent_masks

Partition = tuple[str, int]
"""(month 'YYYY-MM', coarse H3 parent cell)."""


@dataclass(frozen=True)
class DaskSource:
    """Where a rebuild on Dask runs (``tcp://HOST:8786``) and what it reads: the
    database, or the GeoParquet archive at ``archive`` when given."""

    scheduler: str
    archive: Path | None = None


def database_partitions(conn: Connection, *, up_to: int, resolution: int) -> list[Partition]:
    """The (month, parent) pairs that hold readings with ``seq <= up_to``: one pass over
    two columns, much cheaper than the statistics themselves."""
    keep, set_ = h3_parent_masks(resolution)
    month = (
        "to_char(observed_at AT TIME ZONE 'UTC', 'YYYY-MM')"
        if conn.dialect.name == "postgresql"
        else "substr(observed_at, 1, 7)"
    )
    rows = conn.exec_driver_sql(
        f"SELECT DISTINCT {month}, (h3_cell & {keep}) | {set_} FROM readings"
        f" WHERE seq <= {int(up_to)}"
    )
    return sorted((str(m), int(p)) for m, p in rows)


def _partition_where(dialect: str, partition: Partition, resolution: int, up_to: int) -> str:
    month, parent = partition
    start = date.fromisoformat(f"{month}-01")
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    keep, set_ = h3_parent_masks(resolution)
    if dialect == "postgresql":  # explicit UTC: the session's zone must not shift months
        bounds = f"observed_at >= '{start} 00:00:00+00' AND observed_at < '{end} 00:00:00+00'"
    else:  # naive UTC text, compared as text
        bounds = f"observed_at >= '{start} 00:00:00' AND observed_at < '{end} 00:00:00'"
    return f"{bounds} AND ((h3_cell & {keep}) | {set_}) = {parent} AND seq <= {int(up_to)}"


def partition_from_database(
    database_url: str, partition: Partition, settings: Settings, *, up_to: int, rounding: str
) -> Partial:
    """Worker task: the partial of one partition, read from the database."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            where = _partition_where(
                conn.dialect.name, partition, settings.dask_partition_resolution, up_to
            )
            acc = Accumulator()
            for chunk in reading_chunks(conn, where=where):
                acc.add(partial_of(chunk, settings, rounding=rounding))
            return acc.result()
    finally:
        engine.dispose()


def partition_from_archive(
    directory: str, partition: Partition, settings: Settings, *, up_to: int, rounding: str
) -> Partial:
    """Worker task: the partial of one partition, read from a GeoParquet archive."""
    month, parent = partition
    readings = archive.archive_readings(Path(directory), month, parent, up_to=up_to)
    return partial_of(readings, settings, rounding=rounding)


def statistics_on_dask(
    conn: Connection,
    settings: Settings,
    *,
    scheduler: str,
    up_to: int,
    archive_dir: Path | None = None,
    progress: Progress = no_progress,
) -> Partial:
    """The statistics of the readings (from the database up to ``up_to``, or from the
    archive), computed partition by partition on the Dask cluster at ``scheduler``."""
    from distributed import Client, as_completed

    rounding = rounding_of(conn)  # the target database's ROUND, see columnar
    task: Callable[..., Partial]
    if archive_dir is not None:
        manifest = archive.read_manifest(archive_dir)
        if manifest.parent_resolution != settings.dask_partition_resolution:
            settings = settings.model_copy(
                update={"dask_partition_resolution": manifest.parent_resolution}
            )
        partitions = [
            (month, parent)
            for month in manifest.months
            for parent in archive.archive_parents(archive_dir, month)
        ]
        source: Any = str(archive_dir)
        task = partition_from_archive
    else:
        partitions = database_partitions(
            conn, up_to=up_to, resolution=settings.dask_partition_resolution
        )
        source = conn.engine.url.render_as_string(hide_password=False)
        task = partition_from_database
    progress("partitions", 0, len(partitions))
    accumulator = Accumulator()
    with Client(scheduler, timeout="30s") as client:
        futures = [
            client.submit(task, source, p, settings, up_to=up_to, rounding=rounding, pure=False)
            for p in partitions
        ]
        for done, future in enumerate(as_completed(futures), start=1):
            accumulator.add(future.result())
            future.release()
            progress("partitions", done, len(partitions))
    return accumulator.result()
