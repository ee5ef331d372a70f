"""The common mistakes of a first hour with deadzone, each turned into one or two lines that
say what is wrong and what to do next: a setting with a wrong value, a malformed database
URL, a database that does not exist or is empty, a port already in use.

Only ``deadzone db upgrade`` creates a database; every other command that finds none says
so, because a typo in a URL would otherwise leave an empty database behind and show "no
data" as if it were the truth.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from service.errors import ConfigurationError

if TYPE_CHECKING:
    from sqlalchemy import URL, Engine

# Where `deadzone demo` keeps its database (simulation.demo.DEMO_DATABASE in the default
# --out), named in hints so that the README's commands can be pointed at it.
DEMO_URL_HINT = "sqlite:///deadzone-out/demo.sqlite"
# PostgreSQL's maintenance database: every server has it, nobody's data belongs in it.
MAINTENANCE_DATABASE = "postgres"


def settings_problem(exc: ValidationError) -> ConfigurationError:
    """One line per wrong setting (at most two), named by its environment variable."""
    lines = []
    for error in exc.errors()[:2]:
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:
            # A rule across settings: its input is every setting given, the device secret
            # among them, so only the message (which names the variables) is shown.
            lines.append(f"settings: {message}")
            continue
        name = str(error["loc"][0])
        # Inside a JSON value (DEADZONE_API_KEYS[0].role): say which entry and field.
        inner = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"][1:])
        given = error.get("input")
        shown = "" if error["type"] == "missing" else f"={given!s}"
        line = f"DEADZONE_{name.upper()}{inner}{shown}: {message}"
        if name == "database_url" and isinstance(given, str):
            line = f"database URL {given!r} (--database-url or DEADZONE_DATABASE_URL): "
            line += "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB" + url_hint(given)
        lines.append(line)
    return ConfigurationError("\n".join(lines))


_UNPARSED_FIELD = re.compile(r'error parsing value for field "(\w+)"')


def unparsed_setting_problem(exc: Exception) -> ConfigurationError | None:
    """A variable whose value pydantic-settings could not even parse as JSON (a list or
    a pair such as DEADZONE_BARS_LTE), named with its value and the form it needs; None
    for any other error."""
    import json
    import os

    from service.settings import Settings

    match = _UNPARSED_FIELD.search(str(exc))
    if match is None or match.group(1) not in Settings.model_fields:
        return None
    name = match.group(1)
    variable = f"DEADZONE_{name.upper()}"
    default = Settings.model_fields[name].default
    if name == "api_keys":
        form = "a JSON list of the entries `deadzone api-key` prints"
    elif isinstance(default, tuple | list):
        form = f"JSON, e.g. {json.dumps(list(default))} (the default)"
    else:
        form = "JSON"
    reason = exc.__cause__ if exc.__cause__ is not None else exc
    return ConfigurationError(
        f"{variable}={os.environ.get(variable, '')}: not valid JSON ({reason}); write it as {form}"
    )


def url_hint(url: str) -> str:
    if url.startswith(("postgres://", "postgresql://")):
        rest = url.split("://", 1)[1]
        return f", here postgresql+psycopg://{rest}"
    if url.startswith("sqlite"):  # a slash or a colon short: three slashes, then the path
        return ", e.g. sqlite:///deadzone.sqlite"
    if "://" not in url:
        return f", here sqlite:///{Path(url).expanduser().absolute()}"
    return ""


def where(url: URL) -> str:
    """The database named for a person: the file, or database@host:port."""
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    return f"{url.database!r} on {url.host or 'localhost'}:{url.port or 5432}"


def check_sqlite_file(url: URL, *, create: bool) -> None:
    """Refuse a SQLite URL whose file does not exist, unless creating."""
    path = url.database
    if create or not path or path == ":memory:" or Path(path).exists():
        return
    raise ConfigurationError(
        f"no database at {path}: create it with `deadzone db upgrade` (same URL), or point "
        f"DEADZONE_DATABASE_URL (or --database-url) at an existing one, e.g. the demo's "
        f"{DEMO_URL_HINT}"
    )


def check_not_maintenance(url: URL, *, allowed: bool) -> None:
    maintenance = url.get_backend_name() == "postgresql" and url.database == MAINTENANCE_DATABASE
    if maintenance and not allowed:
        raise ConfigurationError(
            f"refusing to install deadzone into PostgreSQL's maintenance database "
            f"{MAINTENANCE_DATABASE!r}: name a database of its own (add --create to make "
            f"it), or pass --maintenance-database if you really mean it"
        )


def connection_problem(url: URL, exc: Exception, *, creating_offered: bool) -> ConfigurationError:
    """A failed first connection, in a line or two."""
    text = str(getattr(exc, "orig", None) or exc)
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    if "does not exist" in text and url.get_backend_name() == "postgresql":
        if not may_create_database(url):
            todo = "ask the server's administrator to create it (your role may not)"
        elif creating_offered:
            todo = "add --create to create it (your role may create databases)"
        else:
            todo = "create it with `deadzone db upgrade --create` (same URL)"
        return ConfigurationError(f"PostgreSQL database {where(url)} does not exist: {todo}")
    return ConfigurationError(f"cannot open the database {where(url)}: {first}")


def may_create_database(url: URL) -> bool:
    """Whether the URL's role may run CREATE DATABASE on its server (False if unknown)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(url.set(database=MAINTENANCE_DATABASE), poolclass=_null_pool())
    try:
        with admin.connect() as conn:
            query = "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
            return bool(conn.execute(text(query)).scalar())
    except Exception:  # cannot even reach the maintenance database: do not offer
        return False
    finally:
        admin.dispose()


def create_postgres_database(url: URL) -> None:
    """CREATE DATABASE for the URL's database, from the server's maintenance database."""
    from sqlalchemy import create_engine, text

    admin = create_engine(
        url.set(database=MAINTENANCE_DATABASE), isolation_level="AUTOCOMMIT",
        poolclass=_null_pool(),
    )  # fmt: skip
    name = str(url.database).replace('"', '""')
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        raise connection_problem(url, exc, creating_offered=False) from None
    finally:
        admin.dispose()


def check_has_schema(engine: Engine) -> None:
    """Refuse a database without deadzone's tables (absent or empty): only `db upgrade`
    makes them."""
    from sqlalchemy import inspect

    if not inspect(engine).has_table("alembic_version"):
        raise ConfigurationError(
            f"the database {where(engine.url)} has no deadzone tables: run `deadzone db upgrade` "
            f"with the same URL first"
        )


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool
