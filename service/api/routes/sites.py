"""``GET /v1/sites``: cell sites (from imported OpenCelliD / MLS cell exports) as GeoJSON."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from domain.vocabulary import OPERATOR_PATTERN
from service.api.dependencies import SessionDep
from service.api.openapi import geojson_answer
from service.grid import BBox
from service.ingest.sites import find_sites, sites_to_geojson

router = APIRouter(prefix="/v1", tags=["sites"])


class SiteProperties(BaseModel):
    operator: str = Field(description="MCC-MNC, e.g. 452-04.")
    radio: Literal["gsm", "umts", "lte", "nr"]
    mcc: int
    mnc: int
    area: int = Field(description="LAC (GSM/UMTS) or TAC (LTE/NR).")
    cell: int = Field(description="CID / UMTS long CID / ECI / NCI.")
    unit: int | None = Field(description="PSC (UMTS) or PCI (LTE/NR).")
    range_m: int | None = Field(description="Estimated cell radius, metres.")
    samples: int | None = Field(description="Measurements behind the position.")
    changeable: bool | None = Field(description="True: position estimated from measurements.")
    average_signal_dbm: int | None = Field(description="Average signal in the export, dBm.")
    created: str | None = Field(description="First seen by the export, RFC 3339 UTC.")
    updated: str | None = Field(description="Last updated by the export, RFC 3339 UTC.")


class PointGeometry(BaseModel):
    type: Literal["Point"]
    coordinates: list[float] = Field(description="[longitude, latitude], WGS84 degrees.")


class SiteFeature(BaseModel):
    type: Literal["Feature"]
    id: int
    geometry: PointGeometry
    properties: SiteProperties


class SiteCollection(BaseModel):
    type: Literal["FeatureCollection"]
    numberMatched: int = Field(description="Sites that match the filters.")
    numberReturned: int = Field(description="Sites in this answer (at most limit).")
    features: list[SiteFeature]


@router.get(
    "/sites",
    response_model=SiteCollection,
    responses=geojson_answer("SiteCollection"),
    summary="Cell sites in a bounding box, per operator",
    description="The estimated cell centres of imported cell exports (`deadzone "
    "import-sites`), as GeoJSON points. Not coverage evidence: context for maps and planning.",
)
def get_sites(
    session: SessionDep,
    bbox: Annotated[
        str | None, Query(description="minlon,minlat,maxlon,maxlat in WGS84 degrees.")
    ] = None,
    operator: Annotated[
        str | None, Query(pattern=OPERATOR_PATTERN, description="MCC-MNC, e.g. 452-04.")
    ] = None,
    radio: Annotated[Literal["gsm", "umts", "lte", "nr"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=50_000, description="Most sites returned.")] = 10_000,
) -> Response:
    box = BBox.parse(bbox) if bbox is not None else None
    total, found = find_sites(session, bbox=box, operator=operator, radio=radio, limit=limit)
    return Response(
        orjson.dumps(sites_to_geojson(found, total=total)), media_type="application/geo+json"
    )
