"""`deadzone export zones|cells|villages|plan`: the API's downloads as files, for QGIS.

The same domain functions and the same files as ``/v1/deadzones``, ``/v1/cells``,
``/v1/villages`` and ``/v1/plan`` with ``format=gpkg`` (or csv / geojson), for a planner
who works on the server or from cron, without an HTTP round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

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

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from service.areas.selection import AreaFilter
    from service.settings import Settings

OperatorOpt = Annotated[
    str,
    typer.Option(help="MCC-MNC (e.g. 452-04) or 'any' (best of all).", callback=operator_scope),
]
CommuneOpt = Annotated[str | None, typer.Option(help="Only this commune (its code).")]
VillageOpt = Annotated[str | None, typer.Option(help="Only this village (its code).")]
ZoneRadioOpt = Annotated[
    Literal["any", "broadband"],
    typer.Option(
        help="Zones without any signal (any), or without LTE or NR (broadband: places "
        "reached only on 3G too)."
    ),
]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="File to write (default: the dated name of the download)."),
]


@contextmanager
def _reading(
    database_url: str | None, commune: str | None, village: str | None
) -> Iterator[tuple[Session, Settings, AreaFilter | None]]:
    from service.areas.selection import area_filter
    from service.store.database import session_scope

    settings = load_settings(database_url)
    with (
        open_sessions(settings, migrate=False) as sessions,
        session_scope(sessions, write=False) as session,
    ):
        area = area_filter(
            session, commune=commune, village=village, resolution=settings.h3_resolution
        )
        yield session, settings, area


def _write(body: str | bytes, out: Path | None, default_name: str) -> None:
    path = out or Path(default_name)
    if isinstance(body, str):
        path.write_text(body, encoding="utf-8")
    else:
        path.write_bytes(body)
    console.print(f"wrote {path}", markup=False, highlight=False)


def _file(
    kind: str, fmt: str, features: Callable[[], list[dict[str, Any]]], **other: Callable[[], Any]
) -> str | bytes:
    """The file body of ``fmt``: gpkg from ``features`` (layer ``kind``), else ``other``."""
    import orjson

    from service.publish import geopackage

    if fmt == "gpkg":
        return geopackage.features_to_geopackage(features(), layer=kind)
    if fmt == "geojson":
        return orjson.dumps({"type": "FeatureCollection", "features": features()})
    return str(other[fmt]())


def _name(kind: str, *parts: str | int, suffix: str) -> str:
    from domain.localtime import vietnam_date
    from service.publish.exports import dated_filename
    from service.timestamps import utcnow

    return dated_filename(kind, *parts, day=vietnam_date(utcnow()), suffix=suffix)


def export_zones(
    operator: OperatorOpt = "any",
    radio: ZoneRadioOpt = "any",
    commune: CommuneOpt = None,
    village: VillageOpt = None,
    format: Annotated[
        Literal["gpkg", "geojson", "csv"], typer.Option(help="gpkg (QGIS), geojson or csv.")
    ] = "gpkg",
    out: OutOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Active dead zones of one scope, ranked, with outlines (layer 'deadzones')."""
    from service.publish import cells

    with _reading(database_url, commune, village) as (session, _, area):
        _, zones = cells.list_zones(
            session, operator=operator, min_cells=1, limit=None, offset=0, area=area,
            radio=radio,
        )  # fmt: skip
        names, communes = cells.village_labels(session, cells.village_codes(zones))
        body = _file(
            "deadzones", format,
            lambda: cells.zones_to_geojson(zones, names)["features"],
            csv=lambda: cells.zones_to_csv(zones, names, communes=communes),
        )  # fmt: skip
    scope = (operator,) if radio == "any" else (operator, radio)  # the /v1/deadzones name
    _write(body, out, _name("deadzones", *scope, suffix=format))


