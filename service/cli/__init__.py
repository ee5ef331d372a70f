"""The ``deadzone`` command line: one module per command group, all on one Typer app.

``main`` is the console script: a domain error (``service.errors``) ends the command with
one line saying what was wrong, and any other failure with one line and a hint; the
traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import sys
from typing import Annotated

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

app = typer.Typer(help="deadzone: mobile-coverage dead-zone mapping.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
db_app.command("upgrade")(db.db_upgrade)
db_app.command("partitions")(db.db_partitions)
# `deadzone export KIND`: one subcommand per kind of file, each in the module of its data.
export_app = typer.Typer(
    help="Write stored data to files: archives, GeoPackages for QGIS, CSV.", no_args_is_help=True
)
app.add_typer(export_app, name="export")
export_app.command("readings")(export.export_readings)
export_app.command("zones")(geodata.export_zones)
export_app.command("cells")(geodata.export_cells)
export_app.command("villages")(geodata.export_villages)
export_app.command("plan")(geodata.export_plan)

app.command("serve")(serve.serve)
app.command("ingest")(files.ingest_file)
app.command("import")(files.import_command)
app.command("import-sites")(files.import_sites_command)
app.command("aggregate")(aggregate.aggregate)
app.command("zones")(aggregate.zones)
app.command("map")(mapping.map_command)
app.command("import-areas")(areas.import_areas_command)
app.command("import-population")(areas.import_population_command)
app.command("snapshot")(areas.snapshot)
app.command("calibrate")(planning.calibrate)
app.command("import-terrain")(planning.import_terrain_command)
app.command("import-constraints")(planning.import_constraints_command)
app.command("plan")(planning.plan_command)
app.command("import-claimed")(claims.import_claimed_command)
app.command("settings")(config.show_settings)
app.command("api-key")(config.api_key_command)
app.command("demo")(demo.demo_command)

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
