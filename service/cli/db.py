"""`deadzone db`: the database schema."""

from __future__ import annotations

from service.cli.context import DatabaseOpt, console, load_settings, open_engine


def db_upgrade(database_url: DatabaseOpt = None) -> None:
    """Create the database or upgrade it to the newest schema (PostGIS extension included)."""
    from service.store.schema import current_revision

    settings = load_settings(database_url)
    with open_engine(settings, migrate=True) as engine:
        console.print(
            f"database [bold]{engine.url.render_as_string(hide_password=True)}[/] "
            f"is at revision [bold]{current_revision(engine)}[/]"
        )