def export_cells(
    operator: OperatorOpt = "any",
    radio: Annotated[str, typer.Option(help="gsm, umts, lte, nr or any.")] = "any",
    commune: CommuneOpt = None,
    village: VillageOpt = None,
    format: Annotated[
        Literal["gpkg", "geojson"], typer.Option(help="gpkg (QGIS) or geojson.")
    ] = "gpkg",
    out: OutOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Decided cells (hexagons, working resolution) of one scope, everywhere or in one
    commune or village (layer 'cells')."""
    from service.grid import BBox
    from service.publish.cells import cells_in_bbox

    with _reading(database_url, commune, village) as (session, settings, area):
        everywhere = BBox(-180.0, -90.0, 180.0, 90.0)
        features = cells_in_bbox(
            session, everywhere, operator=operator, radio=radio,
            resolution=settings.h3_resolution, statuses=None, area=area,
        )  # fmt: skip
        body = _file("cells", format, lambda: features)
    _write(body, out, _name("cells", operator, radio, suffix=format))


def export_villages(
    operator: OperatorOpt = "any",
    commune: CommuneOpt = None,
    village: VillageOpt = None,
    status: Annotated[
        list[str] | None, typer.Option(help="Only these statuses (repeat the option).")
    ] = None,
    format: Annotated[Literal["gpkg", "csv"], typer.Option(help="gpkg (QGIS) or csv.")] = "gpkg",
    out: OutOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Villages with their status (trắng sóng, lõm sóng...) as points (layer 'villages')."""
    from service.areas import progress
    from service.publish import geopackage, sheets

    with _reading(database_url, commune, village) as (session, settings, area):
        states = progress.list_villages(
            session, settings, operator=operator, commune=area.commune if area else None,
            status=status,
        )  # fmt: skip
        if area is not None and area.village is not None:
            states = [s for s in states if s.code == area.village]
        names = progress.commune_names(session)
        body = _file(
            "villages", format, lambda: geopackage.village_features(states, names),
            csv=lambda: sheets.localized_csv(
                progress.VILLAGE_CSV_HEADER, progress.village_rows(states, names), lang="en"
            ),
        )  # fmt: skip
    _write(body, out, _name("villages", operator, *(status or ()), suffix=format))


def export_plan(
    operator: OperatorOpt = "any",
    sites: SitesOpt = 5,
    band: BandOpt = None,
    mast_height: MastHeightOpt = None,
    eirp: EirpOpt = None,
    colocate: ColocateOpt = False,
    power: PowerOpt = False,
    power_distance: PowerDistanceOpt = None,
    road: RoadOpt = False,
    road_distance: RoadDistanceOpt = None,
    commune: CommuneOpt = None,
    village: VillageOpt = None,
    format: Annotated[
        Literal["gpkg", "geojson", "csv"], typer.Option(help="gpkg (QGIS), geojson or csv.")
    ] = "gpkg",
    out: OutOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Suggested new sites (layer 'sites'), as /v1/plan; prints why when fewer come back."""
    from domain.radio import PLANNING_BANDS_MHZ
    from service.areas import constraints, planning
    from service.publish import plans

    if band is not None and band not in PLANNING_BANDS_MHZ:
        fail(f"--band must be one of {', '.join(map(str, PLANNING_BANDS_MHZ))}, got {band}")
    with _reading(database_url, commune, village) as (session, settings, area):
        rules = constraints.asked_constraints(
            settings, power=power, power_distance=power_distance, road=road,
            road_distance=road_distance,
        )  # fmt: skip
        plan = planning.plan_sites(
            session, settings, operator=operator, sites=sites, area=area, colocate=colocate,
            design=planning.SiteDesign(band_mhz=band, mast_height_m=mast_height, eirp_dbm=eirp),
            constraints=rules,
        )  # fmt: skip
        body = _file(
            "sites", format, lambda: plans.plan_to_layer(plan),
            csv=lambda: plans.plan_to_csv(plan),
        )  # fmt: skip
    _write(body, out, _name("sites", operator, sites, suffix=format))
    if plan["explanation"]:
        console.print(plan["explanation"], markup=False, highlight=False)
