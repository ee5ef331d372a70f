"""The ``deadzone`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from service.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(help="deadzone: mobile-coverage dead-zone mapping.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="Override DEADZONE_DATABASE_URL for this command."),
]
DEFAULT_DEMO_OUT = Path("deadzone-out")  # where `make demo` writes (Makefile, README)
DemoOutOpt = Annotated[
    Path, typer.Option("--out", help="Folder of the demo's database, maps and summary.")
]


def load_settings(database_url: str | None = None) -> Settings:
    """Settings from the environment, with command-line overrides."""
    overrides = {"database_url": database_url} if database_url else {}
    return Settings(**overrides)  # type: ignore[arg-type]


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOpt = None) -> None:
    """Create the database or upgrade it to the newest schema (PostGIS extension included)."""
    from service.store.schema import current_revision

    settings = load_settings(database_url)
    engine = migrated_engine(settings)
    console.print(
        f"database [bold]{engine.url.render_as_string(hide_password=True)}[/] "
        f"is at revision [bold]{current_revision(engine)}[/]"
    )
    engine.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    database_url: DatabaseOpt = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Serve the database of `deadzone demo` in --out.")
    ] = False,
    out: DemoOutOpt = DEFAULT_DEMO_OUT,
) -> None:
    """Run the HTTP API (uvicorn). Upgrades the schema first."""
    import uvicorn

    from service.api.app import create_app
    from service.errors import ConfigurationError

    settings = load_settings(database_url)
    if demo:
        settings = demo_serve_settings(out, database_url)
    try:
        settings.enforce_safe_for_serving()
    except ConfigurationError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from None
    engine = migrated_engine(settings)
    engine.dispose()
    if workers > 1:
        console.print("[yellow]--workers > 1 needs an import string; running one worker[/]")
    if demo:
        base = f"http://{host}:{port}"
        console.print(f"demo pages: {base}/progress  {base}/plan  {base}/report")
        console.print(f"demo maps: {base}/maps/coverage.html  {base}/maps/deadzones.html?sites=5  "
                      f"{base}/maps/progress.html")  # fmt: skip
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command("ingest")
def ingest_file(
    path: Annotated[Path, typer.Argument(help='JSON file {"readings": [...]} or a JSON array.')],
    database_url: DatabaseOpt = None,
) -> None:
    """Store canonical readings from a JSON file through the same ingest as the API."""
    import orjson

    from service.ingest.readings import Ingestor
    from service.store.database import make_sessionmaker, session_scope

    settings = load_settings(database_url)
    try:
        payload = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        console.print(f"[red]cannot read {escape(str(path))}: {escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    items = payload.get("readings") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        console.print(f'[red]{path}: expected {{"readings": [...]}} or a JSON array[/]')
        raise typer.Exit(2)
    engine = migrated_engine(settings)
    ingestor = Ingestor.from_settings(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            result = ingestor.ingest(session, items, default_source="file")
    finally:
        engine.dispose()
    console.print(
        f"accepted {result.accepted}, duplicates {result.duplicates}, "
        f"rejected {result.rejected_readings}"
    )
    for rej in result.rejected[:20]:
        console.print(f"  reading {rej.index}: {escape(rej.field)}: {escape(rej.reason)}")
    if len(result.rejected) > 20:
        console.print(f"  ... and {len(result.rejected) - 20} more problems")


ReportOpt = Annotated[
    Path | None,
    typer.Option(
        "--report",
        help="CSV of every refused row (line,item,field,code,reason); default FILE.rejected.csv "
        "next to the file.",
    ),
]


def _byte_progress(path: Path) -> Any:
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


def migrated_engine(settings: Settings) -> Engine:
    """An engine on the configured database, created or upgraded to the newest schema:
    every command that writes starts this way."""
    from service.store.database import make_engine
    from service.store.schema import upgrade_database

    engine = make_engine(settings)
    upgrade_database(engine)
    return engine


def _fail(message: str) -> NoReturn:

    console.print(f"[red]{escape(message)}[/]")
    raise typer.Exit(2)


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="Export to import (.gz compressed is fine).")],
    format_name: Annotated[
        str,
        typer.Option(
            "--format",
            help="auto (sniff it), towercollector, opencellid, geosubmit, canonical-csv or "
            "geojson.",
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
            "--all-or-nothing", help="One transaction: store nothing if any row is refused."
        ),
    ] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Import readings from a Tower Collector, OpenCelliD, geosubmit, canonical CSV or
    GeoJSON file, 5000 readings per transaction; importing the same file again adds
    nothing. Exit 2 on a file-level error (nothing stored), 1 when --all-or-nothing
    refused the file."""
    from collectors.formats import READING_FORMATS, FormatError, open_readings
    from service.ingest.files import import_readings, rejected_csv_sink
    from service.ingest.readings import Ingestor
    from service.ingest.sites import CELL_EXPORT
    from service.ingest.uploads import peek_format
    from service.store.database import make_sessionmaker

    if format_name != "auto" and format_name not in READING_FORMATS:
        _fail(f"--format must be auto or one of {', '.join(READING_FORMATS)}, got {format_name!r}")
    settings = load_settings(database_url)
    report_path = report or path.with_name(path.name + ".rejected.csv")
    try:
        file = path.open("rb")
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}")
    sniffed = peek_format(file)
    if format_name == "auto" and sniffed == CELL_EXPORT:
        file.close()
        _fail(f"{path} is a cell export (sites, not readings): run `deadzone import-sites {path}`")
    with file, _byte_progress(path) as bar:
        task = bar.add_task(path.name, total=path.stat().st_size)
        try:
            name, stream = open_readings(
                file,
                format_name=None if format_name == "auto" else format_name,
                device=device,
                progress=lambda done: bar.update(task, completed=done),
            )
        except FormatError as exc:
            _fail(f"{path}: {exc}; nothing stored")
        engine = migrated_engine(settings)
        try:
            with report_path.open("w", encoding="utf-8", newline="") as report_file:
                result = import_readings(
                    make_sessionmaker(engine), Ingestor.from_settings(settings), stream,
                    format_name=name, all_or_nothing=all_or_nothing,
                    sink=rejected_csv_sink(report_file),
                )  # fmt: skip
        except FormatError as exc:
            kept = "nothing stored" if all_or_nothing else "earlier chunks are stored"
            _fail(f"{path}: {exc} ({kept}; importing again adds only what is missing)")
        finally:
            engine.dispose()
    console.print(
        f"{path} ({name}): accepted {result.accepted:,}, duplicates {result.duplicates:,}, "
        f"rejected {result.rejected:,} rows",
        markup=False, highlight=False,
    )  # fmt: skip
    console.print(f"report of refused rows: {report_path}", markup=False, highlight=False)
    if not result.stored:
        console.print("[red]--all-or-nothing: nothing stored, fix the rows in the report[/]")
        raise typer.Exit(1)


