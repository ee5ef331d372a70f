"""`deadzone db`: the database schema."""

from __future__ import annotations

from typing import Annotated

import typer

from service.cli.context import FLAG, DatabaseOpt, console, load_settings, open_engine


def db_upgrade(
    database_url: DatabaseOpt = None,
    create: Annotated[
        bool,
        typer.Option(
            "--create",
            help="Create a missing PostgreSQL database first (the role needs CREATEDB).",
            metavar=FLAG,
        ),
    ] = False,
    maintenance_database: Annotated[
        bool,
        typer.Option(
            "--maintenance-database",
            help="Allow installing into PostgreSQL's 'postgres' maintenance database.",
            metavar=FLAG,
        ),
    ] = False,
) -> None:
    """Create the database or upgrade it to the newest schema (PostGIS extension included).
    The only command that creates one: the others refuse an absent or empty database."""
    from service.store.schema import current_revision

    settings = load_settings(database_url)
    with open_engine(
        settings, migrate=True, create=True, create_database=create,
        maintenance=maintenance_database,
    ) as engine:  # fmt: skip
        console.print(
            f"database [bold]{engine.url.render_as_string(hide_password=True)}[/] "
            f"is at revision [bold]{current_revision(engine)}[/]"
        )
