"""``/v1/villages``, ``/v1/progress`` and ``/v1/plan``: areas, progress and site suggestions."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from domain.localtime import vietnam_date
from domain.propagation import HATA_HB_M
from domain.radio import PLANNING_BANDS_MHZ
from domain.vocabulary import (
    BEST_OF_ALL,
    SCOPE_PATTERN,
    DecisionName,
    VillageStatusName,
)
from service.api.access import ApiKeyDep, request_actor, require_operators
from service.api.dependencies import (
    AreaDep,
    SessionDep,
    SettingsDep,
    SheetLangQuery,
    WriteSessionDep,
)
from service.api.downloads import download
from service.api.plan_query import PlanChoiceDep, check_band
from service.api.routes.coverage import OperatorQuery, ScopeQuery
from service.api.strict import Text
from service.areas import constraints, planning, progress, saved_plans
from service.areas.planning import PlanReason
from service.areas.selection import area_filter
from service.errors import AccessDenied
from service.publish import exports, geopackage, plans, sheets
from service.timestamps import utcnow

router = APIRouter(prefix="/v1", tags=["areas"])

VillageStatus = VillageStatusName


class VillageOut(BaseModel):
    code: str
    name: str = Field(description="As imported: escape it before drawing it in HTML.")
    commune_code: str | None
    commune_name: str | None = Field(
        default=None, description="The commune's name as imported (escape it)."
    )
    population: int | None = Field(description="People, from the imported file.")
    lat: float = Field(description="Centre, WGS84 degrees.")
    lon: float = Field(description="Centre, WGS84 degrees.")
    status: VillageStatus = Field(
        description="trang_song: no signal at the centre cell; lom_song: centre has signal "
        "but a populated village cell is dead; covered; unknown: not enough readings."
    )
    centre_status: DecisionName
    cells: int = Field(description="Village cells (cluster polygon's, or population disk).")
    cells_dead: int
    cells_unknown: int
    people_dead: float = Field(description="People of the village in dead cells.")
    evidence_readings: int = Field(
        default=0,
        description="Readings behind the status: of the centre cell (trang_song, unknown), "
        "and of the dead populated cells (lom_song) or the populated cells with signal "
        "(covered).",
    )
    evidence_devices: int = Field(
        default=0,
        description="Distinct devices behind the best-measured of those cells (a lower bound "
        "of the devices behind the status).",
    )
    evidence_last_seen: datetime | None = Field(
        default=None, description="Newest reading behind the status, UTC."
    )
    confidence: float = Field(
        default=0.0,
        description="Confidence of the status, 0-1: the Wilson 95% lower bound of the weakest "
        "decision it needs (the centre's; for lom_song also the surest dead cell's); 0 for "
        "unknown.",
    )
    likely_status: Literal["trang_song", "covered"] | None = Field(
        default=None,
        description="Estimated, not measured: for a village whose status is unknown, the "
        "status its centre most probably has (service/areas/likely.py); null otherwise.",
    )
    likely_probability: float | None = Field(
        default=None, description="Probability of likely_status, 0.5-1."
    )


class VillageList(BaseModel):
    operator: str
    radio: str = Field(description="The scope the statuses are in: 'any' or 'broadband'.")
    villages: list[VillageOut]


@router.get(
    "/villages",
    response_model=VillageList,
    summary="Villages and their status",
    responses={
        200: {
            "content": {"text/csv": {}, geopackage.MEDIA_TYPE: {}},
            "description": "JSON, or a CSV or GeoPackage file to download.",
        }
    },
)
def get_villages(
    session: SessionDep,
    settings: SettingsDep,
    area: AreaDep,
    operator: OperatorQuery = "any",
    radio: ScopeQuery = "any",
    status: Annotated[
        list[VillageStatus] | None,
        Query(
            description="Only villages of these statuses (repeat: status=trang_song&"
            "status=lom_song)."
        ),
    ] = None,
    format: Annotated[
        Literal["json", "csv", "gpkg"],
        Query(
            description="csv (UTF-8, BOM) or gpkg (GeoPackage, layer 'villages'): a file to "
            "download."
        ),
    ] = "json",
    lang: SheetLangQuery = "en",
    api_key: ApiKeyDep = None,
) -> VillageList | Response:
    require_operators(settings, api_key, [operator])
    states = progress.list_villages(
        session, settings, operator=operator, commune=area.commune if area else None,
        status=status, radio=radio,
    )  # fmt: skip
    if area is not None and area.village is not None:
        states = [s for s in states if s.code == area.village]
    names = progress.commune_names(session)
    if format == "gpkg":
        name = exports.dated_filename(
            "villages",
            operator,
            *([radio] if radio != "any" else []),
            *(status or ()),
            day=vietnam_date(utcnow()),
            suffix=geopackage.SUFFIX,
        )
        layer = geopackage.features_to_geopackage(
            geopackage.village_features(states, names), layer="villages"
        )
        return download(layer, media_type=geopackage.MEDIA_TYPE, filename=name)
    if format == "csv":
        rows = progress.village_rows(states, names)
        name = exports.dated_filename(
            "villages", operator, *([radio] if radio != "any" else []), *(status or ()),
            day=vietnam_date(utcnow()), suffix="csv",
        )  # fmt: skip
        body = sheets.localized_csv(progress.VILLAGE_CSV_HEADER, rows, lang=lang)
        return download(body, media_type=exports.CSV_MEDIA_TYPE, filename=name)
    villages = [
        VillageOut(**asdict(s), commune_name=names.get(s.commune_code or "")) for s in states
    ]
    return VillageList(operator=operator, radio=radio, villages=villages)


class Goal(BaseModel):
    covered_share: float = Field(description="Target share of people covered, 0-1.")
    deadline: str = Field(description="ISO date.")
    radio: Literal["any", "broadband"] = Field(
        description="The scope the goal counts (DEADZONE_GOAL_RADIO): 'broadband' (LTE or NR, "
        "4G or better) or 'any' (any signal)."
    )


class Trend(BaseModel):
    status: Literal["reached", "on_track", "behind", "not_enough_evidence"] = Field(
        description="From changes of coverage in places measured at consecutive snapshots "
        "(a fixed panel), not from newly measured places (service/areas/progress.py)."
    )
    slope_per_day: float | None = Field(
        description="Change of the covered share per day in the panel of measured places."
    )
    slope_se_per_day: float | None = Field(description="Standard error of that rate.")
    level_share: float | None = Field(
        description="Share of people with signal among those with a status, measured or "
        "estimated, at the newest snapshot: where the projection starts."
    )
    projected_share: float | None = Field(description="Projected share at the deadline, 0-1.")
    projected_low: float | None = Field(description="Projection at the rate - 2 se.")
    projected_high: float | None = Field(description="Projection at the rate + 2 se.")
    goal_met_on: str | None = Field(description="ISO date the projection meets the goal.")
    panel_steps: int = Field(description="Consecutive snapshot pairs with a measured panel.")
    panel_people: float | None = Field(description="People in the newest panel.")
    max_unknown_share: float = Field(
        description="Above this share of people neither measured nor estimated the verdict "
        "is not_enough_evidence (setting verdict_max_unknown_share)."
    )
    snapshots_used: int


class SnapshotOut(BaseModel):
    day: str
    population: float
    people_covered: float = Field(description="In covered or weak cells, best operator.")
    people_weak: float
    people_dead: float
    people_estimated_covered: float = Field(
        description="Not measured; estimated covered or weak (not counted as covered)."
    )
    people_estimated_dead: float = Field(description="Not measured; estimated without signal.")
    people_unknown: float = Field(description="Neither measured nor estimated: not covered.")
    covered_share: float | None = Field(description="Measured covered people / population.")
    people_well_covered: float = Field(
        description="In covered cells only (2 bars or more): people_covered less people_weak."
    )
    well_covered_share: float | None = Field(description="people_well_covered / population.")
    villages_trang_song: int
    villages_lom_song: int
    villages_covered: int
    villages_unknown: int
    zones_open: int
    evidence_median_age_days: float | None
    panel_since: str | None = Field(description="Previous snapshot day of the panel.")
    panel_people: float | None = Field(description="People in cells measured at both days.")
    panel_covered_before: float | None = Field(description="Of them covered on panel_since.")
    panel_covered: float | None = Field(description="Of them covered on this day.")


class ProgressSeries(BaseModel):
    area: str
    radio: Literal["any", "broadband"] = Field(
        description="The scope of these snapshots: they are taken in the goal's scope, so "
        "another scope has only the days it was the goal's."
    )
    goal: Goal
    trend: Trend
    series: list[SnapshotOut]


@router.get("/progress", response_model=ProgressSeries, summary="Progress over time")
def get_progress(
    session: SessionDep,
    settings: SettingsDep,
    area: Annotated[str, Query(description="'province' or a commune code.")] = "province",
    start: Annotated[date | None, Query(alias="from", description="First day, ISO.")] = None,
    end: Annotated[date | None, Query(alias="to", description="Last day, ISO.")] = None,
    radio: Annotated[
        Literal["any", "broadband"] | None,
        Query(description="Scope of the snapshots (default: the goal's, DEADZONE_GOAL_RADIO)."),
    ] = None,
) -> ProgressSeries:
    body = progress.progress_series(
        session, settings, area=area, start=start, end=end, today=vietnam_date(utcnow()),
        radio=radio,
    )  # fmt: skip
    return ProgressSeries(**body)


class AreaProgressOut(BaseModel):
    code: str = Field(description="'province' or the commune's code.")
    kind: Literal["province", "commune"]
    name: str | None = Field(description="Commune name as imported (escape it); null for "
                             "the province.")  # fmt: skip
    population: float = Field(description="People in the area's cells.")
    people_covered: float = Field(description="In covered or weak cells, best operator.")
    people_weak: float
    people_dead: float
    people_estimated_covered: float = Field(
        description="Not measured; estimated covered or weak (not counted as covered)."
    )
    people_estimated_dead: float = Field(description="Not measured; estimated without signal.")
    people_unknown: float = Field(description="Neither measured nor estimated: not covered.")
    covered_share: float | None = Field(description="0-1; null when nobody lives there.")
    gap_share: float | None = Field(description="Goal less the covered share, 0 once met.")
    gap_people: float = Field(description="People still to cover to reach the goal.")
    villages_trang_song: int
    villages_lom_song: int
    villages_covered: int
    villages_unknown: int
    zones_open: int = Field(
        description="Open dead zones (best of all operators, in this scope) touching it."
    )
    evidence_median_age_days: float | None
    people_well_covered: float = Field(
        description="In covered cells only (2 bars or more): people_covered less people_weak."
    )
    well_covered_share: float | None = Field(description="people_well_covered / population.")


class AreaTable(BaseModel):
    measured_at: str = Field(description="When these numbers were computed (now).")
    aggregated_at: str | None = Field(description="When the decisions were last computed.")
    radio: Literal["any", "broadband"] = Field(description="The scope these figures measure.")
    goal: Goal
    areas: list[AreaProgressOut] = Field(
        description="The province first, then the communes, largest gap in people first."
    )


@router.get(
    "/progress/areas",
    response_model=AreaTable,
    summary="Progress of the province and every commune, now",
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV to download."}},
)
def get_progress_areas(
    session: SessionDep,
    settings: SettingsDep,
    format: Annotated[
        Literal["json", "csv"], Query(description="csv: a file to download (UTF-8, BOM).")
    ] = "json",
    radio: Annotated[
        Literal["any", "broadband"] | None,
        Query(description="Scope measured (default: the goal's, DEADZONE_GOAL_RADIO)."),
    ] = None,
    lang: SheetLangQuery = "en",
) -> AreaTable | Response:
    now = utcnow()
    table = progress.area_table(session, settings, now=now, radio=radio)
    if format == "csv":
        rows = [[area[f] for f in progress.AREA_FIELDS] for area in table["areas"]]
        body = sheets.localized_csv(progress.AREA_FIELDS, rows, lang=lang)
        name = exports.dated_filename(
            "progress-areas", *([radio] if radio else []), day=vietnam_date(now), suffix="csv"
        )
        return download(body, media_type=exports.CSV_MEDIA_TYPE, filename=name)
    return AreaTable(**table)


class PlanVillage(BaseModel):
    code: str
    name: str


class PlannedSite(BaseModel):
    rank: int
    h3: str = Field(description="Candidate cell; the site is at its centre.")
    lat: float
    lon: float
    people_new: float = Field(description="People newly covered by this site.")
    people_cumulative: float
    villages: list[PlanVillage] = Field(description="Villages with people newly covered.")


class Calibration(BaseModel):
    operator: str = Field(description="Whose measurements: an MCC-MNC, or 'any' for all.")
    band_mhz: int = Field(description="Band fitted, MHz; 0: all bands together.")
    offset_db: float = Field(description="Extra path loss over Hata fitted on measured "
                             "LTE power around the known sites, dB.")  # fmt: skip
    rmse_db: float = Field(description="RMSE of the calibrated model, dB.")
    cells: int = Field(description="Measured cells in the fit.")
    sites: int = Field(description="Known sites serving them.")
    fitted_at: str
    local_targets: int = Field(
        description="Targets judged by the bias measured within 3 km of them rather than "
        "by offset_db (their reach differs from radius_km)."
    )


class PlanConstraints(BaseModel):
    power_m: float | None = Field(
        description="Candidates have the imported power network within this distance of "
        "their cell centre, metres (null: not asked)."
    )
    road_m: float | None = Field(
        description="Candidates have an imported road within this distance, metres (null: "
        "not asked)."
    )
    candidates_before: int = Field(description="Candidate cells before the constraints.")
    candidates_after: int = Field(description="Candidate cells that meet them.")


class Plan(BaseModel):
    operator: str
    radio: Literal["any", "broadband"] = Field(
        description="Scope whose dead cells are the targets: 'any' signal or 'broadband'."
    )
    commune: str | None = Field(description="The commune whose people are targeted (commune=).")
    village: str | None = Field(description="The village whose people are targeted (village=).")
    model: dict[str, str | float] = Field(description="Propagation model and link budget.")
    terrain: str = Field(
        description="'flat terrain' when no DEM is imported: coverage ignores the relief."
    )
    colocate: bool = Field(description="Candidates are known sites (co-location).")
    constraints: PlanConstraints | None = Field(
        description="Where candidates may stand (power=, road=); null: anywhere."
    )
    calibration: Calibration | None = Field(
        description="The model's fit on measurements (deadzone calibrate); null: uncalibrated."
    )
    people_without_signal: float = Field(description="People in the operator's dead cells.")
    people_reachable: float = Field(
        description="Of them, people within reach of at least one candidate site."
    )
    candidates: int
    sites: list[PlannedSite]
    explanation: str | None = Field(
        description="Why fewer sites came back than were asked for (null when all came)."
    )
    reason: PlanReason | None = Field(
        description="The explanation as a code, for a page to say in its own language: "
        "no_population, nobody_without_signal, no_known_site, no_dead_zone, "
        "constraints_exclude_all or nobody_more_reachable (null when all sites came)."
    )


@router.get(
    "/plan",
    response_model=Plan,
    summary="Suggested new sites, greedy by people",
    responses={
        200: {
            "content": {"text/csv": {}, "application/geo+json": {}, geopackage.MEDIA_TYPE: {}},
            "description": "JSON, or a CSV, GeoJSON or GeoPackage file to download.",
        }
    },
)
def get_plan(
    session: SessionDep,
    settings: SettingsDep,
    area: AreaDep,
    choice: PlanChoiceDep,
    operator: OperatorQuery = "any",
    sites: Annotated[int, Query(ge=1, le=100, description="How many sites to suggest.")] = 5,
    radio: ScopeQuery = "any",
    format: Annotated[
        Literal["json", "csv", "geojson", "gpkg"],
        Query(description="csv, geojson or gpkg (GeoPackage, layer 'sites'): a file."),
    ] = "json",
    lang: SheetLangQuery = "en",
    api_key: ApiKeyDep = None,
) -> Response:
    require_operators(settings, api_key, [operator])
    plan = planning.plan_sites(
        session, settings, operator=operator, sites=sites, area=area, design=choice.design,
        colocate=choice.colocate, constraints=choice.constraints, radio=radio,
    )  # fmt: skip
    if format != "json":
        band = choice.design.band_mhz  # plans of two bands are two files, not one name
        name = exports.dated_filename(
            "sites", operator, *([radio] if radio != "any" else []),
            *([f"{band:g}mhz"] if band is not None else []), sites,
            day=vietnam_date(utcnow()), suffix=format,
        )  # fmt: skip
        if format == "gpkg":
            sites_gpkg = geopackage.features_to_geopackage(plans.plan_to_layer(plan), layer="sites")
            return download(sites_gpkg, media_type=geopackage.MEDIA_TYPE, filename=name)
        if format == "csv":
            body: str | bytes = plans.plan_to_csv(plan, lang=lang)
            return download(body, media_type=exports.CSV_MEDIA_TYPE, filename=name)
        body = orjson.dumps(plans.plan_to_geojson(plan))
        return download(body, media_type=exports.GEOJSON_MEDIA_TYPE, filename=name)
    return Response(orjson.dumps(Plan(**plan).model_dump()), media_type="application/json")


class PlanToSave(BaseModel):
    """What to plan and the name to keep it under (as /v1/plan's parameters)."""

    model_config = {"extra": "forbid"}

    name: str = Field(
        pattern=saved_plans.NAME_PATTERN.pattern,
        description="1-64 letters, digits, '_', '.' or '-'; saving again replaces the plan.",
    )
    operator: str = Field(default=BEST_OF_ALL, pattern=SCOPE_PATTERN)
    sites: int = Field(default=5, ge=1, le=100)
    band: int | None = Field(default=None, json_schema_extra={"enum": list(PLANNING_BANDS_MHZ)})
    mast_height: float | None = Field(default=None, ge=HATA_HB_M[0], le=HATA_HB_M[1])
    eirp: float | None = Field(default=None, ge=30.0, le=80.0)
    colocate: bool = False
    power: bool = False
    power_distance: float | None = Field(default=None, ge=0.0)
    road: bool = False
    road_distance: float | None = Field(default=None, ge=0.0)
    commune: Text | None = Field(default=None, max_length=32)
    village: Text | None = Field(default=None, max_length=32)


class SavedPlanOut(BaseModel):
    name: str
    replaced: bool = Field(description="A plan of this name existed and was replaced.")
    plan: Plan


@router.post(
    "/plans", status_code=201, response_model=SavedPlanOut,
    summary="Plan new sites and keep the plan under a name, for QGIS (key of its operator)",
)  # fmt: skip
def post_plan(
    body: PlanToSave, session: WriteSessionDep, settings: SettingsDep, api_key: ApiKeyDep = None
) -> SavedPlanOut:
    """The plan of ``GET /v1/plan`` with the same parameters, kept in ``saved_plans``: the
    PostGIS view ``plan_sites`` shows it (docs/qgis.md). Writing needs a key, also for
    operator=any; one operator's plan needs a key that may read it."""
    actor = request_actor(settings, api_key)
    if (
        actor.operators is not None
        and body.operator != BEST_OF_ALL
        and (body.operator not in actor.operators)
    ):
        raise AccessDenied(f"the key of {actor.name!r} may not plan for {body.operator}",
                           field="operator")  # fmt: skip
    check_band(body.band)
    area = area_filter(session, commune=body.commune, village=body.village,
                       resolution=settings.h3_resolution)  # fmt: skip
    rules = constraints.asked_constraints(
        settings, power=body.power, power_distance=body.power_distance, road=body.road,
        road_distance=body.road_distance,
    )  # fmt: skip
    plan = planning.plan_sites(
        session, settings, operator=body.operator, sites=body.sites, area=area,
        design=planning.SiteDesign(band_mhz=body.band, mast_height_m=body.mast_height,
                                   eirp_dbm=body.eirp),
        colocate=body.colocate, constraints=rules,
    )  # fmt: skip
    request = saved_plans.plan_request(
        band=body.band, mast_height=body.mast_height, eirp=body.eirp, colocate=body.colocate,
        power_m=rules.power_m, road_m=rules.road_m, commune=body.commune, village=body.village,
    )  # fmt: skip
    replaced = saved_plans.save_plan(
        session, plan, name=body.name, sites_asked=body.sites, request=request, now=utcnow()
    )
    return SavedPlanOut(name=body.name, replaced=replaced, plan=Plan(**plan))