@app.command("import-sites")
def import_sites_command(
    path: Annotated[Path, typer.Argument(help="OpenCelliD / MLS cell export (.csv or .csv.gz).")],
    report: ReportOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Import cell sites from an OpenCelliD / MLS cell export
    (radio,mcc,net,area,cell,unit,lon,lat,range,samples,...): new cells are added, cells
    already stored are updated."""
    from collectors.formats import FormatError, open_sites
    from service.ingest.files import rejected_csv_sink
    from service.ingest.sites import import_sites
    from service.store.database import make_sessionmaker

    settings = load_settings(database_url)
    report_path = report or path.with_name(path.name + ".rejected.csv")
    try:
        file = path.open("rb")
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}")
    with file, _byte_progress(path) as bar:
        task = bar.add_task(path.name, total=path.stat().st_size)
        try:
            stream = open_sites(file, progress=lambda done: bar.update(task, completed=done))
        except FormatError as exc:
            _fail(f"{path}: {exc}; nothing stored")
        engine = migrated_engine(settings)
        try:
            with report_path.open("w", encoding="utf-8", newline="") as report_file:
                result = import_sites(
                    make_sessionmaker(engine), stream, sink=rejected_csv_sink(report_file)
                )
        except FormatError as exc:
            _fail(f"{path}: {exc} (earlier chunks are stored)")
        finally:
            engine.dispose()
    console.print(
        f"{path}: sites added {result.accepted:,}, updated {result.updated:,}, "
        f"rejected {result.rejected:,} rows",
        markup=False, highlight=False,
    )  # fmt: skip
    console.print(f"report of refused rows: {report_path}", markup=False, highlight=False)


@app.command()
def aggregate(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Recompute all statistics from the raw readings.")
    ] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Merge new readings into the cell statistics, then recompute roll-ups, decisions
    and dead zones."""
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from service.jobs import run_aggregation
    from service.store.database import make_sessionmaker

    settings = load_settings(database_url)
    engine = migrated_engine(settings)
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:12}"), BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"), TimeElapsedColumn(), console=console,
    ) as bar:  # fmt: skip

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=max(total, 1))
            bar.update(tasks[step], completed=done, total=max(total, 1))

        report = run_aggregation(
            make_sessionmaker(engine), settings, rebuild_all=rebuild, on_step=progress
        )
    engine.dispose()
    cells = ", ".join(f"r{res}: {n:,}" for res, n in report.cells.items())
    console.print(
        f"{'rebuilt' if report.rebuilt else 'merged'} {report.merged_readings:,} readings; "
        f"cells {cells}; {report.zones} dead zones"
    )


