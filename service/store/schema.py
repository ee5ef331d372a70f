"""Creating and upgrading the database schema through the Alembic migrations."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

import migrations
from service.store.partitions import is_partition_name

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only when a schema is created or upgraded: with its migration
# scripts it cost every writing command (``deadzone aggregate`` among them) about a second
# of start-up, to find a database that was nearly always already up to date.
_REVISION = re.compile(r"""^(down_revision|revision)\b[^=]*=\s*['"]?([^'"\s]*)""", re.MULTILINE)


def include_object_for(dialect_name: str) -> Callable[..., bool]:
    """Alembic's object filter: geoalchemy2's, plus skipping objects built only on another
    database (``ddl_if(dialect=...)``, such as GiST indexes on PostgreSQL)."""
    # geoalchemy2's helpers load Alembic (with Mako and Pygments): a third of a second of
    # start-up that a command finding the schema up to date does not need (issue 12).
    from geoalchemy2 import alembic_helpers

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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # Alembic's config is an .ini parser: '%' must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema (and the PostGIS extension on PostgreSQL). A database
    already at the newest revision is left as it is without loading Alembic."""
    if revision == "head" and at_head(engine):
        return
    from alembic import command

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


def script_head() -> str | None:
    """The newest migration's revision, read from the scripts' ``revision`` and
    ``down_revision`` lines (the one no other script names as its parent); None when that
    is not a single revision."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (Path(migrations.__file__).parent / "versions").glob("*.py"):
        for name, value in _REVISION.findall(script.read_text(encoding="utf-8")):
            (revisions if name == "revision" else parents).add(value)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def at_head(engine: Engine) -> bool:
    """Whether the database's schema is at the newest migration (False when it has none)."""
    head = script_head()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no alembic_version table: a new database
        return False
    return list(found) == [head]
