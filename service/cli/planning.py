"""Planning: `calibrate` (the model fitted on measurements around known sites) and
`import-terrain` (the elevation model plans compute diffraction over)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.context import DatabaseOpt, console, fail, load_settings, open_sessions


def calibrate(database_url: DatabaseOpt = None) -> None:
    """Fit the planning model (rural Hata/COST-231) on the mean LTE power measured around
    the known sites (`deadzone import-sites`), per operator and band, and store the fit that
    /v1/plan then uses and reports (offset and RMSE in dB, cells). Run it after `aggregate`."""
    from service.areas.calibration import MIN_FIT_CELLS, fit_model
    from service.store.database import session_scope
    from service.timestamps import utcnow

    settings = load_settings(database_url)
    with open_sessions(settings, migrate=True) as sessions, session_scope(sessions) as session:
        fits = fit_model(session, settings, now=utcnow())
    if not fits:
        console.print(
            f"no fit: needs known LTE sites (deadzone import-sites) and at least "
            f"{MIN_FIT_CELLS} cells with measured LTE power (deadzone aggregate)",
            markup=False, highlight=False,
        )  # fmt: skip
        return
    console.print(f"{'operator':<9}{'band MHz':>9}{'offset dB':>11}{'RMSE dB':>9}"
                  f"{'cells':>8}{'sites':>7}", markup=False, highlight=False)  # fmt: skip
    for fit in fits:
        band = "all" if fit.band_mhz == 0 else str(fit.band_mhz)
        console.print(
            f"{fit.operator:<9}{band:>9}{fit.offset_db:>11.1f}{fit.rmse_db:>9.1f}"
            f"{fit.cells:>8,}{fit.sites:>7,}",
            markup=False, highlight=False,
        )  # fmt: skip


def import_terrain_command(
    path: Annotated[Path, typer.Argument(help="GeoTIFF of heights (SRTM, Copernicus GLO-30).")],
    database_url: DatabaseOpt = None,
) -> None:
    """Import an elevation model: reprojected to WGS84 and clipped to the communes (plus
    0.3 degrees), kept at DEADZONE_TERRAIN_PATH. Site plans then add the diffraction of the
    relief between each candidate and each target (ITU-R P.526 Deygout) to Hata."""
    from service.areas.terrain import import_terrain
    from service.errors import InvalidInput
    from service.store.database import session_scope

    settings = load_settings(database_url)
    try:
        with (
            open_sessions(settings, migrate=True) as sessions,
            session_scope(sessions, write=False) as session,
        ):
            info = import_terrain(session, settings, path)
    except InvalidInput as exc:
        fail(f"{exc.message}; nothing imported")
    console.print(
        f"{path}: {info['width']} x {info['height']} pixels, heights {info['min_m']:,.0f} to "
        f"{info['max_m']:,.0f} m, written to {info['path']}",
        markup=False, highlight=False,
    )  # fmt: skip


def import_constraints_command(
    path: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage or Shapefile.")],
    kind: Annotated[
        str,
        typer.Option(
            help="power (the power network: lines, or points such as substations) or road (lines)."
        ),
    ],
    layer: Annotated[
        str | None, typer.Option(help="Layer of a GeoPackage (default: the first).")
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Import where sites can stand: the power network or the roads, kept as the distance
    from every cell to the nearest feature (up to DEADZONE_CONSTRAINT_MAX_DISTANCE_M).
    Other CRSs are reprojected to WGS84; importing a kind again replaces it. Plans then
    take power=true / road=true (/v1/plan, /plan, deadzone export plan --power --road)."""
    from service.areas.constraints import KINDS, import_layer
    from service.errors import InvalidInput
    from service.store.database import session_scope
    from service.timestamps import utcnow

    if kind not in KINDS:
        fail(f"--kind must be power or road, got {kind!r}")
    settings = load_settings(database_url)
    try:
        with open_sessions(settings, migrate=True) as sessions, session_scope(sessions) as session:
            found = import_layer(session, settings, path, kind=kind, layer=layer, now=utcnow())
    except InvalidInput as exc:
        fail(f"{exc.message}; nothing imported")
    if found.reprojected_from:
        console.print(f"reprojected from {found.reprojected_from} to EPSG:4326",
                      markup=False, highlight=False)  # fmt: skip
    console.print(
        f"{path}: {kind} layer, {found.features:,} feature(s) ({found.skipped:,} empty "
        f"skipped); {found.cells:,} cells within {found.max_distance_m:,.0f} m",
        markup=False, highlight=False,
    )  # fmt: skip
