"""What every command shares: the console, common options, settings, the engine, and how a
command fails (one red line, exit 2)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from service.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker


class _Console(Console):
    """rich fixes the width from COLUMNS once, when the console is made (at import), so a
    COLUMNS set later (CliRunner(env=...), pytest-xdist workers importing first) was
    ignored. Without a fixed width rich reads COLUMNS, else the terminal, each time it lays
    out a line: the same width in a normal run, where COLUMNS does not change."""

    def __init__(self) -> None:
        super().__init__()
        self._width = None
        self._height = None


console = _Console()

# typer 0.29 shows "<bool>" beside a flag as if it took a value; an empty metavar hides it.
FLAG = ""
DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="Override DEADZONE_DATABASE_URL for this command."),
]
DEFAULT_DEMO_OUT = Path("deadzone-out")  # where `make demo` writes (Makefile, README)
DemoOutOpt = Annotated[
    Path, typer.Option("--out", help="Folder of the demo's database, maps and summary.")
]
ReportOpt = Annotated[
    Path | None,
    typer.Option(
        "--report",
        help="CSV of every refused row (line,item,field,code,reason); default FILE.rejected.csv "
        "next to the file.",
    ),
]


def program() -> str:
    """``deadzone`` as the user ran it, for a command printed to be copied: the script's
    path where it is not the ``deadzone`` on PATH (``.venv/bin/deadzone`` after ``make
    install``), so that the line works as typed."""
    import shlex
    import shutil
    import sys

    invoked = sys.argv[0] if sys.argv else ""
    if Path(invoked).name != "deadzone":  # python -m service.cli, a test's runner
        return "deadzone"
    on_path = shutil.which("deadzone")
    if on_path is not None and Path(on_path).resolve() == Path(invoked).resolve():
        return "deadzone"
    return shlex.quote(invoked)


def load_settings(database_url: str | None = None) -> Settings:
    """Settings from the environment, with command-line overrides. A wrong value ends the
    command with one line naming its variable (``problems.settings_problem``)."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from service.cli.problems import settings_problem, unparsed_setting_problem

    overrides = {"database_url": database_url} if database_url else {}
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        fail(settings_problem(exc).message)
    except SettingsError as exc:  # a JSON-valued variable that is not JSON
        problem = unparsed_setting_problem(exc)
        if problem is None:
            raise
        fail(problem.message)


@contextmanager
def open_engine(
    settings: Settings,
    *,
    migrate: bool,
    create: bool = False,
    create_database: bool = False,
    maintenance: bool = False,
) -> Iterator[Engine]:
    """An engine on the configured database, disposed when the command is done.

    The database must exist and hold deadzone's tables; only ``create=True`` (``deadzone db
    upgrade``) makes them, and a SQLite file; ``create_database=True`` (its ``--create``) also
    a missing PostgreSQL database; ``maintenance=True`` allows PostgreSQL's ``postgres``.
    Commands that write pass ``migrate=True``: an older schema is upgraded first. Each
    refusal is one or two lines with what to do (``service.cli.problems``)."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import DatabaseError, OperationalError

    from service.cli import problems
    from service.errors import ConfigurationError
    from service.store.database import make_engine
    from service.store.schema import upgrade_database

    url = make_url(settings.database_url)
    engine = make_engine(settings)
    try:
        try:
            if url.get_backend_name() == "sqlite":
                problems.check_sqlite_file(url, create=create)
            else:
                problems.check_not_maintenance(url, allowed=maintenance or not create)
            try:
                with engine.connect():
                    pass
            except OperationalError as exc:
                if not (create_database and "does not exist" in str(exc)):
                    raise problems.connection_problem(url, exc, creating_offered=create) from None
                problems.create_postgres_database(url)
                console.print(f"created PostgreSQL database {problems.where(url)}")
            except DatabaseError as exc:  # SQLite: a file that is not a database (a typo'd
                # path to a CSV, a GeoPackage...), found when the first statement runs
                raise problems.connection_problem(url, exc, creating_offered=create) from None
            if not create:
                problems.check_has_schema(engine)
        except ConfigurationError as exc:
            fail(exc.message)
        if migrate:
            upgrade_database(engine)
        yield engine
    finally:
        engine.dispose()


@contextmanager
def open_sessions(settings: Settings, *, migrate: bool) -> Iterator[sessionmaker[Session]]:
    """Sessions on the configured database (see ``open_engine``)."""
    from service.store.database import make_sessionmaker

    with open_engine(settings, migrate=migrate) as engine:
        yield make_sessionmaker(engine)


def operator_scope(value: str | None) -> str | None:
    """Typer callback of an ``--operator`` option: 'any' (the best of all) or an MCC-MNC
    such as 452-04. A misspelt one (452-4, viettel) used to answer an empty list, file or
    map, as if that operator had no dead zone; the API refuses it too (422)."""
    from domain.vocabulary import BEST_OF_ALL, is_operator_code

    if value is None or value == BEST_OF_ALL or is_operator_code(value):
        return value
    raise typer.BadParameter(
        f"{value!r} is not an operator: use an MCC-MNC such as 452-04 (Viettel), or 'any' "
        "for the best of all operators"
    )


def fail(message: str) -> NoReturn:
    """End the command with ``message`` in red and exit status 2."""
    console.print(f"[red]{escape(message)}[/]")
    raise typer.Exit(2)


def byte_progress(path: Path) -> Any:
    """A rich progress bar over the bytes of ``path`` (compressed bytes for .gz)."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        TimeRemainingColumn(), console=console, transient=True,
    )  # fmt: skip


class StepBars:
    """Rich progress bars, one per step, fed by ``on_step(step, done, total)``."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("{task.description:12}"), BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"), TimeElapsedColumn(), console=console,
        )  # fmt: skip
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, step: str, done: int, total: int) -> None:
        if step not in self.tasks:
            self.tasks[step] = self.bar.add_task(step, total=max(total, 1))
        self.bar.update(self.tasks[step], completed=done, total=max(total, 1))
