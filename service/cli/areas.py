"""Areas and progress: `import-areas`, `import-population`, `snapshot`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from domain.localtime import vietnam_date
from service.cli.context import DatabaseOpt, console, fail, load_settings, open_sessions


def import_areas_command(
    path: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage or Shapefile.")],
    kind: Annotated[
        str,
        typer.Option(
            help="commune (polygons: code, name), village (points, cluster polygons or "
            "cluster multipoints with lon/lat of the centre: code, name, commune, "
            "population, facilities), cluster (residential clusters of imported villages, "
            "points or polygons with a village column) or auto (points: villages, or "
            "clusters with a village column and no code; polygons: communes, unless a "
            "commune column names their commune)."
        ),
    ] = "auto",
    layer: Annotated[
        str | None, typer.Option(help="Layer of a GeoPackage (default: the first).")
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Import communes or villages (upsert by code) or villages' residential clusters, then
    recompute the people per cell. Invalid polygons are repaired or refused, each refused
    feature named; other CRSs are reprojected to WGS84. Exit 2 when the file cannot be used
    at all, 1 when every feature was refused."""

    from service.areas.boundaries import KINDS, attach_clusters, read_areas, upsert_areas
    from service.areas.population import rebuild_population
    from service.errors import InvalidInput
    from service.store.database import session_scope
    from service.timestamps import utcnow

    if kind not in KINDS:
        fail(f"--kind must be {', '.join(KINDS[:-1])} or {KINDS[-1]}, got {kind!r}")
    settings = load_settings(database_url)
    try:
        found = read_areas(path, kind=kind, layer=layer, resolution=settings.h3_resolution)
    except InvalidInput as exc:
        fail(f"{exc.message}; nothing stored")
    with open_sessions(settings, migrate=True) as sessions, session_scope(sessions) as session:
        if found.kind == "cluster":
            inserted, updated = 0, attach_clusters(session, found)
        else:
            inserted, updated = upsert_areas(session, found, now=utcnow())
        totals = rebuild_population(session, settings)
    if found.reprojected_from:
        console.print(f"reprojected from {escape(found.reprojected_from)} to EPSG:4326")
    for note in found.repaired:
        console.print(f"[yellow]repaired[/] {escape(note)}")
    for refused in found.rejected:
        console.print(f"[red]refused[/] {escape(refused.feature)}: {escape(refused.reason)}")
    what = "villages' clusters" if found.kind == "cluster" else f"{found.kind}s"
    console.print(
        f"{path}: {what} added {inserted:,}, updated {updated:,}, repaired "
        f"{len(found.repaired):,}, refused {len(found.rejected):,}; people on the grid "
        f"{totals['grid_people']:,.0f}",
        markup=False, highlight=False,
    )  # fmt: skip
    if found.rejected and not found.rows:
        raise typer.Exit(1)


def import_population_command(
    path: Annotated[Path, typer.Argument(help="GeoTIFF of people per pixel (WorldPop style).")],
    database_url: DatabaseOpt = None,
) -> None:
    """Replace the people per cell with a population raster (needs rasterio). Village
    statuses keep using the villages' cells."""
    from service.areas.population import import_population_raster
    from service.errors import InvalidInput
    from service.store.database import session_scope

    settings = load_settings(database_url)
    try:
        with (
            open_sessions(settings, migrate=True) as sessions,
            session_scope(sessions) as session,
        ):
            people = import_population_raster(session, settings, path)
    except InvalidInput as exc:
        fail(f"{exc.message}; nothing stored")
    console.print(f"{path}: {people:,.0f} people on the grid", markup=False, highlight=False)


def snapshot(database_url: DatabaseOpt = None) -> None:
    """Store today's progress (province and every commune): people covered, villages per
    status, open dead zones, in the goal's scope (DEADZONE_GOAL_RADIO, default broadband).
    Running it again the same day replaces the day's rows."""
    from service.areas.progress import PROVINCE, measure_progress, take_snapshot
    from service.store.database import session_scope
    from service.timestamps import utcnow

    settings = load_settings(database_url)
    now = utcnow()
    with open_sessions(settings, migrate=True) as sessions, session_scope(sessions) as session:
        areas = take_snapshot(session, settings, now=now)
        radio = settings.goal_radio
        province = measure_progress(session, settings, now=now, radio=radio)[PROVINCE]
    share = "n/a" if province.covered_share is None else f"{province.covered_share:.1%}"
    console.print(
        f"snapshot of {vietnam_date(now).isoformat()}: {areas} areas; province covered "
        f"({radio}) {share} of "
        f"{province.population:,.0f} people, villages trang song {province.villages_trang_song}, "
        f"lom song {province.villages_lom_song}, unknown {province.villages_unknown}",
        markup=False, highlight=False,
    )  # fmt: skip
