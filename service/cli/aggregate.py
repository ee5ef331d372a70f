"""Commands of the grid engine: `aggregate` and the ranked `zones`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.context import (
    FLAG,
    DatabaseOpt,
    StepBars,
    console,
    fail,
    load_settings,
    open_sessions,
)


def aggregate(
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild", help="Recompute all statistics from the raw readings.", metavar=FLAG
        ),
    ] = False,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            help="Rebuild the statistics on this Dask scheduler (tcp://HOST:8786), partition "
            "by partition (month x coarse H3 cell). Default: the DEADZONE_DASK_SCHEDULER "
            "setting; unset, this machine.",
        ),
    ] = None,
    archive: Annotated[
        Path | None,
        typer.Option(
            "--archive",
            help="With --dask: read the readings from this GeoParquet archive (written by "
            "`deadzone export readings`) instead of the database.",
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Recompute every decision and zone, not only where new readings changed "
            "the statistics (the default once a first run exists).",
        ),
    ] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Merge new readings into the cell statistics, then recompute roll-ups, decisions
    and dead zones where the statistics changed (all of them on the first run, with
    --full or --rebuild, or after the decision settings changed)."""
    from service.engine.scaleout import DaskSource
    from service.jobs import run_aggregation

    settings = load_settings(database_url)
    scheduler = dask or settings.dask_scheduler
    if archive is not None and scheduler is None:
        fail("--archive needs a Dask scheduler (--dask or DEADZONE_DASK_SCHEDULER)")
    source = None if scheduler is None else DaskSource(scheduler, archive)
    bars = StepBars()
    with open_sessions(settings, migrate=True) as sessions, bars.bar:
        report = run_aggregation(
            sessions, settings, rebuild_all=rebuild, full=full, on_step=bars, dask=source
        )
    cells = ", ".join(f"r{res}: {n:,}" for res, n in report.cells.items())
    how = "full"
    if report.incremental is not None:
        how = f"incremental, {report.incremental.dirty_cells:,} changed cell keys"
    console.print(
        f"{'rebuilt' if report.rebuilt else 'merged'} {report.merged_readings:,} readings; "
        f"decisions {how}; cells {cells}; {report.zones} dead zones"
    )


def zones(
    operator: Annotated[str, typer.Option(help="MCC-MNC (e.g. 452-04) or 'any'.")] = "any",
    limit: Annotated[int, typer.Option(help="How many zones to list.")] = 20,
    database_url: DatabaseOpt = None,
) -> None:
    """List dead zones, highest priority first."""
    from rich.table import Table

    from service.publish.cells import list_zones
    from service.store.database import session_scope

    settings = load_settings(database_url)
    with (
        open_sessions(settings, migrate=False) as sessions,
        session_scope(sessions, write=False) as session,
    ):
        total, found = list_zones(session, operator=operator, min_cells=1, limit=limit, offset=0)
        table = Table(title=f"Dead zones ({operator}): {total} in all")
        for name in ("rank", "id", "cells", "km²", "readings", "devices", "to signal", "last seen"):
            text_column = name in ("id", "last seen")
            table.add_column(name, justify="left" if text_column else "right", no_wrap=text_column)
        for z in found:
            distance = (
                "-" if z.distance_to_covered_m is None else f"{z.distance_to_covered_m:,.0f} m"
            )
            table.add_row(
                str(z.rank), z.id, str(z.cell_count), f"{z.area_km2:.2f}", str(z.readings),
                str(z.devices), distance, z.last_seen.date().isoformat(),
            )  # fmt: skip
    console.print(table)
