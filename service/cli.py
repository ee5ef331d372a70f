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


if __name__ == "__main__":
    app()
