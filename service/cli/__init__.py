"""The ``deadzone`` command line: one module per command group, all on one Typer app.

``main`` is the console script: a domain error (``service.errors``) ends the command with
one line saying what was wrong, and any other failure with one line and a hint; the
traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.markup import escape

from service.cli import (
    aggregate,
    areas,
    claims,
    config,
    db,
    demo,
    export,
    files,
    geodata,
    mapping,
    planning,
    serve,
)
from service.cli.context import FLAG, console
from service.errors import DeadzoneError


def summary(command: Callable[..., Any]) -> str:
    """A command's line in ``deadzone --help``: its docstring's first paragraph on one line.
    Typer's command list keeps the docstring's line breaks (its rich mode joins them only
    in the command's own help), which broke each summary into ragged pieces."""
    first = inspect.cleandoc(command.__doc__ or "").split("\n\n")[0]
    return " ".join(first.split())


def register(group: typer.Typer, name: str, command: Callable[..., Any]) -> None:
    group.command(name, short_help=summary(command))(command)


app = typer.Typer(help="deadzone: mobile-coverage dead-zone mapping.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
register(db_app, "upgrade", db.db_upgrade)
register(db_app, "partitions", db.db_partitions)
# `deadzone export KIND`: one subcommand per kind of file, each in the module of its data.
export_app = typer.Typer(
    help="Write stored data to files: archives, GeoPackages for QGIS, CSV.", no_args_is_help=True
)
app.add_typer(export_app, name="export")
register(export_app, "readings", export.export_readings)
register(export_app, "zones", geodata.export_zones)
register(export_app, "cells", geodata.export_cells)
register(export_app, "villages", geodata.export_villages)
register(export_app, "plan", geodata.export_plan)

register(app, "serve", serve.serve)
register(app, "ingest", files.ingest_file)
register(app, "import", files.import_command)
register(app, "import-sites", files.import_sites_command)
register(app, "aggregate", aggregate.aggregate)
register(app, "zones", aggregate.zones)
register(app, "map", mapping.map_command)
register(app, "import-areas", areas.import_areas_command)
register(app, "import-population", areas.import_population_command)
register(app, "snapshot", areas.snapshot)
register(app, "calibrate", planning.calibrate)
register(app, "import-terrain", planning.import_terrain_command)
register(app, "import-constraints", planning.import_constraints_command)
register(app, "plan", planning.plan_command)
register(app, "import-claimed", claims.import_claimed_command)
register(app, "settings", config.show_settings)
register(app, "api-key", config.api_key_command)
register(app, "demo", demo.demo_command)

DEBUG_FLAG = "--debug"


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option(
            DEBUG_FLAG, help="Show the full traceback when a command fails.", metavar=FLAG
        ),
    ] = False,
) -> None:
    """deadzone: mobile-coverage dead-zone mapping."""


def main() -> None:
    """Run the command line; failures end in one line unless ``--debug`` is given."""
    debug = DEBUG_FLAG in sys.argv[1:]
    try:
        app()
    except DeadzoneError as exc:
        if debug:
            raise
        where = f" ({exc.field})" if exc.field else ""
        console.print(f"[red]deadzone: {escape(exc.message)}{escape(where)}[/]", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        sys.exit(130)
    except Exception as exc:  # the last line of defence: never a traceback without --debug
        if debug:
            raise
        console.print(
            f"[red]deadzone: {type(exc).__name__}: {escape(str(exc))}[/]\n"
            f"run again with {DEBUG_FLAG} (deadzone {DEBUG_FLAG} COMMAND ...) for the traceback",
            highlight=False,
        )
        sys.exit(1)


__all__ = ["app", "main"]
