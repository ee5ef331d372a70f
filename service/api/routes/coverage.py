"""``/v1/cells``, ``/v1/deadzones`` and ``/v1/summary``: the decided grid, read-only."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
import shapely
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from domain.localtime import vietnam_date
from domain.vocabulary import DECISIONS, SCOPE_PATTERN, DecisionName, RadioName
from service.api.access import (
    ApiKeyDep,
    disclosure_for,
    readable_operators,
    require_operators,
)
from service.api.dependencies import AreaDep, SessionDep, SettingsDep, SheetLangQuery
from service.api.downloads import download
from service.api.openapi import geojson_answer
from service.errors import InvalidInput
from service.grid import BBox
from service.publish import cells as coverage
from service.publish import exports, geopackage
from service.publish.disclosure import Disclosure
from service.store.models import DeadZone
from service.timestamps import utcnow

router = APIRouter(prefix="/v1", tags=["coverage"])

OPERATOR_PATTERN = SCOPE_PATTERN
OperatorQuery = Annotated[
    str,
    Query(
        pattern=OPERATOR_PATTERN,
        description="MCC-MNC such as 452-04 (Viettel), or 'any' for the best of all operators.",
    ),
]
RadioQuery = Annotated[
    RadioName,
    Query(
        description="'any': any signal (every radio of an operator, its best); 'broadband': "
        "LTE or NR only (4G or better, the province's promise); or one radio."
    ),
]
ScopeQuery = Annotated[
    Literal["any", "broadband"],
    Query(
        description="'any': any signal (every radio of an operator); 'broadband': LTE or NR "
        "only (4G or better, the province's promise)."
    ),
]
Status = DecisionName


class CellProperties(BaseModel):
    h3: str = Field(description="H3 cell index.")
    status: Status
    confidence: float = Field(description="Wilson 95% lower bound of the status share, 0-1.")
    readings: int | None = Field(description="Readings behind the decision (null: withheld).")
    devices: int | None = Field(description="Distinct devices behind the decision.")
    days: int | None = Field(description="Distinct days with readings.")
    no_service_share: float | None = Field(description="Share of readings with no service, 0-1.")
    signal_dbm_mean: float | None = Field(description="Mean received power (linear mean), dBm.")
    last_seen: str | None = Field(
        description="Newest reading, RFC 3339 UTC (without a key: midnight of its day)."
    )
    withheld: bool = Field(
        description="True when fewer than DEADZONE_PUBLISH_MIN_DEVICES (default 3) devices "
        "stand behind the cell and the caller has no key: its figures are null "
        "(k-anonymity; the status stays)."
    )
    p_dead: float | None = Field(
        description="Estimated probability that the cell is dead for this scope, 0-1, from "
        "the kriged signal field (radios together; null for one radio or a roll-up, or "
        "beyond the estimate's reach)."
    )
    estimate_dbm: float | None = Field(
        description="Estimated mean signal, expressed as LTE RSRP, dBm."
    )
    estimate_sd: float | None = Field(description="Standard deviation of the estimate, dB.")
    inferred_status: Literal["covered", "weak", "dead"] | None = Field(
        description="Estimated, not measured: set only where the measured status is unknown "
        "and the estimate gives this status at least DEADZONE_ESTIMATE_LEVEL probability. "
        "It never replaces the measured status."
    )


class CellFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon (the hexagon), WGS84.")
    properties: CellProperties


class CellCollection(BaseModel):
    type: Literal["FeatureCollection"]
    resolution: int = Field(description="H3 resolution of the cells returned.")
    requested_resolution: int
    coarsened: bool = Field(
        description="True when the bbox was too large for the requested resolution and a "
        "coarser roll-up was returned instead."
    )
    operator: str
    radio: str
    features: list[CellFeature]


@router.get(
    "/cells",
    response_model=CellCollection,
    summary="Decided cells in a bounding box",
    responses=geojson_answer("CellCollection", geopackage.MEDIA_TYPE),
)
def get_cells(
    session: SessionDep,
    settings: SettingsDep,
    area: AreaDep,
    bbox: Annotated[
        str | None,
        Query(
            description="minlon,minlat,maxlon,maxlat in WGS84 degrees; optional with "
            "commune= or village= (their extent)."
        ),
    ] = None,
    operator: OperatorQuery = "any",
    radio: RadioQuery = "any",
    resolution: Annotated[
        int | None, Query(description="H3 resolution (default: working).")
    ] = None,
    status: Annotated[
        str | None,
        Query(
            description="Comma-separated statuses to keep, e.g. dead,weak (with "
            "include=inferred: the measured or the inferred status)."
        ),
    ] = None,
    format: Annotated[
        Literal["geojson", "gpkg"],
        Query(description="gpkg: a GeoPackage file to download (layer 'cells'), for QGIS."),
    ] = "geojson",
    include: Annotated[
        Literal["inferred"] | None,
        Query(
            description="'inferred': also the cells without readings that the estimate "
            "reaches (within DEADZONE_ESTIMATE_MAX_DISTANCE_M, default 1000 m, of a cell "
            "with readings of the scope); their status is unknown."
        ),
    ] = None,
    api_key: ApiKeyDep = None,
) -> Response:
    require_operators(settings, api_key, [operator])
    if bbox is not None:
        box = BBox.parse(bbox)
    elif area is not None:
        box = BBox(*area.bounds())
    else:
        raise InvalidInput("give bbox= (or commune= or village=)", field="bbox")
    requested = resolution if resolution is not None else settings.h3_resolution
    available = [settings.h3_resolution, *settings.rollup_resolutions]
    chosen = coverage.choose_resolution(
        box, requested, available=available, max_cells=settings.max_bbox_cells
    )
    statuses = None
    if status:
        statuses = [s.strip() for s in status.split(",") if s.strip()]
        unknown = [s for s in statuses if s not in DECISIONS]
        if unknown:
            raise InvalidInput(
                f"unknown status {unknown[0]!r}; use {', '.join(DECISIONS)}",
                field="status",
            )
    features = coverage.cells_in_bbox(
        session,
        box,
        operator=operator,
        radio=radio,
        resolution=chosen,
        statuses=statuses,
        area=area,
        include_inferred=include == "inferred",
        disclosure=disclosure_for(settings, api_key),
    )
    if format == "gpkg":
        name = exports.dated_filename("cells", operator, radio, day=vietnam_date(utcnow()),
                                      suffix=geopackage.SUFFIX)  # fmt: skip
        return download(
            geopackage.features_to_geopackage(features, layer="cells"),
            media_type=geopackage.MEDIA_TYPE, filename=name,
        )  # fmt: skip
    body = {
        "type": "FeatureCollection",
        "resolution": chosen,
        "requested_resolution": requested,
        "coarsened": chosen != requested,
        "operator": operator,
        "radio": radio,
        "features": features,
    }
    return Response(orjson.dumps(body), media_type="application/geo+json")


class ZoneProperties(BaseModel):
    id: str = Field(description="Stable id: kept while the zone overlaps its past self.")
    operator: str = Field(description="Operator scope (MCC-MNC) or 'any'.")
    radio: Literal["any", "broadband"] = Field(
        description="Scope over radios the zone is dead in: 'any' signal, or 'broadband' "
        "(no LTE or NR: a place reached only on 3G is a broadband dead zone)."
    )
    rank: int | None = Field(
        description="1 = highest priority within the scope (operator and radio)."
    )
    priority: float
    state: str = Field(description="open, planned or built.")
    cell_count: int
    resolution: int
    area_km2: float
    readings: int | None = Field(description="Null when withheld (fewer than k devices).")
    devices: int | None
    first_seen: str | None = Field(description="RFC 3339 UTC; without a key, to the day.")
    last_seen: str | None
    operators_affected: list[str] = Field(
        description="Operators whose own readings found no signal in some cell of the zone. "
        "On a best-of-all zone no operator has signal anywhere in it; the list names only "
        "those whose readings showed it."
    )
    distance_to_covered_m: float | None = Field(
        description="Distance from the zone to the nearest covered cell centre, metres."
    )
    population: float | None = Field(description="People inside (filled once areas exist).")
    villages: list[str] | None = Field(description="Villages inside or touching (codes).")
    village_names: list[str] | None = Field(
        default=None,
        description="Their names as imported, in the same order (a code the areas no longer "
        "hold stays a code); escape them before drawing them in HTML.",
    )


class ZoneList(BaseModel):
    total: int
    limit: int
    offset: int
    zones: list[ZoneProperties]


class ZoneFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any] = Field(description="GeoJSON MultiPolygon outline, WGS84.")
    properties: ZoneProperties
    cells: list[str] = Field(description="H3 cells of the zone.")


DEFAULT_ZONE_LIMIT = 50


@router.get(
    "/deadzones",
    response_model=ZoneList,
    summary="Dead zones, ranked",
    responses={
        200: {
            "content": {"text/csv": {}, "application/geo+json": {}, geopackage.MEDIA_TYPE: {}},
            "description": "JSON, or a CSV, GeoJSON or GeoPackage file to download.",
        }
    },
)
def get_deadzones(
    session: SessionDep,
    settings: SettingsDep,
    area: AreaDep,
    operator: OperatorQuery = "any",
    radio: Annotated[
        Literal["any", "broadband"],
        Query(
            description="'any': zones without any signal (every radio of an operator); "
            "'broadband': zones without LTE or NR (4G or better, the province's promise; "
            "places reached only on 3G are in them). One radio's dead cells are at "
            "/v1/cells?radio=...&status=dead."
        ),
    ] = "any",
    min_cells: Annotated[
        int, Query(ge=1, le=2**31 - 1, description="Smallest zone, in cells (a 32-bit integer).")
    ] = 1,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=1000,
            description=f"Zones per page (JSON default {DEFAULT_ZONE_LIMIT}; "
            "csv and geojson default: every zone).",
        ),
    ] = None,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1, description="A 64-bit integer.")] = 0,
    format: Annotated[
        Literal["json", "csv", "geojson", "gpkg"],
        Query(
            description="csv, geojson or gpkg (GeoPackage, layer 'deadzones'): a file to "
            "download (CSV in UTF-8 with BOM)."
        ),
    ] = "json",
    lang: SheetLangQuery = "en",
    api_key: ApiKeyDep = None,
) -> ZoneList | Response:
    require_operators(settings, api_key, [operator])
    disclosure = disclosure_for(settings, api_key)
    if limit is None and format == "json":
        limit = DEFAULT_ZONE_LIMIT
    total, zones = coverage.list_zones(
        session, operator=operator, min_cells=min_cells, limit=limit, offset=offset, area=area,
        radio=radio,
    )  # fmt: skip
    if format != "json":
        names, communes = coverage.village_labels(session, coverage.village_codes(zones))
        # Any signal keeps the file name it had before broadband zones existed.
        scope = (operator,) if radio == "any" else (operator, radio)
        filename = exports.dated_filename(
            "deadzones", *scope, day=vietnam_date(utcnow()), suffix=format
        )
        if format == "csv":
            body: str | bytes = coverage.zones_to_csv(
                zones, names, communes=communes, disclosure=disclosure, lang=lang
            )
            return download(body, media_type=exports.CSV_MEDIA_TYPE, filename=filename)
        geo = coverage.zones_to_geojson(zones, names, disclosure=disclosure)
        if format == "gpkg":
            body = geopackage.features_to_geopackage(geo["features"], layer="deadzones")
            return download(body, media_type=geopackage.MEDIA_TYPE, filename=filename)
        return download(orjson.dumps(geo), media_type=exports.GEOJSON_MEDIA_TYPE, filename=filename)
    assert limit is not None
    return ZoneList(
        total=total, limit=limit, offset=offset,
        zones=_named_properties(session, zones, disclosure=disclosure),
    )  # fmt: skip


def _named_properties(
    session: Session, zones: list[DeadZone], *, disclosure: Disclosure
) -> list[ZoneProperties]:
    """The zones' properties with their villages' names beside the codes."""
    names = coverage.village_names(session, zones)
    return [
        ZoneProperties(
            **coverage.zone_properties(z, disclosure=disclosure),
            village_names=None if z.villages is None else [names.get(c, c) for c in z.villages],
        )
        for z in zones
    ]


@router.get("/deadzones/{zone_id}", response_model=ZoneFeature, summary="One dead zone")
def get_deadzone(
    session: SessionDep, settings: SettingsDep, zone_id: str, api_key: ApiKeyDep = None
) -> ZoneFeature:
    zone = coverage.get_zone(session, zone_id)
    require_operators(settings, api_key, [zone.operator])
    geometry = orjson.loads(shapely.to_geojson(shapely.set_precision(zone.outline, 1e-6)))
    return ZoneFeature(
        type="Feature",
        id=zone.id,
        geometry=geometry,
        properties=_named_properties(session, [zone], disclosure=disclosure_for(settings, api_key))[
            0
        ],
        cells=zone.cells,
    )


class StatusCounts(BaseModel):
    covered: int
    weak: int
    dead: int
    unknown: int


class ZoneTotals(BaseModel):
    zones: int
    area_km2: float


class Summary(BaseModel):
    resolution: int
    radio: Literal["any", "broadband"] = Field(
        description="The scope over radios of every total here: 'any' signal or 'broadband'."
    )
    cells: StatusCounts = Field(description="Cells per status, best of all operators.")
    operators: dict[str, StatusCounts] = Field(
        description="Cells per status per operator the API key may read (service/access.py)."
    )
    dead_zones: dict[str, ZoneTotals] = Field(
        description="Active dead zones of the scope per operator: 'any' (best of all), and "
        "the operators the API key may read."
    )
    aggregated_at: str | None = Field(description="When decisions were last computed.")
    readings_waiting: int = Field(description="Readings stored but not yet in the statistics.")


@router.get("/summary", response_model=Summary, summary="Totals per status and operator")
def get_summary(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    radio: ScopeQuery = "any",
    api_key: ApiKeyDep = None,
) -> Summary:
    body = coverage.summary(session, settings, radio=radio)
    # Per-operator totals only for operators the key may read (service/access.py).
    for part in ("operators", "dead_zones"):
        shown = readable_operators(settings, api_key, body[part])
        body[part] = {op: value for op, value in body[part].items() if op in shown}
    return Summary(**body)
