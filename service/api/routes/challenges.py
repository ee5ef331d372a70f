"""``/v1/challenges``: cells an operator claims to cover and the measurements decide dead,
with the evidence an authority can send (``service.areas.challenges``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from domain.localtime import vietnam_date
from service.api.access import ApiKeyDep, require_operators
from service.api.dependencies import SessionDep, SettingsDep
from service.api.downloads import download
from service.areas import challenges
from service.publish import exports
from service.timestamps import utcnow

router = APIRouter(prefix="/v1", tags=["challenges"])


class ChallengeEvidence(BaseModel):
    h3: str = Field(description="The challenged cell (working resolution).")
    area: str = Field(description="Challenge area: neighbouring challenged cells together.")
    operator: str
    radio: str = Field(description="What the claim is for: lte, nr or broadband.")
    measured_radio: str = Field(description="The decision that contradicts it: any or a radio.")
    commune_code: str | None
    commune_name: str | None = Field(description="As imported: escape it before drawing it.")
    lat: float
    lon: float
    readings: int
    phones: int = Field(description="Distinct devices behind the dead decision.")
    days: int = Field(description="Distinct days with readings.")
    first_seen: str
    last_seen: str
    no_service_share: float
    dead_share: float
    confidence: float = Field(description="Wilson 95% lower bound of the dead share.")
    failure_hours: list[int] = Field(
        description="Local hours (Vietnam, UTC+7) at which its dead readings were taken."
    )
    claim_id: int
    claim_source: str
    claimed_at: str


class ChallengeFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any]
    properties: ChallengeEvidence


class ChallengeArea(BaseModel):
    id: str
    operator: str
    radio: str
    cells: int
    readings: int
    max_phones: int
    max_days: int
    first_seen: str
    last_seen: str
    communes: list[str]


class ChallengeCollection(BaseModel):
    """The GeoJSON answer (RFC 7946; areas and thresholds are foreign members)."""

    type: Literal["FeatureCollection"]
    operator: str
    generated_at: str
    thresholds: dict[str, Any]
    areas: list[ChallengeArea]
    features: list[ChallengeFeature]


@router.get(
    "/challenges",
    summary="Claimed coverage challenged by measurements",
    responses={
        200: {
            "content": {"application/geo+json": {}, "text/csv": {}},
            "description": "GeoJSON hexagons (each with h3 and its evidence), or the CSV "
            "evidence package to download.",
            "model": ChallengeCollection,
        }
    },
)
def get_challenges(
    session: SessionDep,
    settings: SettingsDep,
    operator: Annotated[
        str, Query(pattern=r"^\d{3}-\d{2,3}$", description="MCC-MNC of the claiming operator.")
    ],
    commune: Annotated[str | None, Query(description="Only this commune's cells.")] = None,
    format: Annotated[Literal["geojson", "csv"], Query()] = "geojson",
    api_key: ApiKeyDep = None,
) -> Response:
    require_operators(settings, api_key, [operator])
    now = utcnow()
    cells = challenges.find_challenges(
        session, settings, operator=operator, commune=commune, now=now
    )
    if format == "csv":
        body = exports.csv_text(challenges.CSV_FIELDS, challenges.challenge_rows(cells))
        name = exports.dated_filename("challenges", operator, commune or "", day=vietnam_date(now),
                                      suffix="csv")  # fmt: skip
        return download(body, media_type=exports.CSV_MEDIA_TYPE, filename=name)
    collection = challenges.challenges_to_geojson(cells, settings, operator=operator, now=now)
    return Response(orjson.dumps(collection), media_type=exports.GEOJSON_MEDIA_TYPE)