@app.command()
def zones(
    operator: Annotated[str, typer.Option(help="MCC-MNC (e.g. 452-04) or 'any'.")] = "any",
    limit: Annotated[int, typer.Option(help="How many zones to list.")] = 20,
    database_url: DatabaseOpt = None,
) -> None:
    """List dead zones, highest priority first."""
    from rich.table import Table

    from service.publish.cells import list_zones
    from service.store.database import make_engine, make_sessionmaker, session_scope

    settings = load_settings(database_url)
    engine = make_engine(settings)
    with session_scope(make_sessionmaker(engine), write=False) as session:
        total, found = list_zones(session, operator=operator, min_cells=1, limit=limit, offset=0)
        table = Table(title=f"Dead zones ({operator}): {total} in all")
        for name in ("rank", "id", "cells", "km²", "readings", "devices", "to signal", "last seen"):
            text_column = name in ("id", "last seen")
            table.add_column(name, justify="left" if text_column else "right", no_wrap=text_column)
        for z in found:
            distance = (
                "-" if z.distance_to_covered_m is None else f"{z.distance_to_covered_m:,.0f} m"
            )
            table.add_row(
                str(z.rank), z.id, str(z.cell_count), f"{z.area_km2:.2f}", str(z.readings),
                str(z.devices), distance, z.last_seen.date().isoformat(),
            )  # fmt: skip
    engine.dispose()
    console.print(table)


@app.command("settings")
def show_settings() -> None:
    """Every option: its environment variable, current value and meaning."""
    from rich.table import Table

    settings = load_settings()
    table = Table(title="deadzone settings (environment variables)")
    for name in ("variable", "value", "meaning"):
        table.add_column(name, overflow="fold")
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        shown = "********" if "secret" in name else str(value)
        table.add_row(f"DEADZONE_{name.upper()}", shown, field.description or "")
    console.print(table)


def demo_serve_settings(out: Path, database_url: str | None) -> Settings:
    """Settings to serve the demo's database: development mode (simulated devices only)."""
    from simulation.demo import DEMO_DATABASE, demo_settings

    if database_url is None and not (out / DEMO_DATABASE).exists():
        console.print(f"[red]no demo database in {out}; run `deadzone demo --out {out}` first[/]")
        raise typer.Exit(2)
    # No background aggregation: the demo decided at the scenario's now, and the worker
    # would recompute every decision each minute (minutes for the province) with the wall
    # clock's window. Run `deadzone aggregate --database-url ...` after sending readings.
    return demo_settings(out, database_url=database_url)


class _Bars:
    """Rich progress bars, one per step, fed by ``progress(step, done, total)``."""

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


@app.command("demo")
def demo_command(
    seed: Annotated[int, typer.Option(help="Scenario seed: same seed, same output.")] = 1,
    out: DemoOutOpt = DEFAULT_DEMO_OUT,
    size: Annotated[
        str,
        typer.Option(
            help="small (430 km², 46k readings, under a minute) or province "
            "(170,000 cells, 3 M readings, minutes)."
        ),
    ] = "small",
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Run on this (empty) database instead of OUT/demo.sqlite, which is "
            "recreated on every run.",
        ),
    ] = None,
) -> None:
    """Simulate a province, send its readings through POST /v1/readings, aggregate, and
    write coverage and dead-zone maps and an accuracy summary to OUT."""
    from simulation.demo import SUMMARY_TXT, DemoError, demo_settings, reset_demo_database, run_demo

    if size not in ("small", "province"):
        console.print(f"[red]--size must be small or province, got {size!r}[/]")
        raise typer.Exit(2)
    out.mkdir(parents=True, exist_ok=True)
    if database_url is None:
        reset_demo_database(out)
    settings = demo_settings(out, database_url=database_url)
    bars = _Bars()
    try:
        with bars.bar:
            result = run_demo(
                settings, size="province" if size == "province" else "small", seed=seed,
                out=out, progress=bars,
            )  # fmt: skip
    except DemoError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from None
    console.print(
        (out / SUMMARY_TXT).read_text(encoding="utf-8"),
        markup=False, highlight=False, soft_wrap=True,
    )  # fmt: skip
    for name, path in result.files.items():
        console.print(f"{name:15} {path.resolve()}")
    console.print(f"browse: deadzone serve --demo --out {out}")


