"""What the reporter page reads besides its shell: the server's limits it must apply on the
phone (``GET /report/config.json``) and its offline base map (``GET /v1/areas/outlines``).

Both are kept by the page's service worker (network first, the last copy when offline), so
a resident who opened the page once with a connection can place a report on the map and be
told of a too-coarse GPS fix with none.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from fastapi.responses import Response

from service.api.dependencies import SessionDep, SettingsDep
from service.api.routes.report import REVALIDATE
from service.publish.basemap import area_outlines

router = APIRouter(tags=["reporter"])


@router.get("/report/config.json", summary="Limits the reporter page applies before saving")
def reporter_config(settings: SettingsDep) -> Response:
    """``max_accuracy_m``: the quality gate's GPS accuracy limit (metres). The page refuses
    to queue a fix worse than this, since the server would refuse the report later."""
    body = orjson.dumps({"max_accuracy_m": settings.max_accuracy_m})
    return Response(body, media_type="application/json", headers=REVALIDATE)


@router.get(
    "/v1/areas/outlines",
    summary="Commune outlines and village centres (GeoJSON), the reporter's offline base map",
    responses={200: {"content": {"application/geo+json": {}}}},
)
def get_area_outlines(session: SessionDep) -> Response:
    """Communes simplified to about 50 m, coordinates to 5 decimals; villages as points.
    Empty until ``deadzone import-areas`` has run."""
    body = orjson.dumps(area_outlines(session))
    return Response(body, media_type="application/geo+json", headers=REVALIDATE)
