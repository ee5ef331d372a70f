"""The ``deadzone`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from service.settings import Settings

app = typer.Typer(help="deadzone: mobile-coverage dead-zone mapping.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="Override DEADZONE_DATABASE_URL for this command."),
]


def load_settings(database_url: str | None = None) -> Settings:
    """Settings from the environment, with command-line overrides."""
    overrides = {"database_url": database_url} if database_url else {}
    return Settings(**overrides)  # type: ignore[arg-type]


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOpt = None) -> None:
    """Create the database or upgrade it to the newest schema (PostGIS extension included)."""
    from service.database import make_engine
    from service.schema import current_revision, upgrade_database

    settings = load_settings(database_url)
    engine = make_engine(settings)
    upgrade_database(engine)
    console.print(
        f"database [bold]{engine.url.render_as_string(hide_password=True)}[/] "
        f"is at revision [bold]{current_revision(engine)}[/]"
    )
    engine.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    database_url: DatabaseOpt = None,
) -> None:
    """Run the HTTP API (uvicorn). Upgrades the schema first."""
    import uvicorn

    from service.app import create_app
    from service.database import make_engine
    from service.errors import ConfigurationError
    from service.schema import upgrade_database

    settings = load_settings(database_url)
    try:
        settings.enforce_safe_for_serving()
    except ConfigurationError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from None
    engine = make_engine(settings)
    upgrade_database(engine)
    engine.dispose()
    if workers > 1:
        console.print("[yellow]--workers > 1 needs an import string; running one worker[/]")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command("ingest")
def ingest_file(
    path: Annotated[Path, typer.Argument(help='JSON file {"readings": [...]} or a JSON array.')],
    database_url: DatabaseOpt = None,
) -> None:
    """Store canonical readings from a JSON file through the same ingest as the API."""
    import orjson

    from service.database import make_engine, make_sessionmaker, session_scope
    from service.ingest import Ingestor
    from service.schema import upgrade_database

    settings = load_settings(database_url)
    try:
        payload = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        console.print(f"[red]cannot read {path}: {exc}[/]")
        raise typer.Exit(2) from None
    items = payload.get("readings") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        console.print(f'[red]{path}: expected {{"readings": [...]}} or a JSON array[/]')
        raise typer.Exit(2)
    engine = make_engine(settings)
    upgrade_database(engine)
    ingestor = Ingestor.from_settings(settings)
    with session_scope(make_sessionmaker(engine)) as session:
        result = ingestor.ingest(session, items, default_source="file")
    engine.dispose()
    console.print(
        f"accepted {result.accepted}, duplicates {result.duplicates}, "
        f"rejected {result.rejected_readings}"
    )
    for rej in result.rejected[:20]:
        console.print(f"  reading {rej.index}: {rej.field}: {rej.reason}")
    if len(result.rejected) > 20:
        console.print(f"  ... and {len(result.rejected) - 20} more problems")


@app.command()
def aggregate(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Recompute all statistics from the raw readings.")
    ] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Merge new readings into the cell statistics, then recompute roll-ups, decisions
    and dead zones."""
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from service.aggregation import run_aggregation
    from service.database import make_engine, make_sessionmaker
    from service.schema import upgrade_database

    settings = load_settings(database_url)
    engine = make_engine(settings)
    upgrade_database(engine)
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:12}"), BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"), TimeElapsedColumn(), console=console,
    ) as bar:  # fmt: skip

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=max(total, 1))
            bar.update(tasks[step], completed=done, total=max(total, 1))

        report = run_aggregation(
            make_sessionmaker(engine), settings, rebuild_all=rebuild, progress=progress
        )
    engine.dispose()
    cells = ", ".join(f"r{res}: {n:,}" for res, n in report.cells.items())
    console.print(
        f"{'rebuilt' if report.rebuilt else 'merged'} {report.merged_readings:,} readings; "
        f"cells {cells}; {report.zones} dead zones"
    )


@app.command()
def zones(
    operator: Annotated[str, typer.Option(help="MCC-MNC (e.g. 452-04) or 'any'.")] = "any",
    limit: Annotated[int, typer.Option(help="How many zones to list.")] = 20,
    database_url: DatabaseOpt = None,
) -> None:
    """List dead zones, highest priority first."""
    from rich.table import Table

    from service.coverage import list_zones
    from service.database import make_engine, make_sessionmaker, session_scope

    settings = load_settings(database_url)
    engine = make_engine(settings)
    with session_scope(make_sessionmaker(engine), write=False) as session:
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
    engine.dispose()
    console.print(table)


@app.command("settings")
def show_settings() -> None:
    """Every option: its environment variable, current value and meaning."""
    from rich.table import Table

    settings = load_settings()
    table = Table(title="deadzone settings (environment variables)")
    for name in ("variable", "value", "meaning"):
        table.add_column(name, overflow="fold")
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        shown = "********" if "secret" in name else str(value)
        table.add_row(f"DEADZONE_{name.upper()}", shown, field.description or "")
    console.print(table)


if __name__ == "__main__":
    app()
