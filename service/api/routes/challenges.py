"""``/v1/challenges``: cells an operator claims to cover and the measurements decide dead,
with the evidence an authority can send (``service.areas.challenges``)."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from domain.localtime import vietnam_date
from service.api.access import ApiKeyDep, require_operators
from service.api.dependencies import SessionDep, SettingsDep
from service.api.downloads import download
from service.areas import challenges
from service.publish import exports
from service.timestamps import utcnow

router = APIRouter(prefix="/v1", tags=["challenges"])


@router.get(
    "/challenges",
    summary="Claimed coverage challenged by measurements",
    responses={
        200: {
            "content": {"application/geo+json": {}, "text/csv": {}},
            "description": "GeoJSON hexagons (each with h3 and its evidence), or the CSV "
            "evidence package to download.",
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
