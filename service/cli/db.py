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


def db_partitions(
    drop_expired: Annotated[
        bool,
        typer.Option(
            "--drop-expired",
            help="Also drop the months that ended before the retention window (instant).",
        ),
    ] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """PostgreSQL: create the monthly partitions of readings for this month and the next
    three (run it monthly, e.g. from cron); with --drop-expired, drop whole months past
    retention. SQLite keeps one table and has nothing to do."""
    from datetime import timedelta

    from service.store.database import make_sessionmaker, session_scope
    from service.store.partitions import drop_expired_partitions, ensure_partitions
    from service.timestamps import utcnow

    settings = load_settings(database_url)
    with open_engine(settings, migrate=True) as engine:
        if engine.dialect.name != "postgresql":
            console.print("SQLite keeps readings in one table: no partitions to manage")
            return
        today = utcnow().date()
        with session_scope(make_sessionmaker(engine)) as session:
            conn = session.connection()
            created = ensure_partitions(conn, today=today)
            dropped = (
                drop_expired_partitions(
                    conn, before=today - timedelta(days=settings.retention_days)
                )
                if drop_expired
                else []
            )
    console.print(
        f"created {len(created)} partitions ({', '.join(created) or '-'}); "
        f"dropped {len(dropped)} ({', '.join(dropped) or '-'})",
        markup=False, highlight=False,
    )  # fmt: skip
