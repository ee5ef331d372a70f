"""Commands of the grid engine: `aggregate` and the ranked `zones`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from service.cli.context import (
    FLAG,
    DatabaseOpt,
    StepBars,
    console,
    fail,
    load_settings,
    open_sessions,
    operator_scope,
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
    --full or --rebuild, after the decision settings changed, after an import of areas
    or people, or when the new readings changed more than
    DEADZONE_INCREMENTAL_MAX_CHANGED_SHARE of the decided cells). The estimated field is
    kriged again after a full run, and after an incremental one once it is
    DEADZONE_ESTIMATE_INTERVAL_S old."""
    import gc

    # The process ends with the run, and the imported modules' objects live until then:
    # the cyclic collector's passes over them are wasted, 0.15-0.17 s of CPU while
    # importing the engine and 0.09-0.11 s in an incremental run at 300,000 readings
    # (docs/scale.md, the eleventh pass on PostGIS). Frozen, they are never traversed; the
    # run's own garbage is still collected. Not thawed at the end: the interpreter's last
    # collection would walk them all again (about 0.2 s); a caller that runs the command
    # in its own process and goes on (the tests' CliRunner) thaws it (tests/conftest.py).
    gc.freeze()
    from service.jobs import run_aggregation

    settings = load_settings(database_url)
    gc.freeze()
    scheduler = dask or settings.dask_scheduler
    if archive is not None and scheduler is None:
        fail("--archive needs a Dask scheduler (--dask or DEADZONE_DASK_SCHEDULER)")
    source = None
    if scheduler is not None:  # Dask and polars imported only then (seconds of start-up)
        from service.engine.scaleout import DaskSource

        source = DaskSource(scheduler, archive)
    bars = StepBars()
    with open_sessions(settings, migrate=True) as sessions, bars.bar:
        report = run_aggregation(
            sessions, settings, rebuild_all=rebuild, full=full, on_step=bars, dask=source
        )
    cells = ", ".join(f"r{res}: {n:,}" for res, n in report.cells.items())
    how = "full"
    if report.incremental is not None:
        how = f"incremental, {report.incremental.dirty_cells:,} changed cell keys"
    # The field's share of the run is named apart: after a full run it takes about half of
    # it at province scale, and a batch's incremental run leaves it (benchmarks read this).
    field = report.seconds.get("estimate")
    kriged = "" if field is None else f"; estimated field refreshed in {field:.1f} s"
    console.print(
        f"{'rebuilt' if report.rebuilt else 'merged'} {report.merged_readings:,} readings; "
        f"decisions {how}; cells {cells}; {report.zones} dead zones{kriged}",
        soft_wrap=True,  # one line, however narrow the terminal: scripts read it
    )


def zones(
    operator: Annotated[
        str, typer.Option(help="MCC-MNC (e.g. 452-04) or 'any'.", callback=operator_scope)
    ] = "any",
    radio: Annotated[
        Literal["any", "broadband"],
        typer.Option(help="Zones without any signal (any), or without LTE or NR (broadband)."),
    ] = "any",
    limit: Annotated[int, typer.Option(help="How many zones to list.")] = 20,
    database_url: DatabaseOpt = None,
) -> None:
    """List dead zones, highest priority first: people and villages affected, size,
    distance to the nearest signal, newest evidence. Fits an 80-column terminal (village
    names are cut with an ellipsis first)."""
    from rich.table import Table

    from service.publish.cells import list_zones, village_names
    from service.store.database import session_scope

    settings = load_settings(database_url)
    with (
        open_sessions(settings, migrate=False) as sessions,
        session_scope(sessions, write=False) as session,
    ):
        total, found = list_zones(
            session, operator=operator, min_cells=1, limit=limit, offset=0, radio=radio
        )
        names = village_names(session, found)
    rows = []
    for z in found:
        distance = "-" if z.distance_to_covered_m is None else f"{z.distance_to_covered_m:,.0f} m"
        people = "-" if z.population is None else f"{z.population:,.0f}"
        codes = z.villages or []
        villages = f"{len(codes)}: " + ", ".join(names.get(c, c) for c in codes) if codes else "-"
        rows.append([str(z.rank), z.id, people, villages, str(z.cell_count), distance,
                     z.last_seen.date().isoformat()])  # fmt: skip
    header = ["#", "zone", "people", "villages", "cells", "to signal", "last seen"]
    # No borders, one space between columns; every column as wide as its widest value
    # except the village names, which get what is left of the terminal (at least 8
    # characters, cut with an ellipsis): 80 columns hold the rest in full.
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fixed = sum(w for i, w in enumerate(widths) if i != 3) + len(header) - 1
    widths[3] = max(8, min(widths[3], console.width - fixed))
    scope = operator if radio == "any" else f"{operator}, {radio}"
    table = Table(
        title=f"Dead zones ({scope}): {total} in all", box=None, header_style="bold underline",
        padding=(0, 1, 0, 0), pad_edge=False, show_edge=False,
    )  # fmt: skip
    for i, name in enumerate(header):
        table.add_column(
            name, justify="left" if i in (1, 3, 6) else "right", no_wrap=True,
            overflow="ellipsis", width=widths[i],
        )  # fmt: skip
    for row in rows:
        table.add_row(*row)
    console.print(table)