MAP_KINDS = ("coverage", "deadzones", "progress")


@app.command("map")
def map_command(
    kind: Annotated[
        str,
        typer.Argument(
            help="coverage, deadzones, progress, or all (default; 'both' is the same): "
            "all are written into --out, progress only when communes were imported."
        ),
    ] = "all",
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="File for one map (coverage, deadzones, progress)."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for all maps.")] = Path("."),
    operator: Annotated[
        str, typer.Option(help="Dead zones of this MCC-MNC (e.g. 452-04), or 'any'.")
    ] = "any",
    sites: Annotated[
        int,
        typer.Option(
            "--sites",
            min=0,
            max=100,
            help="Draw this many suggested new sites (for --operator) with their coverage "
            "circles on the dead-zone map; 0: none.",
        ),
    ] = 0,
    lang: Annotated[str, typer.Option(help="Page language: vi or en.")] = "vi",
    database_url: DatabaseOpt = None,
) -> None:
    """Write the coverage, dead-zone and/or progress map as self-contained HTML (opens
    offline): `deadzone map progress -o progress.html`, or `deadzone map --out DIR` for all."""
    from maps import write_map_html
    from service.publish.mapdata import (
        coverage_page,
        data_date,
        deadzone_page,
        has_communes,
        map_meta,
        progress_page,
    )
    from service.store.database import make_engine, make_sessionmaker, session_scope

    if kind not in (*MAP_KINDS, "all", "both"):
        _fail(f"unknown map {kind!r}: use coverage, deadzones, progress or all")
    if output is not None and kind not in MAP_KINDS:
        _fail("-o names one file: say which map (coverage, deadzones or progress)")
    wanted = set(MAP_KINDS) if kind in ("all", "both") else {kind}
    (output.parent if output is not None else out).mkdir(parents=True, exist_ok=True)
    settings = load_settings(database_url)
    engine = make_engine(settings)
    written = []
    with session_scope(make_sessionmaker(engine), write=False) as session:
        date = data_date(session)
        if "coverage" in wanted:
            coverage = coverage_page(
                session, meta=map_meta("deadzone: coverage", data_date=date, lang=lang)
            )
            written.append(write_map_html(coverage, output or out / "coverage.html"))
        if "deadzones" in wanted:
            zones = deadzone_page(
                session,
                meta=map_meta(f"deadzone: dead zones ({operator})", data_date=date, lang=lang),
                operator=operator,
                sites=sites,
                settings=settings,
            )
            written.append(write_map_html(zones, output or out / "deadzones.html"))
        # Asked for by name, the progress map is written even before any commune import
        # (villages alone still show); in the folder of all maps, only with communes.
        if "progress" in wanted and (kind == "progress" or has_communes(session)):
            progress = progress_page(
                session, settings, meta=map_meta("deadzone: progress", data_date=date, lang=lang)
            )
            written.append(write_map_html(progress, output or out / "progress.html"))
    engine.dispose()
    for path in written:
        console.print(f"wrote {path.resolve()}")


