"""Planning: `calibrate` (the model fitted on measurements around known sites) and
`import-terrain` (the elevation model plans compute diffraction over)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.context import (
    DatabaseOpt,
    console,
    fail,
    load_settings,
    open_sessions,
    operator_scope,
)
from service.cli.plan_options import (
    BandOpt,
    ColocateOpt,
    EirpOpt,
    MastHeightOpt,
    PowerDistanceOpt,
    PowerOpt,
    RoadDistanceOpt,
    RoadOpt,
    SitesOpt,
)


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
                      markup=False, highlight=False, soft_wrap=True)  # fmt: skip
    console.print(
        f"{path}: {kind} layer, {found.features:,} feature(s) ({found.skipped:,} empty "
        f"skipped); {found.cells:,} cells within {found.max_distance_m:,.0f} m",
        markup=False, highlight=False, soft_wrap=True,
    )  # fmt: skip


def plan_command(
    operator: Annotated[
        str, typer.Option(help="MCC-MNC (e.g. 452-04) or 'any'.", callback=operator_scope)
    ] = "any",
    sites: SitesOpt = 5,
    band: BandOpt = None,
    mast_height: MastHeightOpt = None,
    eirp: EirpOpt = None,
    colocate: ColocateOpt = False,
    power: PowerOpt = False,
    power_distance: PowerDistanceOpt = None,
    road: RoadOpt = False,
    road_distance: RoadDistanceOpt = None,
    commune: Annotated[str | None, typer.Option(help="Only this commune's people.")] = None,
    village: Annotated[str | None, typer.Option(help="Only this village's people.")] = None,
    save: Annotated[
        str | None,
        typer.Option(
            help="Keep the plan under this name (replacing one of the same name): the "
            "plan_sites view of PostGIS shows it in QGIS (docs/qgis.md)."
        ),
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Suggest new sites, as /v1/plan, and print them; --save NAME keeps the plan for QGIS."""
    from domain.radio import PLANNING_BANDS_MHZ
    from service.areas import constraints, planning, saved_plans
    from service.areas.selection import area_filter
    from service.store.database import session_scope
    from service.timestamps import utcnow

    if band is not None and band not in PLANNING_BANDS_MHZ:
        fail(f"--band must be one of {', '.join(map(str, PLANNING_BANDS_MHZ))}, got {band}")
    if save is not None and not saved_plans.NAME_PATTERN.match(save):
        fail(f"--save {save[:80]!r}: a plan name is 1-64 letters, digits, '_', '.' or '-', "
             "starting with a letter or digit")  # fmt: skip
    settings = load_settings(database_url)
    with (
        open_sessions(settings, migrate=False) as sessions,
        session_scope(sessions, write=save is not None) as session,
    ):
        area = area_filter(
            session, commune=commune, village=village, resolution=settings.h3_resolution
        )
        rules = constraints.asked_constraints(
            settings, power=power, power_distance=power_distance, road=road,
            road_distance=road_distance,
        )  # fmt: skip
        plan = planning.plan_sites(
            session, settings, operator=operator, sites=sites, area=area, colocate=colocate,
            design=planning.SiteDesign(band_mhz=band, mast_height_m=mast_height, eirp_dbm=eirp),
            constraints=rules,
        )  # fmt: skip
        replaced = False
        if save is not None:
            request = saved_plans.plan_request(
                band=band, mast_height=mast_height, eirp=eirp, colocate=colocate,
                power_m=rules.power_m, road_m=rules.road_m, commune=commune, village=village,
            )  # fmt: skip
            replaced = saved_plans.save_plan(
                session, plan, name=save, sites_asked=sites, request=request, now=utcnow()
            )
    model = plan["model"]
    console.print(
        f"{operator}: {model['name']}, {model['band_mhz']:g} MHz, radius "
        f"{model['radius_km']:.2f} km; {plan['terrain']}",
        markup=False, highlight=False, soft_wrap=True,
    )  # fmt: skip
    console.print(f"{'rank':>4} {'h3':<16}{'people new':>11}{'total':>9}  villages",
                  markup=False, highlight=False)  # fmt: skip
    for site in plan["sites"]:
        names = ", ".join(v["name"] for v in site["villages"][:3])
        more = " ..." if len(site["villages"]) > 3 else ""
        console.print(
            f"{site['rank']:>4} {site['h3']:<16}{site['people_new']:>11,.0f}"
            f"{site['people_cumulative']:>9,.0f}  {names}{more}",
            markup=False, highlight=False, overflow="ellipsis", no_wrap=True,
        )  # fmt: skip
    if plan["explanation"]:
        console.print(plan["explanation"], markup=False, highlight=False, soft_wrap=True)
    if save is not None:
        console.print(
            f"{'replaced' if replaced else 'saved'} plan {save!r} ({len(plan['sites'])} "
            "sites): "
            + ("PostGIS view plan_sites" if settings.is_postgres else "table saved_plan_sites "
               "(on PostGIS the view plan_sites draws it in QGIS)"),
            markup=False, highlight=False, soft_wrap=True,
        )  # fmt: skip
