"""Creating and upgrading the database schema through the Alembic migrations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from geoalchemy2 import alembic_helpers
from sqlalchemy import Engine, text

import migrations
from service.store.partitions import is_partition_name


def include_object_for(dialect_name: str) -> Callable[..., bool]:
    """Alembic's object filter: geoalchemy2's, plus skipping objects built only on another
    database (``ddl_if(dialect=...)``, such as GiST indexes on PostgreSQL)."""

    def include_object(
        obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        ddl_if = getattr(obj, "_ddl_if", None)
        if ddl_if is not None and ddl_if.dialect not in (None, dialect_name):
            return False
        if type_ == "table":
            only_on = obj.info.get("only_on")
            if only_on is not None and only_on != dialect_name:
                return False
            if reflected and is_partition_name(name or ""):
                return False  # monthly partitions of readings: made at run time
        return bool(alembic_helpers.include_object(obj, name, type_, reflected, compare_to))

    return include_object


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at deadzone's migrations, wherever it is installed."""
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # Alembic's config is an .ini parser: '%' must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema (and the PostGIS extension on PostgreSQL)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