@app.command("import-areas")
def import_areas_command(
    path: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage or Shapefile.")],
    kind: Annotated[
        str,
        typer.Option(
            help="commune (polygons: code, name), village (points or cluster polygons: "
            "code, name, commune, population, facilities) or auto (points: villages; "
            "polygons: communes, unless a commune column names their commune)."
        ),
    ] = "auto",
    layer: Annotated[
        str | None, typer.Option(help="Layer of a GeoPackage (default: the first).")
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Import communes or villages (upsert by code), then recompute the people per cell.
    Invalid polygons are repaired or refused, each refused feature named; other CRSs are
    reprojected to WGS84. Exit 2 when the file cannot be used at all, 1 when every feature
    was refused."""

    from service.areas.boundaries import read_areas, upsert_areas
    from service.areas.population import rebuild_population
    from service.errors import UnprocessableRequest
    from service.store.database import make_sessionmaker, session_scope
    from service.timestamps import utcnow

    if kind not in ("auto", "commune", "village"):
        _fail(f"--kind must be auto, commune or village, got {kind!r}")
    settings = load_settings(database_url)
    try:
        found = read_areas(path, kind=kind, layer=layer, resolution=settings.h3_resolution)
    except UnprocessableRequest as exc:
        _fail(f"{exc.message}; nothing stored")
    engine = migrated_engine(settings)
    with session_scope(make_sessionmaker(engine)) as session:
        inserted, updated = upsert_areas(session, found, now=utcnow())
        totals = rebuild_population(session, settings)
    engine.dispose()
    if found.reprojected_from:
        console.print(f"reprojected from {escape(found.reprojected_from)} to EPSG:4326")
    for note in found.repaired:
        console.print(f"[yellow]repaired[/] {escape(note)}")
    for refused in found.rejected:
        console.print(f"[red]refused[/] {escape(refused.feature)}: {escape(refused.reason)}")
    console.print(
        f"{path}: {found.kind}s added {inserted:,}, updated {updated:,}, repaired "
        f"{len(found.repaired):,}, refused {len(found.rejected):,}; people on the grid "
        f"{totals['grid_people']:,.0f}",
        markup=False, highlight=False,
    )  # fmt: skip
    if found.rejected and not found.rows:
        raise typer.Exit(1)


@app.command("import-population")
def import_population_command(
    path: Annotated[Path, typer.Argument(help="GeoTIFF of people per pixel (WorldPop style).")],
    database_url: DatabaseOpt = None,
) -> None:
    """Replace the people per cell with a population raster (needs rasterio). Village
    statuses keep using the villages' cells."""
    from service.areas.population import import_population_raster
    from service.errors import UnprocessableRequest
    from service.store.database import make_sessionmaker, session_scope

    settings = load_settings(database_url)
    engine = migrated_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            people = import_population_raster(session, settings, path)
    except UnprocessableRequest as exc:
        _fail(f"{exc.message}; nothing stored")
    finally:
        engine.dispose()
    console.print(f"{path}: {people:,.0f} people on the grid", markup=False, highlight=False)


@app.command()
def snapshot(database_url: DatabaseOpt = None) -> None:
    """Store today's progress (province and every commune): people covered, villages per
    status, open dead zones. Running it again the same day (UTC) replaces the day's rows."""
    from service.areas.progress import PROVINCE, measure_progress, take_snapshot
    from service.store.database import make_sessionmaker, session_scope
    from service.timestamps import utcnow

    settings = load_settings(database_url)
    engine = migrated_engine(settings)
    now = utcnow()
    with session_scope(make_sessionmaker(engine)) as session:
        areas = take_snapshot(session, settings, now=now)
        province = measure_progress(session, settings, now=now)[PROVINCE]
    engine.dispose()
    share = "n/a" if province.covered_share is None else f"{province.covered_share:.1%}"
    console.print(
        f"snapshot of {now.date().isoformat()}: {areas} areas; province covered {share} of "
        f"{province.population:,.0f} people, villages trang song {province.villages_trang_song}, "
        f"lom song {province.villages_lom_song}, unknown {province.villages_unknown}",
        markup=False, highlight=False,
    )  # fmt: skip


@app.command("api-key")
def api_key_command(
    name: Annotated[str, typer.Option(help="Who holds the key, e.g. viettel-daklak.")],
    role: Annotated[
        str,
        typer.Option(help="planner (reads the operators given) or authority (reads all)."),
    ],
    operator: Annotated[
        list[str] | None,
        typer.Option(help="MCC-MNC a planner may read, repeatable ('*': all operators)."),
    ] = None,
) -> None:
    """Make an API key for one operator's data. Prints the key once (give it to its holder)
    and the entry to add to DEADZONE_API_KEYS (only its SHA-256 is configured)."""
    import json
    import re

    from pydantic import ValidationError

    from service.api.access import ApiKey, key_digest, new_key

    key = new_key()
    try:
        entry = ApiKey.model_validate(
            {"name": name, "role": role, "operators": operator or [], "sha256": key_digest(key)}
        )
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    if entry.role == "planner" and not entry.operators:
        _fail("a planner key needs at least one --operator (an MCC-MNC such as 452-04, or '*')")
    bad = [op for op in entry.operators if op != "*" and not re.fullmatch(r"\d{3}-\d{2,3}", op)]
    if bad:
        _fail(f"--operator must be an MCC-MNC such as 452-04 or '*', got {', '.join(bad)}")
    console.print(f"key (shown once): {key}", markup=False, highlight=False)
    console.print("add to DEADZONE_API_KEYS (a JSON list):", markup=False, highlight=False)
    console.print(json.dumps(entry.model_dump(), ensure_ascii=False), markup=False,
                  highlight=False, soft_wrap=True)  # fmt: skip


if __name__ == "__main__":
    app()
