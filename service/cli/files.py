"""Commands that bring files in: `ingest`, `import`, `import-sites`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from service.cli.context import (
    FLAG,
    DatabaseOpt,
    ReportOpt,
    byte_progress,
    console,
    fail,
    load_settings,
    open_sessions,
)

if TYPE_CHECKING:
    from service.ingest.files import ImportReport


def ingest_file(
    path: Annotated[Path, typer.Argument(help='JSON file {"readings": [...]} or a JSON array.')],
    database_url: DatabaseOpt = None,
) -> None:
    """Store canonical readings from a JSON file through the same ingest as the API."""
    import orjson

    from service.ingest.readings import Ingestor
    from service.store.database import session_scope

    settings = load_settings(database_url)
    try:
        payload = orjson.loads(path.read_bytes())
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    except orjson.JSONDecodeError as exc:
        fail(
            f"{path.name} is not JSON ({exc}): `deadzone ingest` reads canonical readings as "
            f'{{"readings": [...]}}; for CSV and other exports use `deadzone import {path}`'
        )
    items = payload.get("readings") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        fail(f'{path}: expected {{"readings": [...]}} or a JSON array')
    ingestor = Ingestor.from_settings(settings)
    with open_sessions(settings, migrate=True) as sessions, session_scope(sessions) as session:
        result = ingestor.ingest(session, items, default_source="file")
    console.print(
        f"accepted {result.accepted}, duplicates {result.duplicates}, "
        f"rejected {result.rejected_readings}"
    )
    for rej in result.rejected[:20]:
        console.print(f"  reading {rej.index}: {escape(rej.field)}: {escape(rej.reason)}")
    if len(result.rejected) > 20:
        console.print(f"  ... and {len(result.rejected) - 20} more problems")


def import_command(
    path: Annotated[Path, typer.Argument(help="Export to import (.gz compressed is fine).")],
    format_name: Annotated[
        str,
        typer.Option(
            "--format",
            help="auto (sniff it), towercollector, opencellid, geosubmit, canonical-csv, "
            "geojson or cellexport (sites).",
        ),
    ] = "auto",
    device: Annotated[
        str | None,
        typer.Option(
            help="Device token for rows without one (required for OpenCelliD and geosubmit "
            "files). One stable token per phone: decisions count distinct devices."
        ),
    ] = None,
    report: ReportOpt = None,
    all_or_nothing: Annotated[
        bool,
        typer.Option(
            "--all-or-nothing",
            help="One transaction: store nothing if any row is refused.",
            metavar=FLAG,
        ),
    ] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Import readings from a Tower Collector, OpenCelliD, geosubmit, canonical CSV or
    GeoJSON file, 5000 readings per transaction, or the sites of a cell export, exactly as
    POST /v1/imports does; importing the same file again adds nothing. Exit 2 on a
    file-level error (nothing stored), 1 when --all-or-nothing refused the file."""
    from collectors.formats import READING_FORMATS
    from service.ingest.sites import CELL_EXPORT

    known = (*READING_FORMATS, CELL_EXPORT)
    if format_name != "auto" and format_name not in known:
        fail(f"--format must be auto or one of {', '.join(known)}, got {format_name!r}")
    report_path = report or path.with_name(path.name + ".rejected.csv")
    result = import_path(
        path, format_name=None if format_name == "auto" else format_name, device=device,
        report_path=report_path, all_or_nothing=all_or_nothing, database_url=database_url,
    )  # fmt: skip
    if result.kind == "sites":
        console.print(
            f"{path} ({result.format_name}, sites): added {result.accepted:,}, updated "
            f"{result.updated:,}, rejected {result.rejected:,} rows",
            markup=False, highlight=False,
        )  # fmt: skip
    else:
        console.print(
            f"{path} ({result.format_name}): accepted {result.accepted:,}, duplicates "
            f"{result.duplicates:,}, rejected {result.rejected:,} rows",
            markup=False, highlight=False,
        )  # fmt: skip
    console.print(f"report of refused rows: {report_path}", markup=False, highlight=False)
    if not result.stored:
        console.print("[red]--all-or-nothing: nothing stored, fix the rows in the report[/]")
        raise typer.Exit(1)


def import_sites_command(
    path: Annotated[Path, typer.Argument(help="OpenCelliD / MLS cell export (.csv or .csv.gz).")],
    report: ReportOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Import cell sites from an OpenCelliD / MLS cell export
    (radio,mcc,net,area,cell,unit,lon,lat,range,samples,...): new cells are added, cells
    already stored are updated."""
    from service.ingest.sites import CELL_EXPORT

    report_path = report or path.with_name(path.name + ".rejected.csv")
    result = import_path(
        path, format_name=CELL_EXPORT, device=None, report_path=report_path,
        all_or_nothing=False, database_url=database_url,
    )  # fmt: skip
    console.print(
        f"{path}: sites added {result.accepted:,}, updated {result.updated:,}, "
        f"rejected {result.rejected:,} rows",
        markup=False, highlight=False,
    )  # fmt: skip
    console.print(f"report of refused rows: {report_path}", markup=False, highlight=False)


def import_path(
    path: Path,
    *,
    format_name: str | None,
    device: str | None,
    report_path: Path,
    all_or_nothing: bool,
    database_url: str | None,
) -> ImportReport:
    """Open ``path``, tell its kind and store it (``service.ingest.dispatch``, as
    POST /v1/imports does) with a progress bar over its bytes; every refused row goes to
    ``report_path``. Ends the command with one line when the file cannot be used."""
    from collectors.formats import FormatError
    from service.ingest.dispatch import open_import, store_import
    from service.ingest.files import rejected_csv_sink
    from service.ingest.readings import Ingestor

    settings = load_settings(database_url)
    try:
        file = path.open("rb")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    with file, byte_progress(path) as bar:
        task = bar.add_task(path.name, total=path.stat().st_size)
        try:
            opened = open_import(
                file, format_name=format_name, device=device,
                progress=lambda done: bar.update(task, completed=done),
            )  # fmt: skip
        except FormatError as exc:
            fail(f"{path}: {exc}; nothing stored")
        try:
            with (
                open_sessions(settings, migrate=True) as sessions,
                report_path.open("w", encoding="utf-8", newline="") as report_file,
            ):
                return store_import(
                    sessions, Ingestor.from_settings(settings), opened,
                    all_or_nothing=all_or_nothing, sink=rejected_csv_sink(report_file),
                )  # fmt: skip
        except FormatError as exc:
            kept = "nothing stored" if all_or_nothing else "earlier chunks are stored"
            fail(f"{path}: {exc} ({kept}; importing again adds only what is missing)")
