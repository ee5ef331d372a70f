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

console = Console()

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


def load_settings(database_url: str | None = None) -> Settings:
    """Settings from the environment, with command-line overrides."""
    overrides = {"database_url": database_url} if database_url else {}
    return Settings(**overrides)  # type: ignore[arg-type]


@contextmanager
def open_engine(settings: Settings, *, migrate: bool) -> Iterator[Engine]:
    """An engine on the configured database, disposed when the command is done. Commands
    that write pass ``migrate=True``: the database is created or upgraded to the newest
    schema first."""
    from service.store.database import make_engine
    from service.store.schema import upgrade_database

    engine = make_engine(settings)
    try:
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
