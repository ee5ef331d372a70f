"""`deadzone export readings`: the raw readings as a GeoParquet archive, partitioned by
month, for the Dask workers (``deadzone aggregate --dask ... --archive DIR``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from service.cli.context import DatabaseOpt, StepBars, console, load_settings, open_sessions


class ReadingsFormat(StrEnum):
    PARQUET = "parquet"


def export_readings(
    directory: Annotated[Path, typer.Argument(help="New folder for the archive.")],
    format_: Annotated[
        ReadingsFormat,
        typer.Option("--format", help="parquet: GeoParquet files, one folder per month."),
    ] = ReadingsFormat.PARQUET,
    database_url: DatabaseOpt = None,
) -> None:
    """Write every stored reading to a GeoParquet archive partitioned by month
    (month=YYYY-MM/part-*.parquet, with a manifest of the newest reading included)."""
    from service.engine.archive import export_readings as export
    from service.engine.statistics import safe_max_seq
    from service.store.database import session_scope

    settings = load_settings(database_url)
    bars = StepBars()
    with open_sessions(settings, migrate=False) as sessions:
        with session_scope(sessions) as session:
            up_to = safe_max_seq(session)
        with session_scope(sessions, write=False) as session, bars.bar:
            manifest = export(
                session.connection(), directory, up_to=up_to,
                parent_resolution=settings.dask_partition_resolution, progress=bars,
            )  # fmt: skip
    console.print(
        f"{directory}: {manifest.readings:,} readings in {len(manifest.months)} months "
        f"(up to seq {manifest.max_seq:,}), {format_.value}",
        markup=False, highlight=False,
    )  # fmt: skip
